//! The timer port: lets a use case wait for a while without naming an async runtime.

use async_trait::async_trait;
use std::time::Duration;

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Timer: Send + Sync {
    /// Resolves once `duration` has passed.
    async fn sleep(&self, duration: Duration);
}
