//! Rate limits shared by every replica: the generic cell rate algorithm in one Lua script, so
//! that the keys are read, checked and written atomically, on Redis's clock. While Redis is
//! away, the limits are kept in this process instead.

use crate::pool::pool;
use crate::RedisSetupError;
use application::ports::{Admission, Limit, RateLimiter};
use application::rate_limit::millis;
use application::LocalRateLimiter;
use async_trait::async_trait;
use deadpool_redis::redis;
use deadpool_redis::Pool;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Connections: one short script per message.
const POOL_SIZE: usize = 8;
/// How long a rate check may wait for Redis before the process's own limits answer it.
const CHECK_TIMEOUT: Duration = Duration::from_millis(500);
/// After a check Redis did not answer, how long the process's own limits answer alone.
const AWAY_FOR: Duration = Duration::from_secs(5);

/// GCRA over every key (`ARGV` holds each key's interval in ms and burst), all or none: the
/// keys' theoretical arrival times are stored only when every one allows, each expiring when
/// its allowance is whole again. Answers 0 when allowed, else the milliseconds to wait.
/// Millisecond instants (13 digits) survive Lua's `tostring` (14 significant digits) exactly.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
local next = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  next[i] = tat + interval
  local allowed_at = next[i] - interval * burst
  if now < allowed_at and allowed_at - now > wait then wait = allowed_at - now end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, tostring(next[i]), 'PX', tostring(next[i] - now))
end
return 0
";

/// Reserves a unit of every key (`ARGV[1]`: the ms it may not come before, `ARGV[2]` the most
/// ms ahead it may be; then each key's interval and tolerance in ms): the first instant every
/// key allows, each key's theoretical arrival time moved one interval past it. Answers the ms
/// from now to that instant, negated (and nothing taken) when it is too far.
const RESERVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = now + tonumber(ARGV[1])
local tats = {}
for i, key in ipairs(KEYS) do
  tats[i] = tonumber(redis.call('GET', key) or 0)
  local free = tats[i] - tonumber(ARGV[2 * i + 2])
  if free > at then at = free end
end
if at - now > tonumber(ARGV[2]) then return now - at end
for i, key in ipairs(KEYS) do
  local tat = tats[i]
  if tat < at then tat = at end
  tat = tat + tonumber(ARGV[2 * i + 1])
  redis.call('SET', key, tostring(tat), 'PX', tostring(tat - now))
end
return at - now
";

/// Allowances under `{prefix}:rate:{key}`: replicas sharing a prefix share them.
pub struct RedisRateLimiter {
    pool: Pool,
    prefix: String,
    /// Used while Redis does not answer.
    fallback: LocalRateLimiter,
    /// Until when Redis counts as away (after a check it did not answer).
    away_until: Mutex<Option<Instant>>,
}

impl RedisRateLimiter {
    /// Parses the URL and sets up the pool; nothing connects until used.
    pub fn new(url: &str, prefix: &str) -> Result<Self, RedisSetupError> {
        Ok(Self {
            pool: pool(url, POOL_SIZE)?,
            prefix: format!("{prefix}:rate:"),
            fallback: LocalRateLimiter::default(),
            away_until: Mutex::new(None),
        })
    }

    fn away(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.away_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `script` over the limits' keys; `Err` when Redis did not answer within [`CHECK_TIMEOUT`].
    async fn eval(&self, script: &str, limits: &[Limit], args: &[u64]) -> Result<i64, String> {
        let mut eval = redis::cmd("EVAL");
        eval.arg(script).arg(limits.len());
        for limit in limits {
            eval.arg(format!("{}{}", self.prefix, limit.key));
        }
        eval.arg(args);
        tokio::time::timeout(CHECK_TIMEOUT, async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            eval.query_async::<i64>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|_| "Redis did not answer in time".to_owned())?
    }

    /// Whether Redis counts as away: the process's own limits answer meanwhile.
    fn is_away(&self) -> bool {
        self.away().is_some_and(|until| Instant::now() < until)
    }

    /// Notes that Redis did not answer.
    fn went_away(&self, error: &str) {
        tracing::warn!(%error, "Redis is away: rate limits are kept in this process for a while");
        *self.away() = Some(Instant::now() + AWAY_FOR);
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn acquire(&self, limits: &[Limit]) -> Admission {
        if limits.is_empty() {
            return Admission::Allowed;
        }
        if self.is_away() {
            return self.fallback.acquire(limits).await;
        }
        let rates = limits.iter().flat_map(|limit| {
            let rate = limit.rate;
            [rate.interval_ms(), u64::from(rate.burst)]
        });
        match self.eval(GCRA, limits, &rates.collect::<Vec<u64>>()).await {
            Ok(0) => Admission::Allowed,
            Ok(wait) => Admission::Limited {
                retry_after: Duration::from_millis(wait.unsigned_abs()),
            },
            Err(error) => {
                self.went_away(&error);
                self.fallback.acquire(limits).await
            }
        }
    }

    async fn reserve(
        &self,
        limits: &[Limit],
        not_before: Duration,
        within: Duration,
    ) -> Result<Duration, Duration> {
        if self.is_away() {
            return self.fallback.reserve(limits, not_before, within).await;
        }
        // Lua numbers hold integers exactly up to 2^53: "any time ahead" is capped there.
        let within_ms = millis(within).min(1 << 53);
        let rates = limits.iter().flat_map(|limit| {
            let rate = limit.rate;
            [rate.interval_ms(), rate.tolerance_ms()]
        });
        let args: Vec<u64> = [millis(not_before), within_ms]
            .into_iter()
            .chain(rates)
            .collect();
        match self.eval(RESERVE, limits, &args).await {
            Ok(wait) if wait >= 0 => Ok(Duration::from_millis(wait.unsigned_abs())),
            Ok(too_far) => Err(Duration::from_millis(too_far.unsigned_abs())),
            Err(error) => {
                self.went_away(&error);
                self.fallback.reserve(limits, not_before, within).await
            }
        }
    }
}
