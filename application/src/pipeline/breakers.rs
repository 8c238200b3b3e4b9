//! Circuit breakers, one per model provider and per platform bot token, kept by this replica: after consecutive failures or a failure rate over a window a breaker opens and the jobs that need it wait; once it half-opens one call probes, and its outcome closes or reopens it.

use crate::observability::metrics;
use crate::ports::Clock;
use chrono::{DateTime, TimeDelta, Utc};
use domain::{BotId, PlatformKind, ProviderId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Failures in a row that open it; 0: never on a streak.
    pub consecutive_failures: u32,
    /// The share of failed calls in a window (of at least `minimum_calls`) that opens it;
    /// 0: never on a rate.
    pub failure_rate_percent: u32,
    pub minimum_calls: u32,
    pub window: Duration,
    /// How long it stays open before a probe is let through.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            failure_rate_percent: 50,
            minimum_calls: 20,
            window: Duration::from_secs(60),
            open_for: Duration::from_secs(30),
        }
    }
}

/// What a breaker guards: a model provider (`None`: the server's `ai.*`), or one bot's token
/// on a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Guarded {
    Provider(Option<ProviderId>),
    Platform(PlatformKind, BotId),
}

impl fmt::Display for Guarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Provider(None) => f.write_str("provider:default"),
            Self::Provider(Some(id)) => write!(f, "provider:{id}"),
            Self::Platform(kind, bot) => write!(f, "{}:{bot}", kind.as_str()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    /// Calls wait until `until`.
    Open {
        until: DateTime<Utc>,
    },
    /// One probe is out since `since`; the other calls wait for its outcome.
    HalfOpen {
        since: DateTime<Utc>,
    },
}

impl State {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open { .. } => "open",
            Self::HalfOpen { .. } => "half_open",
        }
    }

    /// The metric's value: 0 closed, 1 half-open, 2 open.
    fn level(&self) -> u8 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen { .. } => 1,
            Self::Open { .. } => 2,
        }
    }
}

/// One breaker's figures, as `GET /api/v1/status` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerStatus {
    pub name: String,
    pub state: State,
    pub consecutive_failures: u32,
    /// Calls and failures in the current window.
    pub calls: u32,
    pub failures: u32,
}

#[derive(Debug, Clone, Copy)]
struct Breaker {
    state: State,
    streak: u32,
    window_start: DateTime<Utc>,
    calls: u32,
    failures: u32,
}

impl Breaker {
    fn new(now: DateTime<Utc>) -> Self {
        Self {
            state: State::Closed,
            streak: 0,
            window_start: now,
            calls: 0,
            failures: 0,
        }
    }

    /// Counts a call's outcome; the new state when it changed.
    fn record(
        &mut self,
        ok: bool,
        now: DateTime<Utc>,
        settings: &BreakerSettings,
    ) -> Option<State> {
        if now - self.window_start > delta(settings.window) {
            (self.window_start, self.calls, self.failures) = (now, 0, 0);
        }
        self.calls += 1;
        self.failures += u32::from(!ok);
        self.streak = if ok { 0 } else { self.streak + 1 };
        let next = match (self.state, ok) {
            (State::HalfOpen { .. }, true) => State::Closed,
            (State::HalfOpen { .. }, false) => open_from(now, settings),
            (State::Closed, false) if self.trips(settings) => open_from(now, settings),
            _ => return None,
        };
        if next == State::Closed {
            (self.window_start, self.calls, self.failures) = (now, 0, 0);
        }
        self.state = next;
        Some(next)
    }

    fn trips(&self, settings: &BreakerSettings) -> bool {
        let streak =
            settings.consecutive_failures > 0 && self.streak >= settings.consecutive_failures;
        let rate = settings.failure_rate_percent > 0
            && self.calls >= settings.minimum_calls.max(1)
            && self.failures * 100 >= settings.failure_rate_percent * self.calls;
        streak || rate
    }

    /// Lets a call through, or says until when it waits. An open breaker whose time is up
    /// lets this call through as its probe; a probe that never reported (its job was lost)
    /// is replaced after `open_for`.
    fn permit(
        &mut self,
        now: DateTime<Utc>,
        settings: &BreakerSettings,
    ) -> Result<Option<State>, DateTime<Utc>> {
        let retry = now + delta(settings.open_for);
        match self.state {
            State::Closed => Ok(None),
            State::Open { until } if now < until => Err(until),
            State::HalfOpen { since } if now - since < delta(settings.open_for) => {
                Err((since + delta(settings.open_for)).min(retry))
            }
            State::Open { .. } | State::HalfOpen { .. } => {
                self.state = State::HalfOpen { since: now };
                Ok(Some(self.state))
            }
        }
    }
}

fn open_from(now: DateTime<Utc>, settings: &BreakerSettings) -> State {
    State::Open {
        until: now + delta(settings.open_for),
    }
}

