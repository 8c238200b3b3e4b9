//! The generic cell rate algorithm (taking a unit now, or reserving the next one free), and the rate limiter that keeps its allowances in the process: the one used without Redis, and Redis's fallback while Redis is away.

use crate::ports::{Admission, Limit, Rate, RateLimiter};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// GCRA in milliseconds: given a key's stored theoretical arrival time `tat` (none for a key
/// never seen or expired) at `now`, the key's new one when a unit is taken, or how long to wait
/// until one can be. The Redis adapter runs the same steps in Lua.
pub fn gcra(tat: Option<u64>, now: u64, rate: Rate) -> Result<u64, u64> {
    let interval = rate.interval_ms();
    let next = tat.unwrap_or(now).max(now).saturating_add(interval);
    let allowed_at = next.saturating_sub(interval.saturating_mul(u64::from(rate.burst)));
    if now < allowed_at {
        Err(allowed_at - now)
    } else {
        Ok(next)
    }
}

/// The instant (ms) a unit free under every one of `limits` can be taken, at or after `at`,
/// given each key's stored instant: the latest of the instants each allowance allows. The Redis
/// adapter runs the same steps in Lua.
pub fn reservation(tats: &[Option<u64>], limits: &[Limit], at: u64) -> u64 {
    tats.iter()
        .zip(limits)
        .filter_map(|(tat, limit)| tat.map(|tat| tat.saturating_sub(limit.rate.tolerance_ms())))
        .fold(at, u64::max)
}

/// `duration` in whole milliseconds, saturating.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Fewest keys kept before the first sweep of spent ones.
const FIRST_SWEEP: usize = 1024;

/// Allowances kept in this process: one instant per key, swept of the keys whose allowance is
/// whole again once their number has doubled since the last sweep.
#[derive(Debug)]
pub struct LocalRateLimiter {
    started: Instant,
    state: Mutex<Cells>,
}

#[derive(Debug)]
struct Cells {
    tats: HashMap<String, u64>,
    next_sweep: usize,
}

impl Default for LocalRateLimiter {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            state: Mutex::new(Cells {
                tats: HashMap::new(),
                next_sweep: FIRST_SWEEP,
            }),
        }
    }
}

impl LocalRateLimiter {
    /// Takes a unit from every limit at `now` (milliseconds on this limiter's clock), or none.
    fn acquire_at(&self, limits: &[Limit], now: u64) -> Admission {
        let mut cells = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut taken = Vec::with_capacity(limits.len());
        let mut wait = 0;
        for limit in limits {
            match gcra(cells.tats.get(&limit.key).copied(), now, limit.rate) {
                Ok(tat) => taken.push((limit.key.as_str(), tat)),
                Err(ms) => wait = wait.max(ms),
            }
        }
        if wait > 0 {
            return Admission::Limited {
                retry_after: Duration::from_millis(wait),
            };
        }
        for (key, tat) in taken {
            cells.tats.insert(key.to_owned(), tat);
        }
        cells.sweep(now);
        Admission::Allowed
    }

