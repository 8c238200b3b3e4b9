//! The wake-up port: tells the dispatcher that jobs may have become runnable, so that it claims at once instead of waiting for its next poll.

use async_trait::async_trait;

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Wakeups: Send + Sync {
    /// Resolves at the next signal: an enqueue in this process or (PostgreSQL `NOTIFY`) on any
    /// replica, or a reconnect after which a signal may have been missed. Signals given while
    /// nobody waited are kept, as one.
    async fn next(&self);
}
