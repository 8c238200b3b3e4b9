//! A running Switchboard for one test: port 0, its own database, fakes for OpenAI and Telegram.

use crate::fakes::{FakeOpenAi, FakeTelegram};
use crate::process::ServerProcess;
use crate::wait::poll_until;
use application::ports::{Clock, SystemClock};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use switchboard::{Mode, Running, Settings};

pub const ADMIN_KEY: &str = "sb_test_bootstrap_admin_key";
pub const BOT_TOKEN: &str = "123456:TEST-token-DEF1234ghIkl-zyx57W2v1u";
pub const SECRET: &str = "webhook-secret_1";

/// Where the app's outside world is, and any further `SWITCHBOARD__…` settings.
#[derive(Debug, Clone)]
pub struct TestConfig {
    pub database_url: String,
    pub openai_url: String,
    pub telegram_url: String,
    pub extra: Vec<(&'static str, String)>,
    /// Test defaults left out, so that the server's own defaults apply.
    pub removed: Vec<&'static str>,
}

/// The pacing settings the tests turn off (0) unless [`TestConfig::paced`].
const UNPACED: [&str; 8] = [
    "SWITCHBOARD__PACING__TELEGRAM_CHAT_PER_MINUTE",
    "SWITCHBOARD__PACING__TELEGRAM_GROUP_PER_MINUTE",
    "SWITCHBOARD__PACING__TELEGRAM_BOT_PER_SECOND",
    "SWITCHBOARD__PACING__DISCORD_CHANNEL_PER_MINUTE",
    "SWITCHBOARD__PACING__DISCORD_BOT_PER_SECOND",
    "SWITCHBOARD__PACING__WHATSAPP_USER_PER_MINUTE",
    "SWITCHBOARD__PACING__WHATSAPP_NUMBER_PER_SECOND",
    "SWITCHBOARD__PACING__MESSENGER_PAGE_PER_SECOND",
];

impl TestConfig {
    /// The app on `database_url`, talking to the given fakes.
    pub fn new(database_url: &str, openai: &FakeOpenAi, telegram: &FakeTelegram) -> Self {
        Self::with_urls(database_url, &openai.url(), &telegram.url())
    }

    /// The app on `database_url`, with the OpenAI and Telegram APIs at these base URLs.
    pub fn with_urls(database_url: &str, openai_url: &str, telegram_url: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            openai_url: openai_url.to_owned(),
            telegram_url: telegram_url.to_owned(),
            extra: Vec::new(),
            removed: Vec::new(),
        }
    }

    /// Keeps the server's outbound pacing (the tests leave it off, so that one chat's replies
    /// are not a second apart): for the pacing tests, and for binaries older than pacing.
    pub fn paced(mut self) -> Self {
        for key in UNPACED {
            self = self.without(key);
        }
        self
    }

    pub fn with(mut self, key: &'static str, value: impl ToString) -> Self {
        self.extra.push((key, value.to_string()));
        self
    }

    /// Leaves `key` out of the test defaults (such as the fast worker poll) and of the settings
    /// added so far: the server's own default applies.
    pub fn without(mut self, key: &'static str) -> Self {
        self.extra.retain(|(k, _)| *k != key);
        self.removed.push(key);
        self
    }

    /// The settings as `SWITCHBOARD__…` environment variables.
    pub fn env(&self) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = [
            ("SWITCHBOARD__SERVER__HOST", "127.0.0.1".to_owned()),
            ("SWITCHBOARD__SERVER__PORT", "0".to_owned()),
            (
                "SWITCHBOARD__SERVER__SHUTDOWN_GRACE_SECONDS",
                "2".to_owned(),
            ),
            ("SWITCHBOARD__DATABASE__URL", self.database_url.clone()),
            ("SWITCHBOARD__AI__BASE_URL", self.openai_url.clone()),
            ("SWITCHBOARD__AI__API_KEY", "sk-test".to_owned()),
            ("SWITCHBOARD__AI__MODEL", "test-model".to_owned()),
            ("SWITCHBOARD__TELEGRAM__API_URL", self.telegram_url.clone()),
            (
                "SWITCHBOARD__SECURITY__BOOTSTRAP_API_KEY",
                ADMIN_KEY.to_owned(),
            ),
            ("SWITCHBOARD__WORKER__POLL_INTERVAL_MS", "50".to_owned()),
            ("SWITCHBOARD__WORKER__RETRY_BASE_MS", "50".to_owned()),
            ("SWITCHBOARD__WORKER__RETRY_CAP_SECONDS", "1".to_owned()),
            ("SWITCHBOARD__LOG__LEVEL", "warn".to_owned()),
        ]
        .into_iter()
        .chain(UNPACED.map(|key| (key, "0".to_owned())))
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for key in &self.removed {
            env.remove(*key);
        }
        env.extend(self.extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        env
    }

