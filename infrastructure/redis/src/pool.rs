//! The connection pools: each part of the adapter has its own, so that a backlog of events
//! never delays a rate check.

use crate::RedisSetupError;
use deadpool_redis::{Config, Pool, PoolConfig, Runtime, Timeouts};
use std::time::Duration;

/// How long a connection may take to open or be handed out; a Redis that does not answer
/// within it counts as away.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// A pool of `size` connections to `url`; nothing connects until used.
pub fn pool(url: &str, size: usize) -> Result<Pool, RedisSetupError> {
    let mut config = Config::from_url(url);
    let mut pool = PoolConfig::new(size);
    pool.timeouts = Timeouts {
        wait: Some(REDIS_TIMEOUT),
        create: Some(REDIS_TIMEOUT),
        recycle: Some(REDIS_TIMEOUT),
    };
    config.pool = Some(pool);
    config
        .create_pool(Some(Runtime::Tokio1))
        .map_err(|e| RedisSetupError(e.to_string()))
}