/// The time from `now` to `until`; zero once passed.
fn until_from(now: DateTime<Utc>, until: DateTime<Utc>) -> Duration {
    (until - now).to_std().unwrap_or_default()
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// This replica's breakers, created on first use.
pub struct Breakers {
    settings: BreakerSettings,
    clock: Arc<dyn Clock>,
    breakers: Mutex<HashMap<Guarded, Breaker>>,
}

impl Breakers {
    pub fn new(settings: BreakerSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            settings,
            clock,
            breakers: Mutex::new(HashMap::new()),
        }
    }

    fn with<T>(&self, guarded: Guarded, f: impl FnOnce(&mut Breaker, DateTime<Utc>) -> T) -> T {
        let now = self.clock.now();
        let mut breakers = self
            .breakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let breaker = breakers.entry(guarded).or_insert_with(|| Breaker::new(now));
        f(breaker, now)
    }

    /// `Ok` when a call may go (perhaps as the probe); else how long until it may be tried.
    pub fn permit(&self, guarded: Guarded) -> Result<(), Duration> {
        let permitted = self.with(guarded, |breaker, now| {
            breaker
                .permit(now, &self.settings)
                .map_err(|until| until_from(now, until))
        });
        let changed = permitted?;
        if let Some(state) = changed {
            tracing::info!(breaker = %guarded, "circuit breaker half-open: one call probes");
            metrics::breaker_state(&guarded.to_string(), state.level());
        }
        Ok(())
    }

    /// Counts a call that reached the service (`ok`) or found it down; while the breaker is
    /// open after it, how long until it lets a probe through.
    pub fn record(&self, guarded: Guarded, ok: bool) -> Option<Duration> {
        let (changed, open_for) = self.with(guarded, |breaker, now| {
            let changed = breaker.record(ok, now, &self.settings);
            let open_for = match breaker.state {
                State::Open { until } => Some(until_from(now, until)),
                _ => None,
            };
            (changed, open_for)
        });
        match changed {
            Some(State::Open { until }) => {
                tracing::warn!(breaker = %guarded, %until, "circuit breaker open: calls wait");
            }
            Some(State::Closed) => tracing::info!(breaker = %guarded, "circuit breaker closed"),
            _ => {}
        }
        if let Some(state) = changed {
            metrics::breaker_state(&guarded.to_string(), state.level());
        }
        open_for
    }

    /// Every breaker this replica has used, by name.
    pub fn statuses(&self) -> Vec<BreakerStatus> {
        let breakers = self
            .breakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut statuses: Vec<BreakerStatus> = breakers
            .iter()
            .map(|(guarded, breaker)| BreakerStatus {
                name: guarded.to_string(),
                state: breaker.state,
                consecutive_failures: breaker.streak,
                calls: breaker.calls,
                failures: breaker.failures,
            })
            .collect();
        statuses.sort_by(|a, b| a.name.cmp(&b.name));
        statuses
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockClock;
    use std::sync::atomic::{AtomicI64, Ordering::SeqCst};

    /// Breakers on a clock the test moves, in seconds.
    fn breakers(settings: BreakerSettings) -> (Breakers, Arc<AtomicI64>) {
        let seconds = Arc::new(AtomicI64::new(0));
        let at = seconds.clone();
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(move || DateTime::from_timestamp(at.load(SeqCst), 0).unwrap());
        (Breakers::new(settings, Arc::new(clock)), seconds)
    }

    const MODEL: Guarded = Guarded::Provider(None);

    fn secs(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    #[test]
    fn a_streak_of_failures_opens_it_and_one_probe_closes_it() {
        let (breakers, clock) = breakers(BreakerSettings::default());
        for _ in 0..4 {
            assert_eq!(breakers.record(MODEL, false), None, "still closed");
        }
        assert_eq!(breakers.record(MODEL, false), Some(secs(30)), "open");
        clock.store(10, SeqCst);
        assert_eq!(breakers.permit(MODEL), Err(secs(20)));
        clock.store(30, SeqCst);
        assert_eq!(breakers.permit(MODEL), Ok(()), "the probe");
        assert!(breakers.permit(MODEL).is_err(), "the others wait for it");
        assert_eq!(breakers.record(MODEL, true), None, "closed");
        assert_eq!(breakers.permit(MODEL), Ok(()));
        assert_eq!(breakers.statuses()[0].state, State::Closed);
    }

    #[test]
    fn a_failed_probe_reopens_it_and_a_lost_one_is_replaced() {
        let (breakers, clock) = breakers(BreakerSettings {
            consecutive_failures: 1,
            ..BreakerSettings::default()
        });
        breakers.record(MODEL, false);
        clock.store(30, SeqCst);
        breakers.permit(MODEL).unwrap();
        assert_eq!(breakers.record(MODEL, false), Some(secs(30)), "open again");
        let until = DateTime::from_timestamp(60, 0).unwrap();
        assert_eq!(breakers.statuses()[0].state, State::Open { until });
        clock.store(60, SeqCst);
        breakers.permit(MODEL).unwrap();
        clock.store(89, SeqCst);
        assert_eq!(
            breakers.permit(MODEL),
            Err(secs(1)),
            "the probe is still out"
        );
        clock.store(90, SeqCst);
        assert_eq!(breakers.permit(MODEL), Ok(()), "a lost probe is replaced");
    }

    #[test]
    fn a_failure_rate_over_the_window_opens_it_and_a_new_window_starts_afresh() {
        let (breakers, clock) = breakers(BreakerSettings {
            consecutive_failures: 0,
            minimum_calls: 4,
            ..BreakerSettings::default()
        });
        let platform = Guarded::Platform(PlatformKind::Telegram, BotId::new());
        for ok in [true, false, true] {
            breakers.record(platform, ok);
        }
        clock.store(61, SeqCst);
        for ok in [false, true, false, true] {
            assert_eq!(breakers.record(platform, ok), None, "a new window");
        }
        assert_eq!(breakers.record(platform, false), Some(secs(30)));
        let status = &breakers.statuses()[0];
        assert_eq!((status.calls, status.failures), (5, 3));
        assert!(status.name.starts_with("telegram:"));
        assert_eq!(breakers.permit(MODEL), Ok(()), "each breaker is its own");
    }
}
