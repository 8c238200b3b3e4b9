//! Retry timing: the `Retry-After` header (the backoff itself is `application::backoff`).

use std::time::Duration;

/// The longest wait a server's `Retry-After` may impose on one attempt.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

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
