//! End-to-end tests: the whole server on port 0, fresh databases, fake OpenAI and Telegram.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod reliability;
mod telegram;

use database::testing::{fresh_databases, TestDatabase};
use std::future::Future;
use std::time::Duration;

/// Long enough for any delivery on a loaded CI machine; waits end as soon as the condition holds.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Runs `scenario` on SQLite, and on PostgreSQL when configured.
pub async fn on_each_database<F, Fut>(scenario: F)
where
    F: Fn(TestDatabase) -> Fut,
    Fut: Future<Output = ()>,
{
    for db in fresh_databases().await {
        eprintln!("— on {}", db.backend());
        scenario(db).await;
    }
}
