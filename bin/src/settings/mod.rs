//! Typed configuration: built-in defaults < TOML file < `SWITCHBOARD__SECTION__KEY` (and aliases).

use crate::traces::TraceSettings;
use config::{Config, ConfigError, Environment, File, FileFormat};
use database::Sealer;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

mod defaults;

/// Variables honoured besides the `SWITCHBOARD__` ones, below them in precedence.
const ALIASES: [(&str, &str); 3] = [
    ("DATABASE_URL", "database.url"),
    ("REDIS_URL", "redis.url"),
    ("OPENAI_API_KEY", "ai.api_key"),
];

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    #[serde(default)]
    pub redis: RedisSettings,
    pub web_chat: WebChatSettings,
    pub ai: AiSettings,
    pub telegram: TelegramSettings,
    pub discord: ApiUrl,
    pub meta: GraphUrl,
    #[serde(default)]
    pub security: SecuritySettings,
    pub worker: WorkerSettings,
    #[serde(default)]
    pub breaker: BreakerSettings,
    #[serde(default)]
    pub pacing: PacingSettings,
    #[serde(default)]
    pub broadcasts: BroadcastSettings,
    #[serde(default)]
    pub tools: ToolSettings,
    #[serde(default)]
    pub webhooks: OutgoingWebhookSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    /// OpenTelemetry traces, from the standard `OTEL_*` variables rather than the file or
    /// `SWITCHBOARD__…`; `None` (off) without an OTLP endpoint.
    #[serde(skip)]
    pub traces: Option<TraceSettings>,
}

/// `GET /metrics`: on the main port, or with `listen` set on that address alone (the only
/// way a `worker` process, which has no HTTP port, is scraped).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    pub enabled: bool,
    pub listen: Option<String>,
}

impl MetricsSettings {
    /// The address to serve `/metrics` on by itself, when metrics are on and one is set.
    pub fn listen_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let Some(listen) = self.listen.as_deref().filter(|_| self.enabled) else {
            return Ok(None);
        };
        listen.parse().map(Some).map_err(|_| {
            ConfigError::Message(format!(
                "metrics.listen: `{listen}` is not an address such as 0.0.0.0:9090"
            ))
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub public_url: Option<String>,
    pub shutdown_grace_seconds: u64,
    pub webhook_body_limit: usize,
    pub json_body_limit: usize,
    /// How long a request's body may take to arrive once its headers have (408 beyond).
    pub body_read_timeout_ms: u64,
    /// Open connections across the process; more wait in the listen backlog.
    pub max_connections: usize,
    /// Webhook bodies read at once (503 beyond).
    pub max_webhook_bodies: usize,
    /// Addresses or CIDR blocks of the proxies whose `Forwarded` / `X-Forwarded-*` headers are
    /// believed; none by default (an empty list does not survive the defaults layer).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

impl ServerSettings {
    /// `trusted_proxies` parsed: a bare address is a block of one.
    pub fn trusted_proxies(&self) -> Result<Vec<IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|entry| parse_net(entry.trim()))
            .collect()
    }
}

fn parse_net(entry: &str) -> Result<IpNet, ConfigError> {
    entry
        .parse::<IpNet>()
        .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            ConfigError::Message(format!(
                "server.trusted_proxies: `{entry}` is not an IP address or CIDR block"
            ))
        })
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    #[serde(serialize_with = "redact_url")]
    pub url: SecretString,
    pub migrate_on_start: bool,
    /// PostgreSQL's pool size per process (one of them listens for new jobs).
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    #[serde(serialize_with = "redact_optional_url")]
    pub url: Option<SecretString>,
    /// Replicas sharing a prefix share events (channel `{prefix}:events`).
    pub channel_prefix: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebChatSettings {
    /// How long `POST /api/v1/bots/{id}/chat` waits for the reply before answering 202.
    pub reply_wait_ms: u64,
    /// How many of the latest messages a visitor sees on connecting.
    pub history_messages: u32,
    /// Signs visitor tokens (at least 32 characters); unset, a key derived from
    /// `security.master_key`, else a random key per process.
    #[serde(serialize_with = "redact")]
    pub visitor_token_key: Option<SecretString>,
    /// Whether a bare `?visitor_id=` (no token) still opens its visitor's history.
    pub accept_plain_visitor_ids: bool,
    /// Messages per visitor (or REST user) and bot: a burst, then this many a minute; 0 is no
    /// limit.
    pub visitor_rate_per_minute: u32,
    pub visitor_rate_burst: u32,
    /// Messages per client address and bot, likewise.
    pub address_rate_per_minute: u32,
    pub address_rate_burst: u32,
    /// Open sockets per visitor and bot, and per client address and bot, in one process; 0 is
    /// no cap.
    pub max_sockets_per_visitor: usize,
    pub max_sockets_per_address: usize,
    /// The largest picture a visitor may send (a binary frame), in bytes.
    pub max_upload_bytes: usize,
}