    pub fn settings(&self) -> Settings {
        Settings::load(None, &self.env()).expect("test settings are valid")
    }
}

/// The system's time moved on by as many seconds as the test says: "the next day" without
/// waiting for it.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    seconds: AtomicI64,
}

impl ShiftedClock {
    pub fn advance(&self, by: chrono::Duration) {
        self.seconds.fetch_add(by.num_seconds(), Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.seconds.load(Ordering::SeqCst))
    }
}

/// Where the app runs: inside the test process, or as a `switchboard` child process.
enum Server {
    InProcess(Running),
    Process(ServerProcess),
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    server: Option<Server>,
}

impl TestApp {
    pub async fn spawn(config: &TestConfig) -> Self {
        Self::spawn_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`TestApp::spawn`] on `clock`'s time.
    pub async fn spawn_with_clock(config: &TestConfig, clock: Arc<dyn Clock>) -> Self {
        let settings = config.settings();
        switchboard::telemetry::init(&settings.log);
        let running = switchboard::start_with_clock(&settings, Mode::Serve, clock)
            .await
            .expect("the app starts");
        let addr = running.addr.expect("serve listens");
        Self::at(addr, Server::InProcess(running))
    }

    /// Starts `binary serve` as a child process with the config's settings.
    pub fn spawn_process(binary: &Path, config: &TestConfig) -> Self {
        let process = ServerProcess::spawn(binary, &config.env());
        Self::at(process.addr, Server::Process(process))
    }

