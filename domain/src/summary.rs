//! A bot's activity over a time range: the range itself and the counts reported for it.

use crate::ValidationError;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Instants `from` (inclusive) to `to` (exclusive); an absent bound leaves that side open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// Refuses a range whose `from` comes after its `to`.
    pub fn new(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Self, ValidationError> {
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(ValidationError::new("from", "must not be after `to`"));
            }
        }
        Ok(Self { from, to })
    }

    pub fn from(&self) -> Option<DateTime<Utc>> {
        self.from
    }

    pub fn to(&self) -> Option<DateTime<Utc>> {
        self.to
    }
}

/// What a bot did within a [`TimeRange`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotSummary {
    /// Conversations started in the range.
    pub conversations: u64,
    /// Messages received in the range.
    pub inbound: u64,
    /// Replies and operator messages created in the range.
    pub outbound: u64,
    /// Outbound messages of the range whose delivery failed.
    pub failures: u64,
    /// Tokens of the model's replies created in the range.
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// What those replies cost, in nanos per currency (see [`crate::usage`]).
    pub costs: BTreeMap<String, i64>,
}

impl BotSummary {
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn a_start_after_the_end_is_refused_naming_from() {
        assert_eq!(
            TimeRange::new(Some(at(2)), Some(at(1))).unwrap_err().field,
            "from"
        );
        let empty = TimeRange::new(Some(at(1)), Some(at(1))).unwrap();
        assert_eq!((empty.from(), empty.to()), (Some(at(1)), Some(at(1))));
        assert_eq!(TimeRange::new(None, None).unwrap(), TimeRange::default());
    }

    #[test]
    fn total_tokens_add_up() {
        let summary = BotSummary {
            prompt_tokens: 7,
            completion_tokens: 5,
            ..BotSummary::default()
        };
        assert_eq!(summary.total_tokens(), 12);
    }
}