/// The shortest `web_chat.visitor_token_key`, in characters.
pub const MIN_VISITOR_TOKEN_KEY: usize = 32;
/// The most messages a minute a rate may allow: one a millisecond, the limiters' unit.
const MAX_RATE_PER_MINUTE: u32 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AiProvider {
    Openai,
    Echo,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AiSettings {
    pub base_url: String,
    #[serde(serialize_with = "redact")]
    pub api_key: Option<SecretString>,
    pub model: String,
    /// Defaults to `openai` when an API key is set, else `echo`.
    pub provider: Option<AiProvider>,
    pub timeout_seconds: u64,
    pub max_retries: u32,
    pub history_messages: u32,
    pub history_token_budget: usize,
}

impl AiSettings {
    pub fn effective_provider(&self) -> AiProvider {
        self.provider.unwrap_or(if self.api_key.is_some() {
            AiProvider::Openai
        } else {
            AiProvider::Echo
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiUrl {
    pub api_url: String,
}

/// The Bot API's address, and how polling-mode bindings are polled.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    pub api_url: String,
    /// How long one `getUpdates` long poll waits for an update.
    pub poll_timeout_seconds: u64,
    /// How often polling bindings are rescanned (new ones start, removed ones stop), and how
    /// often a replica without a bot's polling lease tries to take it.
    pub poll_rescan_ms: u64,
    /// The pause after a failed poll (network, Telegram 5xx, storage).
    pub poll_retry_seconds: u64,
    /// The pause after Telegram refused polling (409: a webhook is set; 401: a bad token).
    pub poll_refused_retry_seconds: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GraphUrl {
    pub graph_url: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    #[serde(serialize_with = "redact")]
    pub bootstrap_api_key: Option<SecretString>,
    /// Standard base64 of 32 random bytes (`openssl rand -base64 32`); seals platform
    /// credentials at rest.
    #[serde(serialize_with = "redact")]
    pub master_key: Option<SecretString>,
    /// While `master_key` is rotated: the key it replaces, which still opens what it sealed
    /// (never seals). Removed once `switchboard keys rotate` has resealed everything.
    #[serde(serialize_with = "redact")]
    pub previous_master_key: Option<SecretString>,
}

impl SecuritySettings {
    /// The sealer for `master_key`, also opening what `previous_master_key` sealed; `None`
    /// when it is unset (credentials stay plain text).
    pub fn sealer(&self) -> Result<Option<Sealer>, ConfigError> {
        let Some(current) = key("security.master_key", self.master_key.as_ref())? else {
            if self.previous_master_key.is_some() {
                let reason = "security.previous_master_key is set without security.master_key";
                return Err(ConfigError::Message(reason.to_owned()));
            }
            return Ok(None);
        };
        let previous = key(
            "security.previous_master_key",
            self.previous_master_key.as_ref(),
        )?;
        Ok(Some(match previous {
            Some(previous) => current.opening_also(&previous),
            None => current,
        }))
    }
}

/// The sealer of one configured key, its refusal naming `name`.
pub fn key(name: &str, value: Option<&SecretString>) -> Result<Option<Sealer>, ConfigError> {
    value
        .map(|key| Sealer::from_base64(key.expose_secret()))
        .transpose()
        .map_err(|e| ConfigError::Message(format!("{name}: {e}")))
}

/// The most jobs one process may hold at once: their leases are renewed in one statement.
const MAX_CONCURRENCY: usize = 10_000;
/// Jobs one process runs at once unless `worker.concurrency` says otherwise.
const DEFAULT_CONCURRENCY: usize = 256;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub lease_seconds: u64,
    pub poll_interval_ms: u64,
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_cap_seconds: u64,
}

/// Outbound pacing under each platform's published limits; 0 turns one off.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PacingSettings {
    pub telegram_chat_per_minute: u32,
    pub telegram_group_per_minute: u32,
    pub telegram_bot_per_second: u32,
    pub discord_channel_per_minute: u32,
    pub discord_bot_per_second: u32,
    pub whatsapp_user_per_minute: u32,
    pub whatsapp_number_per_second: u32,
    pub messenger_page_per_second: u32,
}

/// Messages sent to many chats at once.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BroadcastSettings {
    /// The most chats one broadcast goes to.
    pub max_recipients: usize,
}

/// The outgoing webhooks' deliveries.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutgoingWebhookSettings {
    /// Post to loopback, private and link-local addresses too (refused by default: SSRF).
    pub allow_private_targets: bool,
    /// How long one post may take, connecting included.
    pub timeout_ms: u64,
    /// Failed attempts in a row after which a webhook is disabled; 0 never disables.
    pub disable_after_failures: u32,
}

/// The tools of bots' MCP servers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSettings {
    /// How long one tool call may take before the model is told it timed out.
    pub call_timeout_ms: u64,
    /// How long opening a session with a server (and listing its tools) may take before the
    /// server is skipped for that reply.
    pub connect_timeout_ms: u64,
    /// How many of the model's answers may call tools in one reply; then it must answer.
    pub max_steps: u32,
    /// The most characters of a tool's result given to the model and kept with the reply.
    pub max_result_chars: usize,
}

