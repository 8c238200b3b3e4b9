//! Outbound pacing: each send waits its turn under the platform's published limits — per chat and per bot token — through the shared rate limiter, so that sends stay under the limits instead of learning them from 429s; a 429 pushes both turns back.

use crate::ports::{Limit, Rate, RateLimiter, Timer};
use domain::{BotId, ExternalChatId, PlatformKind};
use std::sync::Arc;
use std::time::Duration;

/// The most a send waits in its job for its turn; a later turn defers the job instead, so
/// that a slow chat holds no worker.
pub const MOST_WAITED: Duration = Duration::from_secs(2);

/// The two allowances a send draws on; `None`: no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlatformPacing {
    pub per_chat: Option<Rate>,
    /// Telegram's group chats have their own, slower allowance.
    pub per_group: Option<Rate>,
    pub per_token: Option<Rate>,
}

impl PlatformPacing {
    pub const NONE: Self = Self {
        per_chat: None,
        per_group: None,
        per_token: None,
    };
}

/// The platforms' published limits, each configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacingSettings {
    pub telegram: PlatformPacing,
    pub discord: PlatformPacing,
    pub whatsapp: PlatformPacing,
    pub messenger: PlatformPacing,
}

impl Default for PacingSettings {
    /// Telegram: a message a second per chat, 20 a minute per group, 30 a second per bot.
    /// Discord: 5 per 5 s per channel (the bucket its create-message route announces), 50 a
    /// second per bot (its global limit). WhatsApp: one message every 6 s to one user (the
    /// pair limit), 80 a second per business number. Messenger: 300 a second per page.
    fn default() -> Self {
        let every = |interval: Duration, burst: u32| Some(Rate { burst, interval });
        Self {
            telegram: PlatformPacing {
                per_chat: Rate::per_second(1),
                per_group: Rate::per_minute(20, 1),
                per_token: Rate::per_second(30),
            },
            discord: PlatformPacing {
                per_chat: every(Duration::from_secs(1), 5),
                per_group: None,
                per_token: Rate::per_second(50),
            },
            whatsapp: PlatformPacing {
                per_chat: every(Duration::from_secs(6), 1),
                per_group: None,
                per_token: Rate::per_second(80),
            },
            messenger: PlatformPacing {
                per_chat: None,
                per_group: None,
                per_token: Rate::per_second(300),
            },
        }
    }
}

impl PacingSettings {
    /// No pacing on any platform.
    pub const NONE: Self = Self {
        telegram: PlatformPacing::NONE,
        discord: PlatformPacing::NONE,
        whatsapp: PlatformPacing::NONE,
        messenger: PlatformPacing::NONE,
    };

    /// The limits a send of `bot` to `chat` on `kind` draws on, keyed by platform, bot (whose
    /// binding holds the token) and chat.
    pub fn limits(&self, kind: PlatformKind, bot: BotId, chat: &ExternalChatId) -> Turns {
        let pacing = match kind {
            PlatformKind::Telegram => self.telegram,
            PlatformKind::Discord => self.discord,
            PlatformKind::Whatsapp => self.whatsapp,
            PlatformKind::Messenger => self.messenger,
            PlatformKind::WebChat => PlatformPacing::NONE,
        };
        // Telegram's group and supergroup chats have negative ids.
        let group = kind == PlatformKind::Telegram && chat.as_str().starts_with('-');
        let per_chat = if group {
            pacing.per_group
        } else {
            pacing.per_chat
        };
        // The keys are written only for the limits that hold: none at all with pacing off.
        let platform = kind.as_str();
        let chat_key = || format!("pace:{platform}:{bot}:chat:{}", chat.as_str());
        Turns {
            chat: per_chat.map(|rate| Limit {
                key: chat_key(),
                rate,
            }),
            token: pacing.per_token.map(|rate| Limit {
                key: format!("pace:{platform}:{bot}"),
                rate,
            }),
        }
    }
}

/// The chat's and the token's allowance a send draws on; `None`: no limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turns {
    pub chat: Option<Limit>,
    pub token: Option<Limit>,
}

impl Turns {
    fn both(self) -> Vec<Limit> {
        [self.chat, self.token].into_iter().flatten().collect()
    }
}

/// Waits for sends' turns, through a limiter the replicas share when it keeps them in Redis.
pub struct Pacer {
    limiter: Arc<dyn RateLimiter>,
    timer: Arc<dyn Timer>,
    settings: PacingSettings,
}

impl Pacer {
    pub fn new(
        limiter: Arc<dyn RateLimiter>,
        timer: Arc<dyn Timer>,
        settings: PacingSettings,
    ) -> Self {
        Self {
            limiter,
            timer,
            settings,
        }
    }

