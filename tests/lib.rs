//! End-to-end test support: the whole server on port 0 against wiremock fakes of OpenAI and Telegram.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test-support crate: failing loudly is its job

#[path = "support/app.rs"]
pub mod app;
#[path = "support/fakes.rs"]
pub mod fakes;
#[path = "support/limited.rs"]
pub mod limited;
#[path = "support/process.rs"]
pub mod process;
#[path = "support/proxy.rs"]
pub mod proxy;
#[path = "support/streaming.rs"]
pub mod streaming;
#[path = "support/updates.rs"]
pub mod updates;
#[path = "support/wait.rs"]
pub mod wait;
#[path = "support/world.rs"]
pub mod world;

pub use app::{ShiftedClock, TestApp, TestConfig};
pub use wait::{poll_until, wait_for_empty_queue, wait_until, PATIENCE};
pub use world::TelegramWorld;

/// Runs `scenario` on a fresh SQLite database, and on a fresh PostgreSQL one when configured.
pub async fn on_each_database<F, Fut>(scenario: F)
where
    F: Fn(database::testing::TestDatabase) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in database::testing::fresh_databases().await {
        eprintln!("— on {}", db.backend());
        scenario(db).await;
    }
}
