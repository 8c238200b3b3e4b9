//! The built-in defaults, the lowest configuration layer: a value the libraries also default is taken from them.

use super::OutgoingWebhookSettings;
use super::{AiSettings, DEFAULT_CONCURRENCY};
use super::{
    ApiUrl, DatabaseSettings, GraphUrl, LogFormat, LogSettings, MetricsSettings, RedisSettings,
    SecuritySettings, ServerSettings, Settings, TelegramSettings, WebChatSettings, WorkerSettings,
};
use super::{BreakerSettings, BroadcastSettings, PacingSettings, ToolSettings};
use application::ports::Rate;
use application::{PipelineSettings, PollSettings};
use presentation::HttpSettings;
use secrecy::SecretString;
use std::time::Duration;

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            redis: RedisSettings::default(),
            web_chat: WebChatSettings::default(),
            ai: AiSettings::default(),
            telegram: TelegramSettings::default(),
            discord: ApiUrl {
                api_url: "https://discord.com/api/v10".into(),
            },
            meta: GraphUrl {
                graph_url: "https://graph.facebook.com/v21.0".into(),
            },
            security: SecuritySettings::default(),
            worker: WorkerSettings::default(),
            breaker: BreakerSettings::default(),
            pacing: PacingSettings::default(),
            broadcasts: BroadcastSettings::default(),
            tools: ToolSettings::default(),
            webhooks: OutgoingWebhookSettings::default(),
            log: LogSettings {
                format: LogFormat::Pretty,
                level: "info".into(),
            },
            metrics: MetricsSettings {
                enabled: true,
                listen: None,
            },
            traces: None,
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        let http = HttpSettings::default();
        Self {
            host: "0.0.0.0".into(),
            port: 8080,
            public_url: None,
            shutdown_grace_seconds: http.shutdown_timeout.as_secs(),
            webhook_body_limit: http.webhook_body_limit,
            json_body_limit: http.json_body_limit,
            body_read_timeout_ms: millis(http.body_read_timeout),
            max_connections: http.max_connections,
            max_webhook_bodies: http.max_webhook_bodies,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("sqlite://switchboard.db?mode=rwc"),
            migrate_on_start: true,
            max_connections: 8,
        }
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: None,
            channel_prefix: "switchboard".into(),
        }
    }
}

impl Default for WebChatSettings {
    fn default() -> Self {
        let chat = application::WebChatSettings::default();
        let limits = chat.limits;
        Self {
            reply_wait_ms: millis(chat.reply_wait),
            history_messages: chat.history_messages,
            visitor_token_key: None,
            accept_plain_visitor_ids: chat.accept_plain_visitor_ids,
            visitor_rate_per_minute: limits.per_visitor.map_or(0, Rate::units_per_minute),
            visitor_rate_burst: limits.per_visitor.map_or(0, |rate| rate.burst),
            address_rate_per_minute: limits.per_address.map_or(0, Rate::units_per_minute),
            address_rate_burst: limits.per_address.map_or(0, |rate| rate.burst),
            max_sockets_per_visitor: limits.sockets_per_visitor,
            max_sockets_per_address: limits.sockets_per_address,
            max_upload_bytes: chat.max_upload_bytes,
        }
    }
}

impl Default for AiSettings {
    fn default() -> Self {
        let model = openai::OpenAiSettings::default();
        let pipeline = PipelineSettings::default();
        Self {
            base_url: model.base_url,
            api_key: None,
            model: model.default_model,
            provider: None,
            timeout_seconds: model.timeout.as_secs(),
            max_retries: model.max_retries,
            history_messages: pipeline.history_messages,
            history_token_budget: pipeline.history_token_budget,
        }
    }
}

impl Default for TelegramSettings {
    fn default() -> Self {
        let poll = PollSettings::default();
        Self {
            api_url: "https://api.telegram.org".into(),
            poll_timeout_seconds: poll.timeout.as_secs(),
            poll_rescan_ms: millis(poll.standby),
            poll_retry_seconds: poll.retry.as_secs(),
            poll_refused_retry_seconds: poll.refused_retry.as_secs(),
        }
    }
}

impl Default for PacingSettings {
    /// The platforms' published limits, as `application::pacing::PacingSettings` holds them.
    fn default() -> Self {
        let rates = application::pacing::PacingSettings::default();
        let per_minute = |rate: Option<Rate>| rate.map_or(0, Rate::units_per_minute);
        let per_second = |rate| per_minute(rate) / 60;
        Self {
            telegram_chat_per_minute: per_minute(rates.telegram.per_chat),
            telegram_group_per_minute: per_minute(rates.telegram.per_group),
            telegram_bot_per_second: per_second(rates.telegram.per_token),
            discord_channel_per_minute: per_minute(rates.discord.per_chat),
            discord_bot_per_second: per_second(rates.discord.per_token),
            whatsapp_user_per_minute: per_minute(rates.whatsapp.per_chat),
            whatsapp_number_per_second: per_second(rates.whatsapp.per_token),
            messenger_page_per_second: per_second(rates.messenger.per_token),
        }
    }
}

