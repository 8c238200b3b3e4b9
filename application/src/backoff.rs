//! Capped exponential backoff with jitter, for job retries.

use rand::Rng;
use std::time::Duration;

/// Delay before retry number `attempt` (1-based): `base * 2^(attempt-1)` capped at `cap`,
/// then jittered into its upper half so that retries of many jobs spread out.
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let ceiling = base.saturating_mul(1u32 << exponent).min(cap);
    let jitter: f64 = rand::thread_rng().gen_range(0.5..=1.0);
    ceiling.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