impl ToolSettings {
    pub fn toolbox(&self) -> application::tool_use::ToolSettings {
        application::tool_use::ToolSettings {
            call_timeout: std::time::Duration::from_millis(self.call_timeout_ms),
            connect_timeout: std::time::Duration::from_millis(self.connect_timeout_ms),
            max_steps: self.max_steps,
            max_result_chars: self.max_result_chars,
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let positive = [
            ("tools.call_timeout_ms", self.call_timeout_ms),
            ("tools.connect_timeout_ms", self.connect_timeout_ms),
            ("tools.max_steps", u64::from(self.max_steps)),
            ("tools.max_result_chars", self.max_result_chars as u64),
        ];
        match positive.into_iter().find(|(_, value)| *value == 0) {
            Some((key, _)) => Err(ConfigError::Message(format!("{key}: must be at least 1"))),
            None => Ok(()),
        }
    }
}

/// The circuit breakers of the model providers and the platform tokens.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSettings {
    pub consecutive_failures: u32,
    pub failure_rate_percent: u32,
    pub minimum_calls: u32,
    pub window_seconds: u64,
    pub open_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

impl Settings {
    /// Loads the layers: defaults, then `file` if given, then `env` (the process environment
    /// in production; an explicit map in tests).
    /// An empty variable counts as unset (`OPENAI_API_KEY=` does not select the openai provider).
    pub fn load(file: Option<&Path>, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let env = &env;
        let mut builder = Config::builder().add_source(Config::try_from(&Self::default())?);
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        let mut settings: Self = builder
            .add_source(aliases(env)?)
            .add_source(
                Environment::with_prefix("SWITCHBOARD")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("server.trusted_proxies")
                    .source(Some(env.clone())),
            )
            .build()?
            .try_deserialize()?;
        settings.traces = TraceSettings::from_env(env).map_err(ConfigError::Message)?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, why: &str| Err(ConfigError::Message(format!("{key}: {why}")));
        if self.worker.lease_seconds == 0 {
            return invalid("worker.lease_seconds", "must be at least 1");
        }
        if self.breaker.failure_rate_percent > 100 {
            return invalid("breaker.failure_rate_percent", "must be 0 to 100");
        }
        if self.breaker.window_seconds == 0 || self.breaker.open_seconds == 0 {
            return invalid(
                "breaker.window_seconds, breaker.open_seconds",
                "must be at least 1",
            );
        }
        if self.worker.concurrency > MAX_CONCURRENCY {
            return invalid(
                "worker.concurrency",
                &format!("must be at most {MAX_CONCURRENCY}"),
            );
        }
        if self.database.max_connections < 2 {
            return invalid(
                "database.max_connections",
                "must be at least 2 (one connection listens for new jobs)",
            );
        }
        if self.worker.poll_interval_ms == 0 {
            return invalid("worker.poll_interval_ms", "must be at least 1");
        }
        if self.webhooks.timeout_ms == 0 {
            return invalid("webhooks.timeout_ms", "must be at least 1");
        }
        if self.broadcasts.max_recipients == 0 {
            return invalid("broadcasts.max_recipients", "must be at least 1");
        }
        self.tools.check()?;
        let telegram = &self.telegram;
        if telegram.poll_rescan_ms == 0 {
            return invalid("telegram.poll_rescan_ms", "must be at least 1");
        }
        // 0 would be short polling: a bot without updates would be asked again at once.
        if telegram.poll_timeout_seconds == 0 {
            return invalid("telegram.poll_timeout_seconds", "must be at least 1");
        }
        if self.ai.effective_provider() == AiProvider::Openai && self.ai.api_key.is_none() {
            return invalid("ai.api_key", "is required when ai.provider is `openai`");
        }
        let url = self.database.url.expose_secret();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return invalid("database.url", "must be a sqlite: or postgres:// URL");
        }
        if self.server.body_read_timeout_ms == 0 {
            return invalid("server.body_read_timeout_ms", "must be at least 1");
        }
        if self.server.max_connections == 0 || self.server.max_webhook_bodies == 0 {
            return invalid(
                "server.max_connections / server.max_webhook_bodies",
                "must be at least 1",
            );
        }
        self.server.trusted_proxies()?;
        self.metrics.listen_addr()?;
        self.security.sealer()?;
        self.web_chat.validate()
    }
}

