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
    /// Whether the platform was told the URL: only when a public URL is configured and this
    /// server has the platform's channel.
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
    /// public URL is configured. A platform whose channel this server lacks is stored all the
    /// same, its webhook left for the operator to point at the URL.
    #[tracing::instrument(skip_all, fields(bot_id = %bot_id, platform = %credentials.kind()))]
    pub async fn bind(
        &self,
        bot_id: BotId,
        credentials: Credentials,
        request_base: &str,
    ) -> Result<Bound, BindError> {
        let kind = credentials.kind();
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
        let webhook_url = self.webhook_url(kind, bot_id, request_base);
        let webhook_registered = self.register(&binding, &webhook_url).await?;
        self.bindings.upsert(&binding).await?;
        tracing::info!(%webhook_url, webhook_registered, "platform bound");
        Ok(Bound {
            binding,
            webhook_url,
            webhook_registered,
        })
    }

    /// Whether webhook URLs are built on `server.public_url` (the request's own address is
    /// then not needed).
    pub fn has_public_url(&self) -> bool {
        self.public_url.is_some()
    }

    /// Where `kind`'s webhooks for this bot go: under `server.public_url` when set, else under
    /// `request_base`.
    pub fn webhook_url(&self, kind: PlatformKind, bot_id: BotId, request_base: &str) -> String {
        let base = self.public_url.as_deref().unwrap_or(request_base);
        webhook_url(base, kind, bot_id)
    }

    /// Tells the platform the webhook URL when there is a public URL and a channel to do it;
    /// whether it was told. A binding that polls has its webhook removed instead, public URL
    /// or not, since the platform will not be polled while one is set.
    async fn register(&self, binding: &PlatformBinding, url: &str) -> Result<bool, BindError> {
        let Some(channel) = self.channels.get(binding.kind()) else {
            tracing::info!("no channel for this platform yet: the webhook is not registered");
            return Ok(false);
        };
        if binding.polls() {
            channel
                .unregister_webhook(binding)
                .await
                .map_err(BindError::Platform)?;
            return Ok(false);
        }
        if self.public_url.is_none() {
            return Ok(false);
        }
        channel
            .register_webhook(binding, url)
            .await
            .map_err(BindError::Platform)
    }
}

