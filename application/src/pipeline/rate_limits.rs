//! Inbound rate limits: whether a user's message is within the bot's allowances (each end user's, the whole bot's), counted when its reply job runs, and whether the user is to be told they are over.

use crate::jobs::Target;
use crate::ports::{Admission, Limit, Rate, RateLimiter};
use domain::{Allowance, MessageStatus};

/// What the bot's rate limits make of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    Within,
    /// Over a limit: stored unanswered; `notify` when the user has not been told in this window.
    Over {
        notify: bool,
    },
}

/// Takes one message from the target's allowances (all or none), through `limiter`: shared by
/// the replicas when it keeps them in Redis. A message is counted on its job's first attempt
/// only: run again (a lost lease, a failed write), it is within, or over without taking
/// anything when it was marked over already.
pub async fn admit(limiter: &dyn RateLimiter, target: &Target, first_attempt: bool) -> Admitted {
    let rates = &target.bot.guardrails.rate_limit;
    let bot = target.bot.id;
    let allowances = [
        rates
            .per_user
            .map(|a| limit(format!("msg:{bot}:user:{}", target.chat.as_str()), a)),
        rates.per_bot.map(|a| limit(format!("msg:{bot}:bot"), a)),
    ];
    let limits: Vec<Limit> = allowances.into_iter().flatten().collect();
    if limits.is_empty() {
        return Admitted::Within;
    }
    let marked = target.message.status == MessageStatus::RateLimited;
    if !marked && (!first_attempt || limiter.acquire(&limits).await == Admission::Allowed) {
        return Admitted::Within;
    }
    let notify = match rates.notice_window() {
        Some(window) => {
            let once = Rate {
                burst: 1,
                interval: window,
            };
            let notice = Limit {
                key: format!("notice:{bot}:{}", target.chat.as_str()),
                rate: once,
            };
            limiter.acquire(&[notice]).await == Admission::Allowed
        }
        None => false,
    };
    Admitted::Over { notify }
}

fn limit(key: String, allowance: Allowance) -> Limit {
    Limit {
        key,
        rate: Rate {
            burst: allowance.burst,
            interval: allowance.interval(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::World;
    use crate::rate_limit::LocalRateLimiter;
    use domain::{ExternalChatId, Message, MessageContent, RateLimits};

    fn target(world: &World, rates: RateLimits, chat: &str) -> Target {
        let text = MessageContent::Text { text: "hi".into() };
        let mut target = world.target(world.inbound(text));
        target.chat = ExternalChatId::parse(chat).unwrap();
        target.bot.guardrails.rate_limit = rates;
        target
    }

    fn per_user(messages: u32, burst: u32) -> RateLimits {
        RateLimits {
            per_user: Some(Allowance::new("f", messages, 3600, Some(burst)).unwrap()),
            per_bot: None,
        }
    }

    #[tokio::test]
    async fn a_user_over_the_burst_is_told_once_a_window() {
        let (world, limiter) = (World::new(), LocalRateLimiter::default());
        let alice = target(&world, per_user(2, 2), "alice");
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(admit(&limiter, &alice, true).await);
        }
        let over = |notify| Admitted::Over { notify };
        assert_eq!(
            seen,
            [
                Admitted::Within,
                Admitted::Within,
                over(true),
                over(false),
                over(false)
            ]
        );
        // Another user of the bot has an allowance of their own.
        let bob = target(&world, per_user(2, 2), "bob");
        assert_eq!(admit(&limiter, &bob, true).await, Admitted::Within);
    }

    #[tokio::test]
    async fn the_bots_allowance_is_shared_by_its_users_and_none_limits_nothing() {
        let (world, limiter) = (World::new(), LocalRateLimiter::default());
        let rates = RateLimits {
            per_user: None,
            per_bot: Some(Allowance::new("f", 1, 3600, None).unwrap()),
        };
        let alice = target(&world, rates, "alice");
        let bob = target(&world, rates, "bob");
        assert_eq!(admit(&limiter, &alice, true).await, Admitted::Within);
        assert_eq!(
            admit(&limiter, &bob, true).await,
            Admitted::Over { notify: true }
        );
        let free = RateLimits {
            per_user: None,
            per_bot: None,
        };
        let carol = target(&world, free, "carol");
        for _ in 0..50 {
            assert_eq!(admit(&limiter, &carol, true).await, Admitted::Within);
        }
    }

    #[tokio::test]
    async fn a_message_within_is_counted_once_however_often_its_job_runs() {
        let (world, limiter) = (World::new(), LocalRateLimiter::default());
        let alice = target(&world, per_user(1, 1), "alice");
        assert_eq!(admit(&limiter, &alice, true).await, Admitted::Within);
        assert_eq!(
            admit(&limiter, &alice, false).await,
            Admitted::Within,
            "run again"
        );
        let next = target(&world, per_user(1, 1), "alice");
        assert_eq!(
            admit(&limiter, &next, true).await,
            Admitted::Over { notify: true }
        );
    }

    #[tokio::test]
    async fn a_message_marked_over_already_takes_nothing_when_its_job_runs_again() {
        let (world, limiter) = (World::new(), LocalRateLimiter::default());
        let mut again = target(&world, per_user(1, 1), "alice");
        again.message = Message {
            status: MessageStatus::RateLimited,
            ..again.message
        };
        assert_eq!(
            admit(&limiter, &again, false).await,
            Admitted::Over { notify: true }
        );
        let fresh = target(&world, per_user(1, 1), "alice");
        assert_eq!(admit(&limiter, &fresh, true).await, Admitted::Within);
    }
}
