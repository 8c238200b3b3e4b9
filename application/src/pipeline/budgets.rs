//! The budget check before each model call: what the bot, the chat and the conversation spent in their limits' periods, whether one is used up, and which shares a reply crossed.
//!
//! The check reads what is stored, so replies that pass it together (on any replica) each
//! spend: a limit is overshot by at most the replies in flight when it was reached.

use super::jobs::Target;
use chrono::{DateTime, Utc};
use domain::budget::crossed;
use domain::repositories::{SpendKey, SpendRepository};
use domain::{Limit, Message, RepoError, Scope, Spent};

/// What the limits of a bot's budget had spent when a message was checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spending(Vec<(Scope, Limit, Spent)>);

/// The check's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The model may be asked; what each limit had spent.
    Within(Spending),
    /// A limit of this scope is used up for its period.
    Spent(Scope),
}

/// Checks the budget of `target`'s bot at `now`: no read at all for a bot without one.
pub async fn check(
    spends: &dyn SpendRepository,
    target: &Target,
    now: DateTime<Utc>,
) -> Result<Verdict, RepoError> {
    let limits: Vec<(Scope, Limit)> = target.bot.guardrails.budget.limits().collect();
    if limits.is_empty() {
        return Ok(Verdict::Within(Spending::default()));
    }
    let periods: Vec<(Scope, DateTime<Utc>)> = limits
        .iter()
        .map(|(scope, limit)| (*scope, limit.period.start(now)))
        .collect();
    let key = SpendKey {
        bot_id: target.bot.id,
        platform: target.message.platform,
        chat: target.chat.clone(),
        conversation_id: target.message.conversation_id,
    };
    let spent = spends.spent(&key, &periods).await?;
    let spending: Vec<(Scope, Limit, Spent)> = limits
        .into_iter()
        .zip(spent)
        .map(|((scope, limit), spent)| (scope, limit, spent))
        .collect();
    Ok(
        match spending
            .iter()
            .find(|(_, limit, spent)| limit.is_spent(spent))
        {
            Some((scope, _, _)) => Verdict::Spent(*scope),
            None => Verdict::Within(Spending(spending)),
        },
    )
}

impl Spending {
    /// The shares (50, 80, 100 %) of the bot's own limit that `reply` took it past.
    pub fn crossed_by(&self, reply: &Message) -> Vec<u8> {
        let Some((_, limit, before)) = self.0.iter().find(|(scope, ..)| *scope == Scope::Bot)
        else {
            return Vec::new();
        };
        let tokens = reply.usage.map_or(0, |u| {
            u64::from(u.prompt_tokens) + u64::from(u.completion_tokens)
        });
        let after = Spent {
            tokens: before.tokens.saturating_add(tokens),
            nanos: before
                .nanos
                .saturating_add(reply.cost.as_ref().map_or(0, |c| c.nanos)),
        };
        crossed(limit, before, &after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{now, World};
    use domain::repositories::MockSpendRepository;
    use domain::{Budget, MessageContent, Period, TokenUsage};

    fn limit(max_tokens: u64) -> Limit {
        Limit::new("budget", Period::Day, Some(max_tokens), None).unwrap()
    }

    fn target_with(budget: Budget) -> Target {
        let world = World::new();
        let mut target = world.target(world.inbound(MessageContent::text("hi")));
        target.bot.guardrails.budget = budget;
        target
    }

    #[tokio::test]
    async fn a_bot_without_a_budget_reads_nothing() {
        let spends = MockSpendRepository::new();
        let verdict = check(&spends, &target_with(Budget::default()), now()).await;
        assert_eq!(verdict.unwrap(), Verdict::Within(Spending::default()));
    }

    #[tokio::test]
    async fn the_first_spent_limit_refuses_and_periods_start_at_utc_midnight() {
        let budget = Budget {
            bot: Some(limit(1000)),
            per_user: Some(limit(100)),
            per_conversation: None,
        };
        let target = target_with(budget);
        let mut spends = MockSpendRepository::new();
        let midnight = Period::Day.start(now());
        let chat = target.chat.clone();
        spends
            .expect_spent()
            .withf(move |key, periods| {
                key.chat == chat && periods == [(Scope::Bot, midnight), (Scope::User, midnight)]
            })
            .times(1)
            .returning(|_, _| {
                let spent = |tokens| Spent { tokens, nanos: 0 };
                Ok(vec![spent(500), spent(100)])
            });
        let verdict = check(&spends, &target, now()).await.unwrap();
        assert_eq!(verdict, Verdict::Spent(Scope::User));
    }

    #[test]
    fn a_reply_crossing_half_and_four_fifths_of_the_bots_limit_names_both() {
        let spending = Spending(vec![(
            Scope::Bot,
            limit(1000),
            Spent {
                tokens: 400,
                nanos: 0,
            },
        )]);
        let world = World::new();
        let question = world.inbound(MessageContent::text("hi"));
        let reply = Message::reply(&question, "answer", now()).with_usage(
            Some(TokenUsage {
                prompt_tokens: 350,
                completion_tokens: 100,
            }),
            None,
        );
        assert_eq!(spending.crossed_by(&reply), [50, 80]);
        assert!(Spending::default().crossed_by(&reply).is_empty());
    }
}
