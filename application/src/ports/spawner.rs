//! The spawner port: runs a future as a task of its own, without naming an async runtime.

use futures::future::BoxFuture;

pub trait Spawner: Send + Sync {
    /// Starts `task` in the background; it runs to its end (or until it is aborted).
    fn spawn(&self, task: BoxFuture<'static, ()>);
}
