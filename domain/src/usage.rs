//! What the model's answers cost: one reply's [`Cost`], and [`Usage`] totals over many replies.

use crate::message::TokenUsage;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Billionths of a currency unit in one unit: costs are kept as whole nanos so that sums are
/// exact on every database.
pub const NANOS_PER_UNIT: f64 = 1e9;

/// One reply's cost, in the currency its provider's prices name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cost {
    pub currency: String,
    pub nanos: i64,
}

impl Cost {
    /// The cost of `usage` at prices per million input (prompt) and output (completion) tokens.
    pub fn of(usage: &TokenUsage, currency: &str, input: f64, output: f64) -> Self {
        // A price per million tokens is that many thousand nanos per token.
        let nanos = (f64::from(usage.prompt_tokens) * input
            + f64::from(usage.completion_tokens) * output)
            * 1e3;
        Self {
            currency: currency.to_owned(),
            // `as` saturates, and the prices' ceiling keeps this far below i64::MAX anyway.
            nanos: nanos.round() as i64,
        }
    }
}

/// An amount of nanos as currency units.
pub fn units(nanos: i64) -> f64 {
    nanos as f64 / NANOS_PER_UNIT
}

/// The model's answers over some scope: how many, their tokens, and their costs per currency
/// (replies from unpriced models count tokens only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub replies: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Nanos per currency.
    pub costs: BTreeMap<String, i64>,
}

impl Usage {
    /// Adds `other` to these totals.
    pub fn add(&mut self, other: &Usage) {
        self.replies = self.replies.saturating_add(other.replies);
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        for (currency, nanos) in &other.costs {
            let sum = self.costs.entry(currency.clone()).or_default();
            *sum = sum.saturating_add(*nanos);
        }
    }
}

/// The periods a usage series is cut into, in UTC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grouping {
    #[default]
    Day,
    Month,
}

impl Grouping {
    /// The start of the period `day` falls in.
    pub fn period_of(self, day: NaiveDate) -> DateTime<Utc> {
        let first = match self {
            Self::Day => day,
            Self::Month => day.with_day(1).unwrap_or(day),
        };
        Utc.from_utc_datetime(&first.and_time(chrono::NaiveTime::MIN))
    }

    /// Daily usage folded into this grouping's periods, oldest first.
    pub fn fold(self, days: &[(NaiveDate, Usage)]) -> Vec<(DateTime<Utc>, Usage)> {
        let mut periods: BTreeMap<DateTime<Utc>, Usage> = BTreeMap::new();
        for (day, usage) in days {
            periods.entry(self.period_of(*day)).or_default().add(usage);
        }
        periods.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(replies: u64, tokens: u64, costs: &[(&str, i64)]) -> Usage {
        Usage {
            replies,
            prompt_tokens: tokens,
            completion_tokens: tokens,
            costs: costs.iter().map(|(c, n)| (c.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn a_cost_is_the_tokens_at_the_prices_per_million() {
        let used = TokenUsage {
            prompt_tokens: 1_000,
            completion_tokens: 200,
        };
        // 1000 × 0.5 + 200 × 1.5 per million = 0.0008 EUR.
        let cost = Cost::of(&used, "EUR", 0.5, 1.5);
        assert_eq!(cost.nanos, 800_000);
        assert_eq!(units(cost.nanos), 0.0008);
        assert_eq!(Cost::of(&TokenUsage::default(), "EUR", 9.0, 9.0).nanos, 0);
    }

    #[test]
    fn days_fold_into_months_and_currencies_stay_apart() {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let days = [
            (day(11, 30), usage(1, 10, &[("EUR", 5)])),
            (day(12, 1), usage(2, 20, &[("EUR", 7), ("USD", 1)])),
            (day(12, 31), usage(1, 5, &[])),
        ];
        let months = Grouping::Month.fold(&days);
        assert_eq!(months.len(), 2);
        assert_eq!(months[0].0.to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert_eq!(months[1].1, usage(3, 25, &[("EUR", 7), ("USD", 1)]));
        assert_eq!(Grouping::Day.fold(&days).len(), 3);
    }
}
