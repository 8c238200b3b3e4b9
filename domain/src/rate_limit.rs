//! A bot's inbound rate limits: how many messages each end user and the whole bot may send in a window before the excess is stored unanswered, and what the user is told.

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Told (at most once a window) to a user whose messages go beyond the bot's rate limit.
pub const DEFAULT_RATE_LIMIT_MESSAGE: &str =
    "You're sending messages faster than I can answer. Please wait a moment before writing again.";

/// `messages` per `per_seconds` on average, `burst` of them at once: a token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowance {
    pub messages: u32,
    pub per_seconds: u32,
    pub burst: u32,
}

/// The most messages or burst an allowance may name, and the longest window (a day).
const MAX_MESSAGES: u32 = 1_000_000;
const MAX_SECONDS: u32 = 86_400;

impl Allowance {
    /// Each end user's allowance when a bot names none: 20 a minute, 10 at once.
    pub const DEFAULT_PER_USER: Self = Self {
        messages: 20,
        per_seconds: 60,
        burst: 10,
    };

    /// The allowance; `burst` defaults to `messages`; `field` names it in refusals.
    pub fn new(
        field: &'static str,
        messages: u32,
        per_seconds: u32,
        burst: Option<u32>,
    ) -> Result<Self, ValidationError> {
        let burst = burst.unwrap_or(messages);
        let counts = 1..=MAX_MESSAGES;
        if !counts.contains(&messages) || !counts.contains(&burst) {
            let reason = "messages and burst must be 1 to 1000000";
            return Err(ValidationError::new(field, reason));
        }
        if !(1..=MAX_SECONDS).contains(&per_seconds) {
            return Err(ValidationError::new(
                field,
                "per_seconds must be 1 to 86400",
            ));
        }
        Ok(Self {
            messages,
            per_seconds,
            burst,
        })
    }

    /// The time one message's allowance takes to come back.
    pub fn interval(&self) -> Duration {
        self.window() / self.messages.max(1)
    }

    pub fn window(&self) -> Duration {
        Duration::from_secs(u64::from(self.per_seconds))
    }
}

/// Which allowances hold: each end user's (a platform chat) and the whole bot's. By default
/// [`Allowance::DEFAULT_PER_USER`] per user and none for the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimits {
    #[serde(default = "default_per_user")]
    pub per_user: Option<Allowance>,
    #[serde(default)]
    pub per_bot: Option<Allowance>,
}

fn default_per_user() -> Option<Allowance> {
    Some(Allowance::DEFAULT_PER_USER)
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_user: default_per_user(),
            per_bot: None,
        }
    }
}

impl RateLimits {
    /// The longest window of the allowances that hold: a user over the limit is told once in
    /// it. `None` when nothing is limited.
    pub fn notice_window(&self) -> Option<Duration> {
        [self.per_user, self.per_bot]
            .into_iter()
            .flatten()
            .map(|allowance| allowance.window())
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_defaults_to_the_messages_and_each_bound_is_checked() {
        let allowance = Allowance::new("rate_limit.per_user", 5, 10, None).unwrap();
        assert_eq!(allowance.burst, 5);
        assert_eq!(allowance.interval(), Duration::from_secs(2));
        for (messages, seconds, burst) in [
            (0, 10, None),
            (5, 0, None),
            (5, 86_401, None),
            (5, 10, Some(0)),
        ] {
            let refused = Allowance::new("rate_limit.per_bot", messages, seconds, burst);
            assert_eq!(refused.unwrap_err().field, "rate_limit.per_bot");
        }
    }

    #[test]
    fn an_absent_part_takes_its_default_and_null_turns_it_off() {
        let stored: RateLimits = serde_json::from_str("{}").unwrap();
        assert_eq!(stored, RateLimits::default());
        assert_eq!(stored.notice_window(), Some(Duration::from_secs(60)));
        let off: RateLimits = serde_json::from_str(r#"{"per_user": null}"#).unwrap();
        assert_eq!(off.per_user, None);
        assert_eq!(off.notice_window(), None);
    }
}