impl WebChatSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, why: &str| Err(ConfigError::Message(format!("{key}: {why}")));
        let short = self
            .visitor_token_key
            .as_ref()
            .is_some_and(|key| key.expose_secret().chars().count() < MIN_VISITOR_TOKEN_KEY);
        if short {
            return invalid(
                "web_chat.visitor_token_key",
                "must be at least 32 characters (`openssl rand -base64 32`)",
            );
        }
        for (key, rate) in [
            (
                "web_chat.visitor_rate_per_minute",
                self.visitor_rate_per_minute,
            ),
            (
                "web_chat.address_rate_per_minute",
                self.address_rate_per_minute,
            ),
        ] {
            if rate > MAX_RATE_PER_MINUTE {
                return invalid(
                    key,
                    &format!("must be at most {MAX_RATE_PER_MINUTE} (0 is no limit)"),
                );
            }
        }
        Ok(())
    }
}

const REDACTED: &str = "[redacted]";

/// A set secret shows as `[redacted]`; an unset one is left out.
fn redact<S: Serializer>(secret: &Option<SecretString>, serializer: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => serializer.serialize_str(REDACTED),
        None => serializer.serialize_none(),
    }
}

/// A URL shows with its password masked, so that host and database can still be checked.
fn redact_url<S: Serializer>(url: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&mask_password(url.expose_secret()))
}

fn redact_optional_url<S: Serializer>(
    url: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => redact_url(url, serializer),
        None => serializer.serialize_none(),
    }
}

fn mask_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Setting a password only fails on URLs that cannot have one, ruled out above.
            let _ = parsed.set_password(Some("redacted"));
            parsed.to_string()
        }
        Ok(_) => raw.to_owned(),
        Err(_) => REDACTED.to_owned(),
    }
}

