//! Retry timing: capped exponential backoff with equal jitter, and the `Retry-After` header.

use std::time::Duration;

/// The longest wait a server's `Retry-After` may impose on one attempt.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// The delay before retry number `attempt` (0 for the first retry), with equal jitter:
/// half of `min(cap, base · 2^attempt)` is fixed and the other half is scaled by `unit`,
/// a random number in `[0, 1)` supplied by the caller (which keeps this function pure).
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration, unit: f64) -> Duration {
    let factor = 2u32.saturating_pow(attempt);
    let ceiling = base.saturating_mul(factor).min(cap);
    let half = ceiling / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

/// A `Retry-After` value in seconds (integer or decimal), capped at [`RETRY_AFTER_CAP`].
/// The HTTP-date form and garbage yield `None`, so the computed backoff applies.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        seconds.min(RETRY_AFTER_CAP.as_secs_f64()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(500);
    const CAP: Duration = Duration::from_secs(8);

    #[test]
    fn delay_doubles_per_attempt_between_half_and_full() {
        assert_eq!(backoff_delay(0, BASE, CAP, 0.0), Duration::from_millis(250));
        assert_eq!(backoff_delay(0, BASE, CAP, 1.0), Duration::from_millis(500));
        assert_eq!(backoff_delay(1, BASE, CAP, 0.0), Duration::from_millis(500));
        assert_eq!(
            backoff_delay(2, BASE, CAP, 0.5),
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn delay_never_exceeds_the_cap_even_for_huge_attempts() {
        assert_eq!(backoff_delay(5, BASE, CAP, 1.0), CAP);
        assert!(backoff_delay(u32::MAX, BASE, CAP, 0.999) <= CAP);
        assert!(backoff_delay(64, BASE, CAP, 0.0) >= CAP / 2);
    }

    #[test]
    fn out_of_range_jitter_is_clamped() {
        assert_eq!(
            backoff_delay(0, BASE, CAP, -3.0),
            Duration::from_millis(250)
        );
        assert_eq!(backoff_delay(0, BASE, CAP, 7.0), Duration::from_millis(500));
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 2.5 "),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(parse_retry_after("3600"), Some(RETRY_AFTER_CAP));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("NaN"), None);
    }
}
