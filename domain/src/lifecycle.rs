//! A bot's data lifecycle: how long a quiet conversation stays open, and how long its messages are kept.

use crate::ValidationError;
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

/// When a bot's conversations end on their own and its old messages go; both off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// A conversation with no message for this many minutes is ended; `None`: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_minutes: Option<u32>,
    /// Messages older than this many days are deleted, and conversations left empty with them;
    /// `None`: kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
}

impl Lifecycle {
    /// The longest idle timeout: 30 days.
    pub const MAX_IDLE_MINUTES: u32 = 30 * 24 * 60;
    /// The longest retention: 10 years.
    pub const MAX_RETENTION_DAYS: u32 = 3650;

    pub fn new(
        idle_timeout_minutes: Option<u32>,
        retention_days: Option<u32>,
    ) -> Result<Self, ValidationError> {
        if idle_timeout_minutes.is_some_and(|m| m == 0 || m > Self::MAX_IDLE_MINUTES) {
            return Err(ValidationError::new(
                "idle_timeout",
                "must be 1 to 43200 (30 days), or null for never",
            ));
        }
        if retention_days.is_some_and(|d| d == 0 || d > Self::MAX_RETENTION_DAYS) {
            return Err(ValidationError::new(
                "retention_days",
                "must be 1 to 3650, or null to keep messages",
            ));
        }
        Ok(Self {
            idle_timeout_minutes,
            retention_days,
        })
    }

    pub fn idle_timeout(&self) -> Option<TimeDelta> {
        self.idle_timeout_minutes
            .map(|minutes| TimeDelta::minutes(i64::from(minutes)))
    }

    pub fn retention(&self) -> Option<TimeDelta> {
        self.retention_days
            .map(|days| TimeDelta::days(i64::from(days)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_are_off_by_default_and_bounded_when_set() {
        assert_eq!(Lifecycle::default().idle_timeout(), None);
        let set = Lifecycle::new(Some(30), Some(90)).unwrap();
        assert_eq!(set.idle_timeout(), Some(TimeDelta::minutes(30)));
        assert_eq!(set.retention(), Some(TimeDelta::days(90)));
        assert_eq!(
            Lifecycle::new(Some(0), None).unwrap_err().field,
            "idle_timeout"
        );
        assert_eq!(
            Lifecycle::new(None, Some(3651)).unwrap_err().field,
            "retention_days"
        );
    }
}
