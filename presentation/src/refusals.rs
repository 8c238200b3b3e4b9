//! Refused requests (4xx): each logged at DEBUG, counted per code, and summed up at WARN at most once a minute, so that a flood of bad requests does not flood the log.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The least time between two WARN summaries.
const SUMMARY_EVERY: Duration = Duration::from_secs(60);

static TALLY: Mutex<Tally> = Mutex::new(Tally::new());

/// Counts per problem code: since the process started, and since the last summary.
struct Tally {
    total: BTreeMap<&'static str, u64>,
    unreported: BTreeMap<&'static str, u64>,
    last_summary: Option<Instant>,
}

impl Tally {
    const fn new() -> Self {
        Self {
            total: BTreeMap::new(),
            unreported: BTreeMap::new(),
            last_summary: None,
        }
    }

    /// Counts one refusal; the counts to report when a summary is due.
    fn count(&mut self, code: &'static str, now: Instant) -> Option<BTreeMap<&'static str, u64>> {
        *self.total.entry(code).or_default() += 1;
        *self.unreported.entry(code).or_default() += 1;
        let due = self
            .last_summary
            .is_none_or(|last| now.duration_since(last) >= SUMMARY_EVERY);
        due.then(|| {
            self.last_summary = Some(now);
            std::mem::take(&mut self.unreported)
        })
    }
}

/// The problem codes an operator watches, counted from zero at start so that their rates
/// (and the webhook refusal alert) see the first one.
pub const WATCHED: [&str; 10] = [
    "invalid_signature",
    "unauthenticated",
    "forbidden",
    "not_found",
    "rate_limited",
    "payload_too_large",
    "body_timeout",
    "malformed_update",
    "malformed_json",
    "invalid_field",
];

/// Records a refused request.
pub fn record(code: &'static str, reason: &str) {
    tracing::debug!(code, reason, "request refused");
    application::metrics::refusal(code);
    let summary = lock().count(code, Instant::now());
    if let Some(counts) = summary {
        tracing::warn!(
            refused = %describe(&counts),
            "requests refused since the last summary (each is logged at DEBUG)"
        );
    }
}

/// Refusals per problem code since the process started.
pub fn totals() -> BTreeMap<&'static str, u64> {
    lock().total.clone()
}

fn lock() -> std::sync::MutexGuard<'static, Tally> {
    TALLY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `not_found=3 invalid_signature=120`.
fn describe(counts: &BTreeMap<&'static str, u64>) -> String {
    let parts: Vec<String> = counts
        .iter()
        .map(|(code, count)| format!("{code}={count}"))
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_refusal_is_summed_up_then_none_until_a_minute_has_passed() {
        let mut tally = Tally::new();
        let start = Instant::now();
        assert_eq!(tally.count("not_found", start).unwrap()["not_found"], 1);
        for second in 1..60 {
            let now = start + Duration::from_secs(second);
            assert!(tally.count("invalid_signature", now).is_none());
        }
        let summary = tally.count("not_found", start + SUMMARY_EVERY).unwrap();
        assert_eq!(summary["invalid_signature"], 59);
        assert_eq!(summary["not_found"], 1);
        assert_eq!(tally.total["not_found"], 2);
    }

    #[test]
    fn totals_count_every_refusal() {
        let before = totals().get("busy").copied().unwrap_or(0);
        record("busy", "test");
        record("busy", "test");
        assert!(totals()["busy"] >= before + 2);
    }

    #[test]
    fn a_summary_names_each_code_with_its_count() {
        let counts = BTreeMap::from([("not_found", 3), ("invalid_signature", 120)]);
        assert_eq!(describe(&counts), "invalid_signature=120 not_found=3");
    }
}
