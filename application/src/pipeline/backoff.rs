//! How long to wait before trying again: capped exponential backoff with jitter, and the waits servers ask for (`Retry-After`).

use rand::Rng;
use std::time::Duration;

/// Delay before retry number `attempt` (1-based): `base * 2^(attempt-1)` capped at `cap`,
/// then jittered into its upper half so that retries of many jobs spread out.
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let unit = rand::thread_rng().gen_range(0.0..=1.0);
    jittered_delay(attempt.saturating_sub(1), base, cap, unit)
}

/// The delay before retry number `retry` (0 for the first retry), with equal jitter: half of
/// `min(cap, base · 2^retry)` is fixed and the other half is scaled by `unit`, a number in
/// `[0, 1]` supplied by the caller (which keeps this function pure).
pub fn jittered_delay(retry: u32, base: Duration, cap: Duration, unit: f64) -> Duration {
    let ceiling = base.saturating_mul(2u32.saturating_pow(retry)).min(cap);
    let half = ceiling / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

/// A `Retry-After` value in seconds, whole or decimal (`"7"`, `" 2.5 "`), capped at `cap`. The
/// HTTP-date form, negative numbers and garbage yield `None`, so the caller's own wait applies.
pub fn parse_retry_after(value: &str, cap: Duration) -> Option<Duration> {
    retry_wait(value.trim().parse().ok()?, cap)
}

/// A wait a server asked for in (possibly fractional) seconds, capped at `cap`; `None` when it
/// is negative or not a number.
pub fn retry_wait(seconds: f64, cap: Duration) -> Option<Duration> {
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(seconds.min(cap.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn retry_after_is_read_in_whole_or_decimal_seconds_and_capped() {
        assert_eq!(parse_retry_after("1", MINUTE), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 2.5 ", MINUTE),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(parse_retry_after("0", MINUTE), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("3600", MINUTE), Some(MINUTE));
        assert_eq!(parse_retry_after("inf", MINUTE), Some(MINUTE));
    }

    #[test]
    fn retry_after_dates_negatives_and_garbage_are_ignored() {
        for value in ["Wed, 21 Oct 2015 07:28:00 GMT", "-1", "NaN", "", "soon"] {
            assert_eq!(parse_retry_after(value, MINUTE), None, "{value:?}");
        }
        assert_eq!(retry_wait(-0.5, MINUTE), None);
        assert_eq!(retry_wait(1e30, MINUTE), Some(MINUTE));
    }

    #[test]
    fn grows_exponentially_within_jitter_bounds() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(10);
        for (attempt, ceiling) in [(1, 100), (2, 200), (3, 400), (4, 800)] {
            let d = backoff_delay(attempt, base, cap);
            assert!(
                d >= Duration::from_millis(ceiling / 2),
                "attempt {attempt}: {d:?}"
            );
            assert!(
                d <= Duration::from_millis(ceiling),
                "attempt {attempt}: {d:?}"
            );
        }
    }

    #[test]
    fn never_exceeds_the_cap() {
        let cap = Duration::from_secs(5);
        for attempt in [10, 31, 1000, u32::MAX] {
            assert!(backoff_delay(attempt, Duration::from_secs(1), cap) <= cap);
        }
    }

    const BASE: Duration = Duration::from_millis(500);
    const CAP: Duration = Duration::from_secs(8);

    #[test]
    fn delay_doubles_per_retry_between_half_and_full() {
        assert_eq!(
            jittered_delay(0, BASE, CAP, 0.0),
            Duration::from_millis(250)
        );
        assert_eq!(
            jittered_delay(0, BASE, CAP, 1.0),
            Duration::from_millis(500)
        );
        assert_eq!(
            jittered_delay(1, BASE, CAP, 0.0),
            Duration::from_millis(500)
        );
        assert_eq!(
            jittered_delay(2, BASE, CAP, 0.5),
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn delay_never_exceeds_the_cap_even_for_huge_retries() {
        assert_eq!(jittered_delay(5, BASE, CAP, 1.0), CAP);
        assert!(jittered_delay(u32::MAX, BASE, CAP, 0.999) <= CAP);
        assert!(jittered_delay(64, BASE, CAP, 0.0) >= CAP / 2);
    }

    #[test]
    fn out_of_range_jitter_is_clamped() {
        assert_eq!(
            jittered_delay(0, BASE, CAP, -3.0),
            Duration::from_millis(250)
        );
        assert_eq!(
            jittered_delay(0, BASE, CAP, 7.0),
            Duration::from_millis(500)
        );
    }
}
