//! A bot's spending limits: tokens and cost per UTC day or month, for the whole bot, each end user and each conversation, and what the user is told once one is spent.

use crate::usage::NANOS_PER_UNIT;
use crate::ValidationError;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// The UTC period a limit counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Month,
}

impl Period {
    /// The start of the period `now` falls in (UTC midnight, or the first of the month).
    pub fn start(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let day = now.date_naive();
        let first = match self {
            Self::Day => day,
            Self::Month => day.with_day(1).unwrap_or(day),
        };
        Utc.from_utc_datetime(&first.and_time(chrono::NaiveTime::MIN))
    }
}

/// One limit: at most `max_tokens` tokens and `max_cost` (in the provider's currency) per period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limit {
    pub period: Period,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost: Option<f64>,
}

/// The most tokens or currency units a limit may name: far beyond any real budget.
const MAX_AMOUNT: f64 = 1e12;

impl Limit {
    /// The limit, if it names at least one positive bound; `field` names it in refusals.
    pub fn new(
        field: &'static str,
        period: Period,
        max_tokens: Option<u64>,
        max_cost: Option<f64>,
    ) -> Result<Self, ValidationError> {
        if max_tokens.is_none() && max_cost.is_none() {
            return Err(ValidationError::new(
                field,
                "must name max_tokens, max_cost or both",
            ));
        }
        if max_tokens.is_some_and(|tokens| tokens == 0 || tokens as f64 > MAX_AMOUNT) {
            return Err(ValidationError::new(
                field,
                "max_tokens must be 1 to 1000000000000",
            ));
        }
        if max_cost.is_some_and(|cost| !(cost > 0.0 && cost <= MAX_AMOUNT)) {
            return Err(ValidationError::new(
                field,
                "max_cost must be above 0 and at most 1000000000000",
            ));
        }
        Ok(Self {
            period,
            max_tokens,
            max_cost,
        })
    }

    /// `max_cost` in nanos of the currency.
    pub fn max_nanos(&self) -> Option<i64> {
        self.max_cost
            .map(|cost| (cost * NANOS_PER_UNIT).round() as i64)
    }

    /// How much of the limit `spent` uses, as the larger of its two shares (1.0 = all of it).
    pub fn share(&self, spent: &Spent) -> f64 {
        let tokens = self
            .max_tokens
            .map_or(0.0, |max| spent.tokens as f64 / max as f64);
        let cost = self
            .max_nanos()
            .map_or(0.0, |max| spent.nanos as f64 / max as f64);
        tokens.max(cost)
    }

    /// Whether `spent` has used the limit up.
    pub fn is_spent(&self, spent: &Spent) -> bool {
        self.share(spent) >= 1.0
    }
}

/// What a scope has spent in a period: tokens, and nanos of the limit's currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spent {
    pub tokens: u64,
    pub nanos: i64,
}

/// Whose spending a limit caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Bot,
    User,
    Conversation,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bot => "bot",
            Self::User => "user",
            Self::Conversation => "conversation",
        }
    }
}

/// A bot's limits; any may be absent, and no budget at all means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<Limit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_user: Option<Limit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_conversation: Option<Limit>,
}

impl Budget {
    /// The limits that apply, each with its scope.
    pub fn limits(&self) -> impl Iterator<Item = (Scope, Limit)> {
        [
            (Scope::Bot, self.bot),
            (Scope::User, self.per_user),
            (Scope::Conversation, self.per_conversation),
        ]
        .into_iter()
        .filter_map(|(scope, limit)| limit.map(|limit| (scope, limit)))
    }

    pub fn is_empty(&self) -> bool {
        self.limits().next().is_none()
    }
}

/// The shares of a bot's budget whose crossing is announced.
pub const THRESHOLDS: [u8; 3] = [50, 80, 100];

/// The thresholds (in percent) a reply crossed, going from `before` to `after` of a limit.
pub fn crossed(limit: &Limit, before: &Spent, after: &Spent) -> Vec<u8> {
    let (from, to) = (limit.share(before), limit.share(after));
    THRESHOLDS
        .into_iter()
        .filter(|percent| {
            let at = f64::from(*percent) / 100.0;
            from < at && to >= at
        })
        .collect()
}

/// What the user is told when a budget is spent.
pub const DEFAULT_BUDGET_MESSAGE: &str =
    "This assistant has reached its usage limit for now. Please try again later.";

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time: &str) -> DateTime<Utc> {
        time.parse().unwrap()
    }

    #[test]
    fn periods_start_at_utc_midnight_and_the_first_of_the_month() {
        let now = at("2026-12-03T17:45:12Z");
        assert_eq!(Period::Day.start(now), at("2026-12-03T00:00:00Z"));
        assert_eq!(Period::Month.start(now), at("2026-12-01T00:00:00Z"));
    }

    #[test]
    fn a_limit_is_spent_by_either_bound() {
        let limit = Limit::new("budget", Period::Day, Some(1000), Some(0.01)).unwrap();
        let spent = |tokens, nanos| Spent { tokens, nanos };
        assert!(!limit.is_spent(&spent(999, 9_999_999)));
        assert!(limit.is_spent(&spent(1000, 0)));
        assert!(limit.is_spent(&spent(0, 10_000_000)));
        assert_eq!(crossed(&limit, &spent(400, 0), &spent(850, 0)), [50, 80]);
        assert_eq!(
            crossed(&limit, &spent(850, 0), &spent(900, 0)),
            Vec::<u8>::new()
        );
        assert_eq!(
            crossed(&limit, &spent(900, 0), &spent(0, 10_000_000)),
            [100]
        );
    }

    #[test]
    fn a_limit_without_a_positive_bound_is_refused_naming_its_field() {
        let refused = |tokens, cost| Limit::new("budget.per_user", Period::Day, tokens, cost);
        for (tokens, cost) in [
            (None, None),
            (Some(0), None),
            (None, Some(0.0)),
            (None, Some(-1.0)),
            (None, Some(f64::NAN)),
        ] {
            assert_eq!(refused(tokens, cost).unwrap_err().field, "budget.per_user");
        }
    }
}