    /// Reserves a unit of every limit at the first instant from `now + not_before` all allow,
    /// unless that is more than `within` away.
    fn reserve_at(
        &self,
        limits: &[Limit],
        now: u64,
        not_before: u64,
        within: u64,
    ) -> Result<u64, u64> {
        let mut cells = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let tats: Vec<Option<u64>> = (limits.iter())
            .map(|limit| cells.tats.get(&limit.key).copied())
            .collect();
        let at = reservation(&tats, limits, now.saturating_add(not_before));
        if at - now > within {
            return Err(at - now);
        }
        for (limit, tat) in limits.iter().zip(tats) {
            let next = tat
                .unwrap_or(at)
                .max(at)
                .saturating_add(limit.rate.interval_ms());
            cells.tats.insert(limit.key.clone(), next);
        }
        cells.sweep(now);
        Ok(at - now)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

impl Cells {
    /// Forgets the keys whose instant has passed (a full allowance, as for a new key).
    fn sweep(&mut self, now: u64) {
        if self.tats.len() < self.next_sweep {
            return;
        }
        self.tats.retain(|_, tat| *tat > now);
        self.next_sweep = (self.tats.len() * 2).max(FIRST_SWEEP);
    }
}

#[async_trait]
impl RateLimiter for LocalRateLimiter {
    async fn acquire(&self, limits: &[Limit]) -> Admission {
        self.acquire_at(limits, self.now())
    }

    async fn reserve(
        &self,
        limits: &[Limit],
        not_before: Duration,
        within: Duration,
    ) -> Result<Duration, Duration> {
        let (not_before, within) = (millis(not_before), millis(within));
        let reserved = self.reserve_at(limits, self.now(), not_before, within);
        reserved
            .map(Duration::from_millis)
            .map_err(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(key: &str, per_minute: u32, burst: u32) -> Limit {
        Limit {
            key: key.into(),
            rate: Rate::per_minute(per_minute, burst).unwrap(),
        }
    }

    #[test]
    fn a_burst_is_allowed_then_one_per_interval() {
        let rate = Rate::per_minute(60, 3).unwrap();
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(gcra(tat, 10_000, rate).unwrap());
        }
        assert_eq!(gcra(tat, 10_000, rate), Err(1000));
        assert_eq!(gcra(tat, 10_400, rate), Err(600));
        let after = gcra(tat, 11_000, rate).unwrap();
        assert_eq!(gcra(Some(after), 11_000, rate), Err(1000));
        // A long pause refills the burst, no more.
        let mut tat = Some(after);
        for _ in 0..3 {
            tat = Some(gcra(tat, 100_000, rate).unwrap());
        }
        assert!(gcra(tat, 100_000, rate).is_err());
    }

    #[test]
    fn units_are_taken_from_every_limit_or_from_none() {
        let limiter = LocalRateLimiter::default();
        let (visitor, address) = (limit("v", 60, 2), limit("a", 60, 3));
        let both = [visitor.clone(), address.clone()];
        assert_eq!(limiter.acquire_at(&both, 0), Admission::Allowed);
        assert_eq!(limiter.acquire_at(&both, 0), Admission::Allowed);
        assert_eq!(
            limiter.acquire_at(&both, 0),
            Admission::Limited {
                retry_after: Duration::from_secs(1)
            }
        );
        // The refused attempt took nothing from the address: one unit is left there.
        assert_eq!(
            limiter.acquire_at(std::slice::from_ref(&address), 0),
            Admission::Allowed
        );
        assert!(matches!(
            limiter.acquire_at(&[address], 0),
            Admission::Limited { .. }
        ));
        assert_eq!(limiter.acquire_at(&[visitor], 1000), Admission::Allowed);
    }

    #[test]
    fn reservations_queue_each_caller_at_its_own_instant_under_every_limit() {
        let limiter = LocalRateLimiter::default();
        let (token, chat) = (limit("token", 600, 1), limit("chat", 60, 2));
        let both = [token.clone(), chat.clone()];
        let any = u64::MAX;
        let waits: Vec<u64> = (0..4)
            .map(|_| limiter.reserve_at(&both, 0, 0, any).unwrap())
            .collect();
        // The token allows one every 100 ms; the chat two at once, then one a second.
        assert_eq!(waits, [0, 100, 1_000, 2_000]);
        assert_eq!(
            limiter.reserve_at(&both, 0, 0, 2_999),
            Err(3_000),
            "too far: nothing taken"
        );
        assert_eq!(
            limiter.reserve_at(std::slice::from_ref(&token), 0, 0, any),
            Ok(2_100)
        );
        // A platform's "retry after" pushes the reservation, and the ones after it.
        assert_eq!(
            limiter.reserve_at(std::slice::from_ref(&token), 0, 5_000, any),
            Ok(5_000)
        );
        assert_eq!(limiter.reserve_at(&[token], 5_000, 0, any), Ok(100));
        assert_eq!(
            limiter.acquire_at(&[chat], 2_500),
            Admission::Limited {
                retry_after: Duration::from_millis(500)
            },
            "acquire and reserve share the allowance"
        );
    }

    #[test]
    fn keys_with_a_whole_allowance_again_are_swept() {
        let limiter = LocalRateLimiter::default();
        for n in 0..FIRST_SWEEP - 1 {
            limiter.acquire_at(&[limit(&n.to_string(), 60, 1)], 0);
        }
        limiter.acquire_at(&[limit("late", 60, 1)], 5_000);
        let cells = limiter.state.lock().unwrap();
        assert_eq!(cells.tats.len(), 1, "only the key still spending is kept");
        assert_eq!(cells.next_sweep, FIRST_SWEEP);
    }

    #[tokio::test]
    async fn the_port_counts_on_the_process_clock() {
        let limiter = LocalRateLimiter::default();
        let once = [limit("k", 1, 1)];
        assert_eq!(limiter.acquire(&once).await, Admission::Allowed);
        let Admission::Limited { retry_after } = limiter.acquire(&once).await else {
            panic!("a second unit within the minute");
        };
        assert!(retry_after > Duration::from_secs(59), "{retry_after:?}");
    }
}
