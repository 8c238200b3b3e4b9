//! Test support: the application on a fresh SQLite store with a key of each role, outages
//! where a test needs one, and request and problem helpers.

mod fakes;
mod outages;
mod seed;

pub use fakes::FixedCheck;
pub use seed::api_key;

use fakes::{FakeTelegram, NoEvents, StoredClock, TokioTimer};
use outages::{Outage, WatchedLedger};

use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::web;
use application::breakers::Breakers;
use application::ports::{Channel, Channels, HealthCheck, TraceContext};
use application::{
    Intake, IntakeSettings, LocalRateLimiter, Scrape, VisitorTokens, WebChatSettings,
};
use database::testing::{fresh_sqlite, TestDatabase};
use database::SeaStore;
use domain::Role;
use presentation::{AppState, HttpSettings, StatePorts, StateSettings, StateStores, WebhookBodies};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

pub const ADMIN_KEY: &str = "sb_a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";
pub const OPERATOR_KEY: &str =
    "sb_b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";
pub const VIEWER_KEY: &str = "sb_c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2";
pub const TELEGRAM_TOKEN: &str = "123456:very-secret-bot-token-DEF1234ghIkl-zyx57W";
pub const TELEGRAM_SECRET: &str = "webhook-secret_42";
/// The verify token of the Messenger and WhatsApp bindings of [`TestApp::seed_meta_bound_bot`].
pub const META_VERIFY_TOKEN: &str = "meta-verify_42";

/// How long the REST channel waits in these tests, with no worker to answer.
pub const REPLY_WAIT: Duration = Duration::from_millis(50);

/// How to build a test application.
#[derive(Default)]
pub struct Options {
    pub public_url: Option<String>,
    pub refuse_webhook: bool,
    pub checks: Vec<FixedCheck>,
    pub settings: HttpSettings,
    pub metrics: Option<Arc<Scrape>>,
    pub trace: Option<Arc<dyn TraceContext>>,
}

/// The application under test on its own database, and handles on the store behind it.
pub struct TestApp {
    pub data: web::Data<AppState>,
    pub settings: HttpSettings,
    /// The real store, to seed and read back.
    pub store: Arc<SeaStore>,
    /// The bindings the application uses, which can be made unavailable.
    pub bindings: Arc<Outage>,
    /// The summaries the application uses, which can be made unavailable.
    pub summaries: Arc<Outage>,
    /// The ledger the application writes to, watched.
    pub ledger: Arc<WatchedLedger>,
    /// The webhook route's intake writer, to see what waits for it.
    pub intake: Intake,
    /// Removed when the application drops.
    _database: TestDatabase,
}

/// A response, its body parsed as JSON (`Null` when empty).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub raw: String,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The ports that are not stores: a Telegram-like channel alone, no events, the store's clock
/// and tokio's timer.
fn ports(options: Options) -> StatePorts {
    let telegram: Arc<dyn Channel> = Arc::new(FakeTelegram {
        refuse_webhook: options.refuse_webhook,
    });
    let checks = options.checks.into_iter();
    StatePorts {
        channels: Channels::new([telegram]),
        publisher: Arc::new(NoEvents),
        subscriber: Arc::new(NoEvents),
        clock: Arc::new(StoredClock),
        timer: Arc::new(TokioTimer),
        limiter: Arc::new(LocalRateLimiter::default()),
        breakers: Arc::new(Breakers::new(Default::default(), Arc::new(StoredClock))),
        health: checks
            .map(|c| Arc::new(c) as Arc<dyn HealthCheck>)
            .collect(),
        metrics: options.metrics,
        trace: options.trace,
    }
}