fn aliases(env: &HashMap<String, String>) -> Result<Config, ConfigError> {
    ALIASES
        .iter()
        .try_fold(Config::builder(), |builder, (var, key)| {
            builder.set_override_option(*key, env.get(*var).cloned())
        })?
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_pacing_defaults_are_the_platforms_published_limits_and_each_can_be_turned_off() {
        let settings = Settings::load(None, &env(&[])).unwrap();
        let rates = settings.pacing.rates();
        assert_eq!(rates, application::pacing::PacingSettings::default());
        let off = env(&[("SWITCHBOARD__PACING__TELEGRAM_BOT_PER_SECOND", "0")]);
        let settings = Settings::load(None, &off).unwrap();
        assert_eq!(settings.pacing.rates().telegram.per_token, None);
        assert_eq!(settings.pacing.telegram_chat_per_minute, 60);
    }

    #[test]
    fn defaults_run_on_embedded_sqlite_with_the_echo_model() {
        let s = Settings::load(None, &HashMap::new()).unwrap();
        assert_eq!(s.server.port, 8080);
        assert_eq!(
            s.database.url.expose_secret(),
            "sqlite://switchboard.db?mode=rwc"
        );
        assert_eq!(s.ai.effective_provider(), AiProvider::Echo);
        assert!(s.redis.url.is_none());
        assert!(s.server.public_url.is_none());
    }

    #[test]
    fn metrics_are_on_by_default_on_the_main_port_and_a_listen_address_must_parse() {
        let s = Settings::load(None, &HashMap::new()).unwrap();
        assert!(s.metrics.enabled);
        assert_eq!(s.metrics.listen_addr().unwrap(), None);
        let listen = "SWITCHBOARD__METRICS__LISTEN";
        let s = Settings::load(None, &env(&[(listen, "127.0.0.1:9090")])).unwrap();
        assert_eq!(
            s.metrics.listen_addr().unwrap(),
            Some(([127, 0, 0, 1], 9090).into())
        );
        let off = env(&[
            (listen, "127.0.0.1:9090"),
            ("SWITCHBOARD__METRICS__ENABLED", "false"),
        ]);
        let s = Settings::load(None, &off).unwrap();
        assert_eq!(s.metrics.listen_addr().unwrap(), None, "off wins");
        let refused = Settings::load(None, &env(&[(listen, "metrics.local")]));
        assert!(refused.unwrap_err().to_string().contains("metrics.listen"));
    }

    #[test]
    fn trusted_proxies_come_as_a_comma_separated_list_and_none_by_default() {
        let s = Settings::load(None, &HashMap::new()).unwrap();
        assert!(s.server.trusted_proxies().unwrap().is_empty());
        let variable = "SWITCHBOARD__SERVER__TRUSTED_PROXIES";
        let s = Settings::load(None, &env(&[(variable, "10.0.0.0/8, 127.0.0.1")])).unwrap();
        let nets: Vec<String> = s
            .server
            .trusted_proxies()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(nets, ["10.0.0.0/8", "127.0.0.1/32"]);
        let refused = Settings::load(None, &env(&[(variable, "10.0.0.0/8,proxy.local")]));
        assert!(refused.unwrap_err().to_string().contains("proxy.local"));
    }

    #[test]
    fn a_mistyped_key_is_refused_by_name_in_the_environment_and_in_the_file() {
        let refused = Settings::load(None, &env(&[("SWITCHBOARD__AI__MAX_RETRIS", "5")]));
        assert!(refused.unwrap_err().to_string().contains("max_retris"));
        let refused = Settings::load(None, &env(&[("SWITCHBOARD__AIX__MAX_RETRIES", "5")]));
        assert!(refused.unwrap_err().to_string().contains("aix"));
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[worker]\nconcurrenc = 4").unwrap();
        let refused = Settings::load(Some(file.path()), &HashMap::new());
        assert!(refused.unwrap_err().to_string().contains("concurrenc"));
        let foreign = env(&[("SWITCHBOARD_TEST_DATABASE_URL", "x"), ("MAX_RETRIS", "5")]);
        assert!(Settings::load(None, &foreign).is_ok());
    }

    #[test]
    fn environment_beats_file_and_file_beats_defaults() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[server]\nport = 9000\nhost = \"127.0.0.1\"").unwrap();
        let s = Settings::load(
            Some(file.path()),
            &env(&[("SWITCHBOARD__SERVER__PORT", "9100")]),
        )
        .unwrap();
        assert_eq!(s.server.port, 9100);
        assert_eq!(s.server.host, "127.0.0.1");
    }

    #[test]
    fn aliases_are_honoured_below_the_prefixed_variables() {
        let s = Settings::load(
            None,
            &env(&[
                ("DATABASE_URL", "postgres://a/b"),
                ("OPENAI_API_KEY", "sk-1"),
            ]),
        )
        .unwrap();
        assert_eq!(s.database.url.expose_secret(), "postgres://a/b");
        assert_eq!(s.ai.effective_provider(), AiProvider::Openai);
        let s = Settings::load(
            None,
            &env(&[
                ("DATABASE_URL", "postgres://a/b"),
                ("SWITCHBOARD__DATABASE__URL", "postgres://c/d"),
            ]),
        )
        .unwrap();
        assert_eq!(s.database.url.expose_secret(), "postgres://c/d");
    }

    #[test]
    fn an_empty_variable_counts_as_unset() {
        let empty = env(&[
            ("OPENAI_API_KEY", ""),
            ("SWITCHBOARD__SERVER__PUBLIC_URL", ""),
        ]);
        let s = Settings::load(None, &empty).unwrap();
        assert_eq!(s.ai.effective_provider(), AiProvider::Echo);
        assert!(s.server.public_url.is_none());
    }

    #[test]
    fn shown_settings_never_reveal_secrets() {
        let s = Settings::load(
            None,
            &env(&[
                ("DATABASE_URL", "postgres://app:pa55word@db:5432/sb"),
                ("OPENAI_API_KEY", "sk-very-secret"),
                ("SWITCHBOARD__SECURITY__BOOTSTRAP_API_KEY", "boot-secret"),
                ("SWITCHBOARD__SECURITY__MASTER_KEY", MASTER_KEY),
                ("SWITCHBOARD__WEB_CHAT__VISITOR_TOKEN_KEY", VISITOR_KEY),
            ]),
        )
        .unwrap();
        let shown = toml::to_string_pretty(&s).unwrap();
        for secret in [
            "pa55word",
            "sk-very-secret",
            "boot-secret",
            MASTER_KEY,
            VISITOR_KEY,
        ] {
            assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
        }
        assert!(shown.contains("db:5432/sb"));
        assert!(shown.contains("[redacted]"));
    }

    /// `openssl rand -base64 32`, once.
    const MASTER_KEY: &str = "q2v9vQ0m3T0yqkq9y4x6m1Yt9Gx2fS0n4bYHq4uV1lE=";
    const VISITOR_KEY: &str = "visitor-token-key-of-32-characters!";

    #[test]
    fn the_web_chat_limits_default_and_are_checked() {
        let s = Settings::load(None, &HashMap::new()).unwrap().web_chat;
        assert!(s.accept_plain_visitor_ids);
        assert!(s.visitor_token_key.is_none());
        assert_eq!((s.visitor_rate_per_minute, s.visitor_rate_burst), (30, 5));
        assert_eq!((s.address_rate_per_minute, s.address_rate_burst), (120, 20));
        assert_eq!(
            (s.max_sockets_per_visitor, s.max_sockets_per_address),
            (5, 50)
        );
        for (var, value, named) in [
            (
                "VISITOR_TOKEN_KEY",
                "too short",
                "web_chat.visitor_token_key",
            ),
            (
                "VISITOR_RATE_PER_MINUTE",
                "60001",
                "web_chat.visitor_rate_per_minute",
            ),
            (
                "ADDRESS_RATE_PER_MINUTE",
                "60001",
                "web_chat.address_rate_per_minute",
            ),
        ] {
            let var = format!("SWITCHBOARD__WEB_CHAT__{var}");
            let err = Settings::load(None, &env(&[(var.as_str(), value)])).unwrap_err();
            assert!(err.to_string().contains(named), "{err}");
            assert!(
                !err.to_string().contains("too short"),
                "the key is echoed: {err}"
            );
        }
        let keyed = env(&[("SWITCHBOARD__WEB_CHAT__VISITOR_TOKEN_KEY", VISITOR_KEY)]);
        assert!(Settings::load(None, &keyed).is_ok());
    }

    #[test]
    fn the_master_key_must_be_base64_of_32_bytes() {
        let with_key =
            |key: &str| Settings::load(None, &env(&[("SWITCHBOARD__SECURITY__MASTER_KEY", key)]));
        assert!(with_key(MASTER_KEY)
            .unwrap()
            .security
            .sealer()
            .unwrap()
            .is_some());
        assert!(Settings::load(None, &HashMap::new())
            .unwrap()
            .security
            .sealer()
            .unwrap()
            .is_none());
        for bad in ["change-me-master-key", "c2hvcnQ=", &MASTER_KEY[..43]] {
            let err = with_key(bad).unwrap_err().to_string();
            assert!(err.contains("security.master_key"), "{err}");
            assert!(err.contains("openssl rand -base64 32"), "{err}");
            assert!(!err.contains(bad), "the bad key is echoed: {err}");
        }
    }

    #[test]
    fn invalid_settings_are_refused_with_the_key_named() {
        let err =
            Settings::load(None, &env(&[("SWITCHBOARD__AI__PROVIDER", "openai")])).unwrap_err();
        assert!(err.to_string().contains("ai.api_key"), "{err}");
        let err =
            Settings::load(None, &env(&[("SWITCHBOARD__DATABASE__URL", "mysql://x")])).unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
        for key in [
            "TELEGRAM__POLL_TIMEOUT_SECONDS",
            "TELEGRAM__POLL_RESCAN_MS",
            "TOOLS__MAX_STEPS",
        ] {
            let var = format!("SWITCHBOARD__{key}");
            let err = Settings::load(None, &env(&[(var.as_str(), "0")])).unwrap_err();
            let named = key.to_ascii_lowercase().replace("__", ".");
            assert!(err.to_string().contains(&named), "{err}");
        }
    }

    #[test]
    fn telegram_long_polls_for_25_seconds_by_default() {
        let s = Settings::load(None, &HashMap::new()).unwrap();
        assert_eq!(s.telegram.poll_timeout_seconds, 25);
        assert_eq!(s.telegram.poll_rescan_ms, 3000);
        assert_eq!(s.telegram.poll_retry_seconds, 5);
        assert_eq!(s.telegram.poll_refused_retry_seconds, 60);
    }
}
