//! Use case: bind a bot to a platform with its credentials, and point the platform's webhook at us.

use crate::ports::{Channels, Clock, SendError};
use domain::repositories::{BindingRepository, BotRepository};
use domain::{BotId, Credentials, PlatformBinding, PlatformKind, RepoError};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BindError {
    #[error("bot {0} not found")]
    BotNotFound(BotId),
    #[error("{0} is not supported by this server")]
    Unsupported(PlatformKind),
    #[error("the platform refused the webhook: {0}")]
    Platform(#[source] SendError),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

/// A stored binding and the URL the platform must post its webhooks to.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub binding: PlatformBinding,
    pub webhook_url: String,
    /// Whether the platform was told the URL (only when a public URL is configured).
    pub webhook_registered: bool,
}

pub struct BindPlatform {
    bots: Arc<dyn BotRepository>,
    bindings: Arc<dyn BindingRepository>,
    channels: Channels,
    clock: Arc<dyn Clock>,
    /// `server.public_url`: when set, the webhook is registered with the platform.
    public_url: Option<String>,
}

impl BindPlatform {
    pub fn new(
        bots: Arc<dyn BotRepository>,
        bindings: Arc<dyn BindingRepository>,
        channels: Channels,
        clock: Arc<dyn Clock>,
        public_url: Option<String>,
    ) -> Self {
        Self {
            bots,
            bindings,
            channels,
            clock,
            public_url,
        }
    }

    /// `request_base` is where the admin request came in, used for the webhook URL when no
    /// public URL is configured.
    #[tracing::instrument(skip_all, fields(bot_id = %bot_id, platform = %credentials.kind()))]
    pub async fn bind(
        &self,
        bot_id: BotId,
        credentials: Credentials,
        request_base: &str,
    ) -> Result<Bound, BindError> {
        let kind = credentials.kind();
        let channel = self
            .channels
            .get(kind)
            .ok_or(BindError::Unsupported(kind))?;
        self.bots
            .get(bot_id)
            .await?
            .ok_or(BindError::BotNotFound(bot_id))?;
        let now = self.clock.now();
        let created_at = self
            .bindings
            .get(bot_id, kind)
            .await?
            .map_or(now, |old| old.created_at);
        let binding = PlatformBinding {
            bot_id,
            credentials,
            created_at,
            updated_at: now,
        };
        let base = self.public_url.as_deref().unwrap_or(request_base);
        let webhook_url = webhook_url(base, kind, bot_id);
        if self.public_url.is_some() {
            channel
                .register_webhook(&binding, &webhook_url)
                .await
                .map_err(BindError::Platform)?;
        }
        self.bindings.upsert(&binding).await?;
        tracing::info!(%webhook_url, "platform bound");
        Ok(Bound {
            binding,
            webhook_url,
            webhook_registered: self.public_url.is_some(),
        })
    }
}

/// `{base}/webhooks/{platform}/{bot_id}`, without a doubled slash.
pub fn webhook_url(base: &str, kind: PlatformKind, bot_id: BotId) -> String {
    format!(
        "{}/webhooks/{}/{}",
        base.trim_end_matches('/'),
        kind,
        bot_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockChannel, MockClock};
    use chrono::Utc;
    use domain::repositories::{MockBindingRepository, MockBotRepository};
    use domain::{Bot, BotDraft, BotName, SystemPrompt, TelegramCredentials};

    fn bot() -> Bot {
        let draft = BotDraft {
            name: BotName::parse("b").unwrap(),
            system_prompt: SystemPrompt::parse("").unwrap(),
            model: None,
            temperature: None,
            fallback_message: None,
        };
        Bot::create(draft, Utc::now())
    }

    fn credentials() -> Credentials {
        Credentials::Telegram(TelegramCredentials::parse("1:abc", "secret").unwrap())
    }

    fn use_case(
        channel: MockChannel,
        bindings: MockBindingRepository,
        public_url: Option<&str>,
    ) -> BindPlatform {
        let bot = bot();
        let mut bots = MockBotRepository::new();
        bots.expect_get().returning(move |_| Ok(Some(bot.clone())));
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        let channel: Arc<dyn crate::ports::Channel> = Arc::new(channel);
        BindPlatform::new(
            Arc::new(bots),
            Arc::new(bindings),
            Channels::new([channel]),
            Arc::new(clock),
            public_url.map(str::to_owned),
        )
    }

    fn telegram_channel() -> MockChannel {
        let mut channel = MockChannel::new();
        channel.expect_kind().return_const(PlatformKind::Telegram);
        channel
    }

    fn storing_bindings() -> MockBindingRepository {
        let mut bindings = MockBindingRepository::new();
        bindings.expect_get().returning(|_, _| Ok(None));
        bindings.expect_upsert().times(1).returning(|_| Ok(()));
        bindings
    }

    #[tokio::test]
    async fn with_a_public_url_the_webhook_is_registered_there() {
        let mut channel = telegram_channel();
        channel
            .expect_register_webhook()
            .withf(|_, url| url.starts_with("https://bots.example.com/webhooks/telegram/"))
            .times(1)
            .returning(|_, _| Ok(()));
        let bound = use_case(
            channel,
            storing_bindings(),
            Some("https://bots.example.com/"),
        )
        .bind(BotId::new(), credentials(), "http://ignored")
        .await
        .unwrap();
        assert!(bound.webhook_registered);
        assert!(bound
            .webhook_url
            .starts_with("https://bots.example.com/webhooks/telegram/"));
    }

    #[tokio::test]
    async fn without_a_public_url_nothing_is_registered() {
        let mut channel = telegram_channel();
        channel.expect_register_webhook().never();
        let bound = use_case(channel, storing_bindings(), None)
            .bind(BotId::new(), credentials(), "http://127.0.0.1:8080")
            .await
            .unwrap();
        assert!(!bound.webhook_registered);
        assert!(bound
            .webhook_url
            .starts_with("http://127.0.0.1:8080/webhooks/telegram/"));
    }

    #[tokio::test]
    async fn a_refused_webhook_stores_no_binding() {
        let mut channel = telegram_channel();
        channel
            .expect_register_webhook()
            .returning(|_, _| Err(SendError::Permanent("Unauthorized".into())));
        let mut bindings = MockBindingRepository::new();
        bindings.expect_get().returning(|_, _| Ok(None));
        bindings.expect_upsert().never();
        let result = use_case(channel, bindings, Some("https://x.example"))
            .bind(BotId::new(), credentials(), "")
            .await;
        assert!(matches!(result, Err(BindError::Platform(_))));
    }
}