    /// Waits until a send of `bot` to `chat` is due, taking its turn under both allowances, and
    /// says how long it waited; `Err(wait)`, with no turn taken, when the chat's is further than
    /// [`MOST_WAITED`] away.
    /// The two are reserved one after the other: a chat's turn is its own, while the token's
    /// is taken in the bot's queue from now — reserving it for the chat's later instant would
    /// hold every other chat of the bot back until then.
    pub async fn turn(
        &self,
        kind: PlatformKind,
        bot: BotId,
        chat: &ExternalChatId,
    ) -> Result<Duration, Duration> {
        let Turns { chat, token } = self.settings.limits(kind, bot, chat);
        let chat_wait = match chat {
            Some(limit) => self.reserve(limit, MOST_WAITED).await?,
            None => Duration::ZERO,
        };
        let token_wait = match token {
            Some(limit) => self.reserve(limit, Duration::MAX).await.unwrap_or_default(),
            None => Duration::ZERO,
        };
        let wait = chat_wait.max(token_wait);
        if !wait.is_zero() {
            self.timer.sleep(wait).await;
        }
        Ok(wait)
    }

    async fn reserve(&self, limit: Limit, within: Duration) -> Result<Duration, Duration> {
        let limits = [limit];
        self.limiter.reserve(&limits, Duration::ZERO, within).await
    }

    /// A platform asked to wait `retry_after`: the chat's and the token's next turns come no
    /// sooner.
    pub async fn back_off(
        &self,
        kind: PlatformKind,
        bot: BotId,
        chat: &ExternalChatId,
        retry_after: Duration,
    ) {
        let limits = self.settings.limits(kind, bot, chat).both();
        if !limits.is_empty() {
            let pushed = self.limiter.reserve(&limits, retry_after, Duration::MAX);
            let _ = pushed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limit::LocalRateLimiter;

    struct NoSleep;

    #[async_trait::async_trait]
    impl Timer for NoSleep {
        async fn sleep(&self, _: Duration) {}
    }

    fn pacer() -> Pacer {
        let limiter = Arc::new(LocalRateLimiter::default());
        Pacer::new(limiter, Arc::new(NoSleep), PacingSettings::default())
    }

    fn chat(id: &str) -> ExternalChatId {
        ExternalChatId::parse(id).unwrap()
    }

    #[test]
    fn a_telegram_group_draws_on_the_group_allowance_and_the_web_chat_on_none() {
        let settings = PacingSettings::default();
        let bot = BotId::new();
        let private = settings.limits(PlatformKind::Telegram, bot, &chat("42"));
        let group = settings.limits(PlatformKind::Telegram, bot, &chat("-100123"));
        assert_eq!(private.chat.unwrap().rate.interval_ms(), 1_000);
        assert_eq!(group.chat.unwrap().rate.interval_ms(), 3_000);
        assert_eq!(private.token, group.token, "one token for both");
        let web = settings.limits(PlatformKind::WebChat, bot, &chat("v"));
        assert!(web.both().is_empty());
    }

    #[tokio::test]
    async fn a_chats_next_turn_within_the_wait_is_taken_and_a_later_one_defers() {
        let (pacer, bot) = (pacer(), BotId::new());
        let alice = chat("alice");
        // Telegram: a second per chat, waited in the job.
        for _ in 0..2 {
            assert!(pacer
                .turn(PlatformKind::Telegram, bot, &alice)
                .await
                .is_ok());
        }
        // WhatsApp: six seconds per user, too long to wait in the job.
        assert!(pacer
            .turn(PlatformKind::Whatsapp, bot, &alice)
            .await
            .is_ok());
        let later = pacer.turn(PlatformKind::Whatsapp, bot, &alice).await;
        assert!(later.is_err_and(|wait| wait > Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn a_chat_waiting_its_turn_does_not_hold_the_bots_other_chats_back() {
        let (pacer, bot) = (pacer(), BotId::new());
        let kind = PlatformKind::Telegram;
        let limits = PacingSettings::default().limits(kind, bot, &chat("alice"));
        pacer.turn(kind, bot, &chat("alice")).await.unwrap();
        pacer.turn(kind, bot, &chat("alice")).await.unwrap();
        // Alice's second turn was a second off; the token's next is a few ms away, not then.
        let token = limits.token.unwrap();
        let next = pacer.reserve(token, Duration::MAX).await.unwrap();
        assert!(next < Duration::from_millis(200), "{next:?}");
    }

    #[tokio::test]
    async fn a_429_pushes_the_chats_and_the_tokens_turns_back() {
        let (pacer, bot) = (pacer(), BotId::new());
        let kind = PlatformKind::Telegram;
        let alice = chat("alice");
        pacer
            .back_off(kind, bot, &alice, Duration::from_secs(10))
            .await;
        let Turns { chat, token } = PacingSettings::default().limits(kind, bot, &alice);
        let later =
            |wait: Result<Duration, Duration>| wait.is_ok_and(|w| w > Duration::from_secs(9));
        assert!(
            later(pacer.reserve(token.unwrap(), Duration::MAX).await),
            "the token waits"
        );
        assert!(
            later(pacer.reserve(chat.unwrap(), Duration::MAX).await),
            "the chat waits"
        );
    }
}
