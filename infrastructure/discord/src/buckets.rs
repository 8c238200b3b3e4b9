//! The rate-limit buckets Discord announces: once a response says a route's bucket is empty (`X-RateLimit-Remaining: 0`), the next call on that route waits for its `X-RateLimit-Reset-After`; kept by this process.

use reqwest::header::HeaderMap;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest reset a call waits for in place; a longer one is answered as a 429 would be.
pub(crate) const MOST_WAITED: Duration = Duration::from_secs(5);
/// The longest reset believed.
const LONGEST_RESET: Duration = Duration::from_secs(3600);

/// When each emptied route's bucket refills.
#[derive(Debug, Default)]
pub(crate) struct Buckets(Mutex<HashMap<String, Instant>>);

impl Buckets {
    /// How long a call on `route` has to wait before its bucket refills; zero when it need not.
    pub(crate) fn wait(&self, route: &str) -> Duration {
        let mut resets = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        match resets.get(route) {
            Some(reset) if *reset > now => *reset - now,
            Some(_) => {
                resets.remove(route);
                Duration::ZERO
            }
            None => Duration::ZERO,
        }
    }

    /// Notes what a response on `route` announced about its bucket.
    pub(crate) fn note(&self, route: &str, headers: &HeaderMap) {
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
        if text("x-ratelimit-remaining") != Some("0") {
            return;
        }
        let reset = text("x-ratelimit-reset-after")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
            .map(|seconds| Duration::from_secs_f64(seconds).min(LONGEST_RESET));
        if let Some(reset) = reset {
            let mut resets = self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            resets.insert(route.to_owned(), Instant::now() + reset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(remaining: &'static str, reset_after: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static(remaining));
        headers.insert(
            "x-ratelimit-reset-after",
            HeaderValue::from_static(reset_after),
        );
        headers
    }

    #[test]
    fn only_an_emptied_bucket_makes_its_route_wait() {
        let buckets = Buckets::default();
        buckets.note("channels/1/messages", &headers("3", "4.5"));
        assert_eq!(buckets.wait("channels/1/messages"), Duration::ZERO);
        buckets.note("channels/1/messages", &headers("0", "4.5"));
        let wait = buckets.wait("channels/1/messages");
        assert!(wait > Duration::from_secs(4) && wait <= Duration::from_millis(4500));
        assert_eq!(
            buckets.wait("channels/2/messages"),
            Duration::ZERO,
            "its own route"
        );
        buckets.note("channels/3/messages", &headers("0", "-1"));
        assert_eq!(
            buckets.wait("channels/3/messages"),
            Duration::ZERO,
            "nonsense ignored"
        );
    }
}