/// `{base}/webhooks/{platform}/{bot_id}`, without a doubled slash; for the web chat, which
/// takes no webhooks, the chat page `{base}/chat/{bot_id}` to link visitors to.
pub fn webhook_url(base: &str, kind: PlatformKind, bot_id: BotId) -> String {
    let base = base.trim_end_matches('/');
    match kind {
        PlatformKind::WebChat => format!("{base}/chat/{bot_id}"),
        _ => format!("{base}/webhooks/{kind}/{bot_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::telegram_channel;
    use crate::ports::{MockChannel, MockClock};
    use chrono::Utc;
    use domain::repositories::{MockBindingRepository, MockBotRepository};
    use domain::{Bot, BotDraft, BotName, DiscordCredentials, SystemPrompt, TelegramCredentials};

    fn bot() -> Bot {
        let draft = BotDraft {
            name: BotName::parse("b").unwrap(),
            system_prompt: SystemPrompt::parse("").unwrap(),
            model: None,
            temperature: None,
            fallback_message: None,
            handoff: domain::HandoffPolicy::default(),
            provider_id: None,
            guardrails: Default::default(),
            replies: Default::default(),
            lifecycle: Default::default(),
        };
        Bot::create(draft, Utc::now())
    }

    fn credentials() -> Credentials {
        Credentials::Telegram(
            TelegramCredentials::parse(&crate::fixtures::telegram_token("1:abc"), "secret")
                .unwrap(),
        )
    }

    fn discord() -> Credentials {
        let key = "ab".repeat(32);
        Credentials::Discord(
            DiscordCredentials::parse(
                "81384788765712384",
                &key,
                &crate::fixtures::discord_token("t"),
            )
            .unwrap(),
        )
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

    fn storing_bindings() -> MockBindingRepository {
        let mut bindings = MockBindingRepository::new();
        bindings.expect_get().returning(|_, _| Ok(None));
        bindings.expect_upsert().times(1).returning(|_| Ok(()));
        bindings
    }

    /// Binds through `channel` with `https://bots.example.com/` as the public URL.
    async fn bind_publicly(channel: MockChannel) -> Bound {
        use_case(
            channel,
            storing_bindings(),
            Some("https://bots.example.com/"),
        )
        .bind(BotId::new(), credentials(), "http://ignored")
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn with_a_public_url_the_webhook_is_registered_there() {
        let mut channel = telegram_channel();
        channel
            .expect_register_webhook()
            .withf(|_, url| url.starts_with("https://bots.example.com/webhooks/telegram/"))
            .times(1)
            .returning(|_, _| Ok(true));
        let bound = bind_publicly(channel).await;
        assert!(bound.webhook_registered);
        assert!(bound
            .webhook_url
            .starts_with("https://bots.example.com/webhooks/telegram/"));
    }

    #[tokio::test]
    async fn a_platform_that_takes_no_registration_is_not_reported_registered() {
        let mut channel = telegram_channel();
        channel
            .expect_register_webhook()
            .times(1)
            .returning(|_, _| Ok(false));
        let bound = bind_publicly(channel).await;
        assert!(!bound.webhook_registered);
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

    fn polling() -> Credentials {
        let credentials =
            TelegramCredentials::parse(&crate::fixtures::telegram_token("1:abc"), "secret")
                .unwrap();
        Credentials::Telegram(credentials.with_mode(domain::TelegramMode::Polling))
    }

    #[tokio::test]
    async fn a_polling_binding_removes_the_webhook_even_without_a_public_url() {
        for public_url in [None, Some("https://bots.example.com")] {
            let mut channel = telegram_channel();
            channel.expect_register_webhook().never();
            channel
                .expect_unregister_webhook()
                .times(1)
                .returning(|_| Ok(()));
            let bound = use_case(channel, storing_bindings(), public_url)
                .bind(BotId::new(), polling(), "http://127.0.0.1:8080")
                .await
                .unwrap();
            assert!(!bound.webhook_registered);
            assert!(bound.binding.polls());
        }
    }

    #[tokio::test]
    async fn a_refused_webhook_removal_stores_no_binding() {
        let mut channel = telegram_channel();
        channel
            .expect_unregister_webhook()
            .returning(|_| Err(SendError::Permanent("Unauthorized".into())));
        let mut bindings = MockBindingRepository::new();
        bindings.expect_get().returning(|_, _| Ok(None));
        bindings.expect_upsert().never();
        let result = use_case(channel, bindings, None)
            .bind(BotId::new(), polling(), "")
            .await;
        assert!(matches!(result, Err(BindError::Platform(_))));
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

    #[tokio::test]
    async fn a_platform_without_a_channel_is_stored_with_its_url_and_not_registered() {
        let mut channel = telegram_channel();
        channel.expect_register_webhook().never();
        let mut bindings = MockBindingRepository::new();
        bindings.expect_get().returning(|_, _| Ok(None));
        bindings
            .expect_upsert()
            .withf(|binding| binding.kind() == PlatformKind::Discord)
            .times(1)
            .returning(|_| Ok(()));
        let bot_id = BotId::new();
        let bound = use_case(channel, bindings, Some("https://bots.example.com"))
            .bind(bot_id, discord(), "http://ignored")
            .await
            .unwrap();
        assert!(!bound.webhook_registered);
        assert_eq!(
            bound.webhook_url,
            format!("https://bots.example.com/webhooks/discord/{bot_id}")
        );
    }

    #[tokio::test]
    async fn rebinding_keeps_the_creation_time() {
        let bot_id = BotId::new();
        let created = Utc::now() - chrono::TimeDelta::days(3);
        let old = PlatformBinding::new(bot_id, discord(), created);
        let mut bindings = MockBindingRepository::new();
        bindings
            .expect_get()
            .returning(move |_, _| Ok(Some(old.clone())));
        bindings.expect_upsert().times(1).returning(|_| Ok(()));
        let bound = use_case(telegram_channel(), bindings, None)
            .bind(bot_id, discord(), "http://127.0.0.1:8080")
            .await
            .unwrap();
        assert_eq!(bound.binding.created_at, created);
        assert!(bound.binding.updated_at > created);
    }

    #[tokio::test]
    async fn an_unknown_bot_is_refused_before_anything_is_stored() {
        let mut bots = MockBotRepository::new();
        bots.expect_get().returning(|_| Ok(None));
        let mut bindings = MockBindingRepository::new();
        bindings.expect_upsert().never();
        let use_case = BindPlatform::new(
            Arc::new(bots),
            Arc::new(bindings),
            Channels::default(),
            Arc::new(MockClock::new()),
            None,
        );
        let result = use_case.bind(BotId::new(), discord(), "").await;
        assert!(matches!(result, Err(BindError::BotNotFound(_))));
    }
}