fn state_settings(public_url: Option<String>) -> StateSettings {
    StateSettings {
        public_url,
        bootstrap_api_key: None,
        visitor_tokens: VisitorTokens::random(),
        link_secret: None,
        web_chat: WebChatSettings {
            reply_wait: REPLY_WAIT,
            ..WebChatSettings::default()
        },
        max_recipients: application::broadcast::DEFAULT_MAX_RECIPIENTS,
        allow_private_webhooks: false,
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(Options::default()).await
    }

    pub async fn with(mut options: Options) -> Self {
        let database = fresh_sqlite();
        let store = Arc::new(database.store().await);
        let bindings = Arc::new(Outage::new(store.clone()));
        let summaries = Arc::new(Outage::new(store.clone()));
        let ledger = Arc::new(WatchedLedger::new(store.clone()));
        // The writer runs on the test's runtime until the app (every intake handle) is dropped.
        let (intake, writer) = Intake::new(ledger.clone(), IntakeSettings::default());
        tokio::spawn(writer.run());
        let stores = StateStores {
            bindings: bindings.clone(),
            summaries: summaries.clone(),
            ledger: ledger.clone(),
            ..StateStores::all(store.clone(), intake.clone())
        };
        let settings = std::mem::take(&mut options.settings);
        let public_url = options.public_url.take();
        let state = AppState::new(stores, ports(options), state_settings(public_url));
        let app = Self {
            data: web::Data::new(state),
            settings,
            store,
            bindings,
            summaries,
            ledger,
            intake,
            _database: database,
        };
        app.seed_roles().await;
        app
    }

    /// A key of each role: [`ADMIN_KEY`], [`OPERATOR_KEY`] and [`VIEWER_KEY`].
    async fn seed_roles(&self) {
        for (secret, role) in [
            (ADMIN_KEY, Role::Admin),
            (OPERATOR_KEY, Role::Operator),
            (VIEWER_KEY, Role::Viewer),
        ] {
            self.seed_key(&api_key(secret, role)).await;
        }
    }

    /// Serves one request through the full application (middleware included).
    pub async fn send(&self, request: TestRequest) -> Reply {
        let bodies = presentation::WebhookBodies::new(self.settings.max_webhook_bodies);
        self.send_with_bodies(bodies, request).await
    }

    /// [`TestApp::send`] with the webhook body slots given, to see them run out.
    pub async fn send_with_bodies(&self, bodies: WebhookBodies, request: TestRequest) -> Reply {
        let app =
            test::init_service(presentation::app(self.data.clone(), &self.settings, bodies)).await;
        let response = test::call_service(&app, request.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = test::read_body(response).await;
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            raw,
            body,
        }
    }

    /// Sends `request` with the given key as a bearer token.
    pub async fn as_key(&self, key: &str, request: TestRequest) -> Reply {
        self.send(request.insert_header(("Authorization", format!("Bearer {key}"))))
            .await
    }

    pub async fn admin(&self, request: TestRequest) -> Reply {
        self.as_key(ADMIN_KEY, request).await
    }

    /// Write attempts on the ledger so far (each inbound record is one).
    pub fn ledger_calls(&self) -> usize {
        self.ledger.calls()
    }
}

/// Asserts the contract of every error: status, problem+json, stable code, and a request id equal
/// to the `X-Request-Id` header.
pub fn assert_problem(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "body: {}", reply.raw);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "body: {}",
        reply.raw
    );
    let body = &reply.body;
    assert_eq!(body["code"], code, "body: {}", reply.raw);
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().is_some_and(|t| t.ends_with(code)));
    assert!(body["title"].is_string());
    assert!(body["detail"].is_string());
    let id = reply
        .header("x-request-id")
        .expect("an X-Request-Id header");
    assert!(!id.is_empty());
    assert_eq!(body["request_id"], id, "body: {}", reply.raw);
}

/// Asserts a 422 `invalid_field` problem naming `field` first: in `field`, in `errors` and in
/// `detail`.
pub fn assert_invalid_field(reply: &Reply, field: &str) {
    assert_problem(reply, 422, "invalid_field");
    assert_eq!(reply.body["field"], field, "{}", reply.raw);
    assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.raw);
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(detail.starts_with(field), "{}", reply.raw);
}

/// Asserts a 422 problem naming exactly `fields` (in name order), each with a reason, each in
/// `detail`.
pub fn assert_invalid_fields(reply: &Reply, fields: &[&str]) {
    assert_invalid_field(reply, fields[0]);
    let errors = reply.body["errors"].as_array().unwrap();
    let named: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(named, fields, "{}", reply.raw);
    let detail = reply.body["detail"].as_str().unwrap();
    for error in errors {
        assert!(error["reason"].as_str().is_some_and(|r| !r.is_empty()));
        let field = error["field"].as_str().unwrap();
        assert!(detail.contains(&format!("{field}: ")), "{detail}");
    }
}