impl PacingSettings {
    /// The rates the pacer keeps: one at a time, except Discord's channel bucket of 5.
    pub fn rates(&self) -> application::pacing::PacingSettings {
        use application::pacing::PlatformPacing;
        let per_minute = |n| Rate::per_minute(n, 1);
        application::pacing::PacingSettings {
            telegram: PlatformPacing {
                per_chat: per_minute(self.telegram_chat_per_minute),
                per_group: per_minute(self.telegram_group_per_minute),
                per_token: Rate::per_second(self.telegram_bot_per_second),
            },
            discord: PlatformPacing {
                per_chat: Rate::per_minute(self.discord_channel_per_minute, 5),
                per_token: Rate::per_second(self.discord_bot_per_second),
                ..PlatformPacing::NONE
            },
            whatsapp: PlatformPacing {
                per_chat: per_minute(self.whatsapp_user_per_minute),
                per_token: Rate::per_second(self.whatsapp_number_per_second),
                ..PlatformPacing::NONE
            },
            messenger: PlatformPacing {
                per_token: Rate::per_second(self.messenger_page_per_second),
                ..PlatformPacing::NONE
            },
        }
    }
}

impl Default for BroadcastSettings {
    fn default() -> Self {
        Self {
            max_recipients: application::broadcast::DEFAULT_MAX_RECIPIENTS,
        }
    }
}

impl Default for ToolSettings {
    fn default() -> Self {
        let toolbox = application::tool_use::ToolSettings::default();
        Self {
            call_timeout_ms: toolbox.call_timeout.as_millis() as u64,
            connect_timeout_ms: toolbox.connect_timeout.as_millis() as u64,
            max_steps: toolbox.max_steps,
            max_result_chars: toolbox.max_result_chars,
        }
    }
}

impl Default for OutgoingWebhookSettings {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            timeout_ms: 10_000,
            disable_after_failures: 50,
        }
    }
}

impl Default for BreakerSettings {
    fn default() -> Self {
        let breaker = application::breakers::BreakerSettings::default();
        Self {
            consecutive_failures: breaker.consecutive_failures,
            failure_rate_percent: breaker.failure_rate_percent,
            minimum_calls: breaker.minimum_calls,
            window_seconds: breaker.window.as_secs(),
            open_seconds: breaker.open_for.as_secs(),
        }
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        let pipeline = PipelineSettings::default();
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            lease_seconds: pipeline.lease.as_secs(),
            poll_interval_ms: 1000,
            max_attempts: pipeline.max_attempts,
            retry_base_ms: millis(pipeline.retry_base),
            retry_cap_seconds: pipeline.retry_cap.as_secs(),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The values docs/configuration.md promises, read through the loaded layers.
    #[test]
    fn the_defaults_are_the_documented_ones() {
        let s = Settings::load(None, &HashMap::new()).unwrap();
        assert_eq!((s.server.port, s.server.shutdown_grace_seconds), (8080, 30));
        assert_eq!(s.server.webhook_body_limit, 1_048_576);
        assert_eq!(s.server.json_body_limit, 65_536);
        assert_eq!(s.server.body_read_timeout_ms, 5_000);
        assert_eq!(
            (s.server.max_connections, s.server.max_webhook_bodies),
            (10_000, 256)
        );
        assert_eq!(s.redis.channel_prefix, "switchboard");
        let chat = &s.web_chat;
        assert_eq!((chat.reply_wait_ms, chat.history_messages), (20_000, 50));
        assert_eq!(
            (chat.visitor_rate_per_minute, chat.visitor_rate_burst),
            (30, 5)
        );
        assert_eq!(
            (chat.address_rate_per_minute, chat.address_rate_burst),
            (120, 20)
        );
        assert_eq!(
            (chat.max_sockets_per_visitor, chat.max_sockets_per_address),
            (5, 50)
        );
        assert_eq!(chat.max_upload_bytes, 5 * 1024 * 1024);
        assert_eq!(
            (s.ai.model.as_str(), s.ai.timeout_seconds),
            ("gpt-4o-mini", 60)
        );
        assert_eq!((s.ai.max_retries, s.ai.history_messages), (3, 50));
        assert_eq!(s.ai.history_token_budget, 3_000);
        let telegram = &s.telegram;
        assert_eq!(
            (telegram.poll_timeout_seconds, telegram.poll_rescan_ms),
            (25, 3_000)
        );
        assert_eq!(
            (
                telegram.poll_retry_seconds,
                telegram.poll_refused_retry_seconds
            ),
            (5, 60)
        );
        let worker = &s.worker;
        assert_eq!((worker.concurrency, worker.lease_seconds), (256, 30));
        assert_eq!((worker.poll_interval_ms, worker.max_attempts), (1_000, 8));
        assert_eq!(
            (worker.retry_base_ms, worker.retry_cap_seconds),
            (1_000, 300)
        );
        assert_eq!(s.database.max_connections, 8);
        let tools = &s.tools;
        assert_eq!(
            (tools.call_timeout_ms, tools.connect_timeout_ms),
            (10_000, 5_000)
        );
        assert_eq!((tools.max_steps, tools.max_result_chars), (5, 8_000));
        let webhooks = &s.webhooks;
        assert!(!webhooks.allow_private_targets);
        assert_eq!(
            (webhooks.timeout_ms, webhooks.disable_after_failures),
            (10_000, 50)
        );
    }
}
