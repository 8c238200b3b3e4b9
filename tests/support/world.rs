//! The Telegram test world: a fake model, a fake Telegram, the app on them and a bot bound to
//! Telegram, as most end-to-end tests start.

use crate::fakes::{FakeOpenAi, FakeTelegram};
use crate::{TestApp, TestConfig};
use serde_json::Value;
use std::sync::Arc;

pub struct TelegramWorld {
    pub openai: FakeOpenAi,
    pub telegram: FakeTelegram,
    /// What `app` was started with, for tests that start another process on it.
    pub config: TestConfig,
    pub app: TestApp,
    /// The id of a bot bound to Telegram (by webhook).
    pub bot: String,
}

impl TelegramWorld {
    /// The app on the test configuration, answered by `openai`; the bot has no fallback message.
    pub async fn start(database_url: &str, openai: FakeOpenAi) -> Self {
        Self::start_with(database_url, openai, |config| config, None).await
    }

    /// The app on what `configure` makes of the test configuration, answered by `openai`; the
    /// bot's fallback message is `fallback`.
    pub async fn start_with(
        database_url: &str,
        openai: FakeOpenAi,
        configure: impl FnOnce(TestConfig) -> TestConfig,
        fallback: Option<&str>,
    ) -> Self {
        let clock = Arc::new(application::ports::SystemClock);
        Self::start_on(database_url, openai, configure, fallback, clock).await
    }

    /// [`TelegramWorld::start_with`] on `clock`'s time.
    pub async fn start_on(
        database_url: &str,
        openai: FakeOpenAi,
        configure: impl FnOnce(TestConfig) -> TestConfig,
        fallback: Option<&str>,
        clock: Arc<dyn application::ports::Clock>,
    ) -> Self {
        let telegram = FakeTelegram::start().await;
        let config = configure(TestConfig::new(database_url, &openai, &telegram));
        let app = TestApp::spawn_with_clock(&config, clock).await;
        let bot = app.telegram_bot(fallback).await;
        Self {
            openai,
            telegram,
            config,
            app,
            bot,
        }
    }

    /// Posts `update` to the bot's webhook as Telegram would, and checks it was taken.
    pub async fn deliver(&self, update: &Value) {
        self.app.deliver(&self.bot, update).await;
    }

    /// Lifts the bot's default per-user rate limit, for tests that send a chat's messages
    /// faster than a person would.
    pub async fn without_rate_limits(&self) {
        let path = format!("/api/v1/bots/{}", self.bot);
        let body = serde_json::json!({"rate_limit": {"per_user": null}});
        let (status, answer) = self
            .app
            .admin(reqwest::Method::PATCH, &path, Some(body))
            .await;
        assert_eq!(status, 200, "{answer}");
    }

    /// The bot's stored messages.
    pub async fn messages(&self) -> Vec<Value> {
        self.app.messages_of(&self.bot).await
    }
}