    fn at(addr: SocketAddr, server: Server) -> Self {
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            server: Some(server),
        }
    }

    /// A subscription to the app's domain events, from now on (in-process apps only).
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<domain::PublishedEvent> {
        self.bus().subscribe()
    }

    /// Announces `event` as the pipeline would (in-process apps only).
    pub fn publish(&self, event: domain::DomainEvent) {
        application::ports::EventPublisher::publish(self.bus().as_ref(), event);
    }

    fn bus(&self) -> &std::sync::Arc<switchboard::events::EventBus> {
        match &self.server {
            Some(Server::InProcess(running)) => &running.events,
            _ => panic!("events are only observable in-process"),
        }
    }

    /// Shuts down gracefully (a child process by SIGTERM); returns whether it exited cleanly.
    pub async fn stop(mut self) -> bool {
        match self.server.take() {
            Some(Server::InProcess(running)) => {
                running.shutdown().await;
                true
            }
            Some(Server::Process(process)) => {
                let status = tokio::task::spawn_blocking(move || process.terminate()).await;
                status.is_ok_and(|s| s.success())
            }
            None => true,
        }
    }

    /// Stops abruptly, as a crash would: claimed jobs keep their leases until they expire.
    pub async fn kill(mut self) {
        match self.server.take() {
            Some(Server::InProcess(running)) => running.kill().await,
            Some(Server::Process(process)) => drop(process),
            None => {}
        }
    }

    /// What the child process logged so far (empty for an app in this process).
    pub fn log(&self) -> Vec<String> {
        match &self.server {
            Some(Server::Process(process)) => process.log(),
            _ => Vec::new(),
        }
    }

    /// The child process's id, if the app runs as one.
    pub fn pid(&self) -> Option<u32> {
        match &self.server {
            Some(Server::Process(process)) => Some(process.pid()),
            _ => None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An admin API request with the bootstrap key, for the caller to complete and send.
    pub fn admin_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(ADMIN_KEY)
    }

    /// An admin API call with the bootstrap key; returns the status and the JSON body.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.admin_request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn create_bot(&self, name: &str, fallback: Option<&str>) -> String {
        let body = json!({"name": name, "system_prompt": "You are a test bot.", "fallback_message": fallback});
        let (status, bot) = self
            .admin(reqwest::Method::POST, "/api/v1/bots", Some(body))
            .await;
        assert_eq!(status, 201, "create bot: {bot}");
        bot["id"].as_str().expect("bot id").to_owned()
    }

    pub async fn bind_telegram(&self, bot_id: &str) {
        let body = json!({"token": BOT_TOKEN, "secret_token": SECRET});
        let path = format!("/api/v1/bots/{bot_id}/platforms/telegram");
        let (status, binding) = self.admin(reqwest::Method::PUT, &path, Some(body)).await;
        assert_eq!(status, 200, "bind telegram: {binding}");
    }

    /// A bot bound to Telegram, ready to receive updates.
    pub async fn telegram_bot(&self, fallback: Option<&str>) -> String {
        let bot_id = self.create_bot("Test bot", fallback).await;
        self.bind_telegram(&bot_id).await;
        bot_id
    }

    /// Posts an update as Telegram would, with `secret` in the secret-token header if given.
    pub async fn post_update(
        &self,
        bot_id: &str,
        secret: Option<&str>,
        update: &Value,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(&format!("/webhooks/telegram/{bot_id}")))
            .json(update);
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        request.send().await.expect("webhook request")
    }

    /// Posts an update with the right secret and expects it acknowledged.
    pub async fn deliver(&self, bot_id: &str, update: &Value) {
        let response = self.post_update(bot_id, Some(SECRET), update).await;
        assert_eq!(
            response.status().as_u16(),
            200,
            "webhook refused: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Asserts that each body sent to `path` with `method` is a 422 naming its field.
    pub async fn assert_refusals(
        &self,
        method: reqwest::Method,
        path: &str,
        cases: &[(Value, &str)],
    ) {
        for (body, field) in cases {
            let (status, problem) = self.admin(method.clone(), path, Some(body.clone())).await;
            assert_eq!(
                (status, problem["field"].as_str()),
                (422, Some(*field)),
                "{body}: {problem}"
            );
        }
    }

    /// Lifts the bot's default per-user rate limit, for tests that send a chat's messages
    /// faster than a person would.
    pub async fn lift_rate_limits(&self, bot_id: &str) {
        let path = format!("/api/v1/bots/{bot_id}");
        let body = serde_json::json!({"rate_limit": {"per_user": null}});
        let (status, answer) = self.admin(reqwest::Method::PATCH, &path, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
    }

    /// Every stored message of the bot's conversations, oldest conversation first.
    pub async fn messages_of(&self, bot_id: &str) -> Vec<Value> {
        let (status, conversations) = self
            .admin(
                reqwest::Method::GET,
                &format!("/api/v1/conversations?bot_id={bot_id}&limit=200"),
                None,
            )
            .await;
        assert_eq!(status, 200, "listing conversations: {conversations}");
        let mut all = Vec::new();
        for conversation in conversations["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .rev()
        {
            let id = conversation["id"].as_str().expect("conversation id");
            let (status, page) = self
                .admin(
                    reqwest::Method::GET,
                    &format!("/api/v1/conversations/{id}/messages?limit=200"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "listing messages: {page}");
            all.extend(page["items"].as_array().cloned().unwrap_or_default());
        }
        all
    }

    /// Waits until the bot has `count` stored messages with `status`, then returns all of its
    /// messages; panics when they do not within `timeout`.
    pub async fn wait_for_status(
        &self,
        bot_id: &str,
        status: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<Value> {
        let what = format!("{count} messages {status}");
        poll_until(timeout, &what, || async {
            let messages = self.messages_of(bot_id).await;
            let matching = messages.iter().filter(|m| m["status"] == status).count();
            (matching >= count).then_some(messages)
        })
        .await
    }
}
