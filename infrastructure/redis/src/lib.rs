//! Redis (deadpool-redis): fans domain events out to the other replicas over pub/sub, feeds
//! theirs into this process, and answers the readiness probe.

mod envelope;
mod events;
mod health;

pub use events::{RedisEvents, RedisPublisher};
pub use health::RedisHealth;

/// Why Redis could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct RedisSetupError(String);
