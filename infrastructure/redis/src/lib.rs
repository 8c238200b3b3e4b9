//! Redis (deadpool-redis): fans domain events out to the other replicas over pub/sub, feeds
//! theirs into this process, keeps the rate limits every replica shares, and answers the
//! readiness probe.

mod envelope;
mod events;
mod health;
mod pool;
mod rate_limit;

pub use events::{RedisEvents, RedisPublisher};
pub use health::RedisHealth;
pub use rate_limit::RedisRateLimiter;

/// Why Redis could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct RedisSetupError(pub(crate) String);
