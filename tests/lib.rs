//! End-to-end test support: the whole server on port 0 against wiremock fakes of OpenAI and Telegram.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test-support crate: failing loudly is its job

#[path = "support/app.rs"]
pub mod app;
#[path = "support/fakes.rs"]
pub mod fakes;
#[path = "support/process.rs"]
pub mod process;
#[path = "support/proxy.rs"]
pub mod proxy;
#[path = "support/updates.rs"]
pub mod updates;

pub use app::{TestApp, TestConfig};
