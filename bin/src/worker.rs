//! The job dispatcher's runtime side: tokio's tasks, timer and the in-process wake-up signal behind the application's ports.

use application::ports::{Spawner, Timer, Wakeups};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Wake-ups on a [`Notify`]: on PostgreSQL the database listener rings it for every replica's
/// enqueues (this one's included); on SQLite the event bus, for this process's.
pub struct NotifyWakeups(pub Arc<Notify>);

#[async_trait]
impl Wakeups for NotifyWakeups {
    async fn next(&self) {
        self.0.notified().await;
    }
}

/// The timer port on tokio's clock.
pub struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Tasks on the tokio runtime the process runs on.
pub struct TokioSpawner;

impl Spawner for TokioSpawner {
    fn spawn(&self, task: futures::future::BoxFuture<'static, ()>) {
        tokio::spawn(task);
    }
}
