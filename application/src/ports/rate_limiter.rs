//! The rate limiter port: allowances kept under a key (a visitor, a client address, a chat, a bot token), shared by every replica when the adapter keeps them in a shared store.

use async_trait::async_trait;
use std::time::Duration;

/// An allowance: `burst` units at once, then one more every `interval` (a token bucket, kept as
/// the generic cell rate algorithm does: one instant per key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub interval: Duration,
}

impl Rate {
    /// `per_minute` units a minute after a burst of `burst`; `None` (no limit) when either is 0.
    pub fn per_minute(per_minute: u32, burst: u32) -> Option<Self> {
        (per_minute > 0 && burst > 0).then(|| Self {
            burst,
            interval: Duration::from_secs(60) / per_minute,
        })
    }

    /// The units a minute this rate allows after its burst: the inverse of [`Rate::per_minute`].
    pub fn units_per_minute(self) -> u32 {
        let per_minute = Duration::from_secs(60).as_nanos() / self.interval.as_nanos().max(1);
        u32::try_from(per_minute).unwrap_or(u32::MAX)
    }

    /// `per_second` units a second, one at a time; `None` when 0.
    pub fn per_second(per_second: u32) -> Option<Self> {
        (per_second > 0).then(|| Self {
            burst: 1,
            interval: Duration::from_secs(1) / per_second,
        })
    }

    /// The interval in whole milliseconds, rounded up (never faster than the rate), at least
    /// 1: the unit the adapters count in.
    pub fn interval_ms(&self) -> u64 {
        let ms = self.interval.as_nanos().div_ceil(1_000_000);
        u64::try_from(ms).unwrap_or(u64::MAX).max(1)
    }

    /// How far ahead of its allowance a key may be spent: `burst - 1` intervals, in ms.
    pub fn tolerance_ms(&self) -> u64 {
        self.interval_ms()
            .saturating_mul(u64::from(self.burst.saturating_sub(1)))
    }
}

/// One allowance to take a unit from: `rate` under `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub key: String,
    pub rate: Rate,
}

/// Whether the units were taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// One allowance was spent (none was taken from the others): retry after this long.
    Limited {
        retry_after: Duration,
    },
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Takes one unit from every limit's allowance, or from none of them when one is spent.
    /// Infallible: an adapter whose store is away decides itself what to answer (the Redis
    /// adapter falls back to limits kept in the process).
    async fn acquire(&self, limits: &[Limit]) -> Admission;

    /// Takes one unit from every limit's allowance ahead of time: `Ok(wait)` when the unit is
    /// the caller's `wait` from now (zero: at once; at least `not_before`), or, when that is
    /// further than `within`, `Err(wait)` and nothing is taken. Callers queueing for a shared
    /// allowance are served in turn, each at its own instant.
    async fn reserve(
        &self,
        limits: &[Limit],
        not_before: Duration,
        within: Duration,
    ) -> Result<Duration, Duration>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_rate_or_burst_means_no_limit() {
        assert_eq!(Rate::per_minute(0, 5), None);
        assert_eq!(Rate::per_minute(5, 0), None);
        assert_eq!(Rate::per_minute(120, 1).unwrap().interval_ms(), 500);
    }

    #[test]
    fn a_rate_is_never_rounded_faster() {
        let thirty = Rate::per_second(30).unwrap();
        assert_eq!(thirty.interval_ms(), 34, "33.3 ms rounds up");
        assert_eq!(Rate::per_minute(60, 5).unwrap().tolerance_ms(), 4_000);
        assert_eq!(Rate::per_second(0), None);
    }

    #[test]
    fn units_per_minute_reads_back_what_per_minute_was_given() {
        for per_minute in [1, 7, 30, 120, 59_999, 60_000] {
            let rate = Rate::per_minute(per_minute, 1).unwrap();
            assert_eq!(rate.units_per_minute(), per_minute);
        }
    }
}
