//! Switchboard's HTTP edge (actix-web): platform webhooks, the admin API, probes and problem+json errors.

pub mod auth;
pub mod client_address;
pub mod dto;
pub mod errors;
pub mod extractors;
pub mod idempotency;
pub mod openapi;
pub mod request_id;
pub mod routes;
pub mod web_chat;

pub use errors::ApiError;
pub use web_chat::WebChatChannel;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use application::ports::HealthCheck;
use application::{
    ApiKeys, BindPlatform, BotAdmin, EndConversation, Idempotency, ReceiveWebhook,
    SendOperatorMessage, WebChat,
};
use domain::repositories::{
    BindingRepository, BotRepository, ConversationRepository, MessageRepository, SummaryRepository,
};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tracing_actix_web::TracingLogger;

/// What the handlers use: use cases where there is logic to protect, repositories for plain reads.
pub struct AppState {
    pub receive: Arc<ReceiveWebhook>,
    pub bot_admin: Arc<BotAdmin>,
    pub bind: Arc<BindPlatform>,
    pub api_keys: Arc<ApiKeys>,
    pub send_message: Arc<SendOperatorMessage>,
    pub end_conversation: Arc<EndConversation>,
    /// The web chat's socket and the REST channel.
    pub web_chat: Arc<WebChat>,
    /// `Idempotency-Key` claims and answers for the admin API's POSTs.
    pub idempotency: Arc<Idempotency>,
    pub bots: Arc<dyn BotRepository>,
    pub bindings: Arc<dyn BindingRepository>,
    pub conversations: Arc<dyn ConversationRepository>,
    pub messages: Arc<dyn MessageRepository>,
    pub summaries: Arc<dyn SummaryRepository>,
    /// Run by `GET /health/ready`.
    pub health: Vec<Arc<dyn HealthCheck>>,
}

/// HTTP tunables, passed in by value from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// The largest webhook body accepted (413 beyond).
    pub webhook_body_limit: usize,
    /// The largest admin API JSON body accepted (413 beyond).
    pub json_body_limit: usize,
    /// How long in-flight requests may finish after a stop.
    pub shutdown_timeout: Duration,
    /// Worker threads; `None` uses actix's default (one per core).
    pub workers: Option<usize>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            webhook_body_limit: 1024 * 1024,
            json_body_limit: 64 * 1024,
            shutdown_timeout: Duration::from_secs(30),
            workers: None,
        }
    }
}

/// The application: routes, extractor configurations and middleware. `build_server` serves it;
/// tests hand it to `actix_web::test::init_service`.
pub fn app(
    state: web::Data<AppState>,
    settings: &HttpSettings,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .app_data(web::Data::new(extractors::RawBodyLimit(
            settings.webhook_body_limit,
        )))
        .app_data(web::Data::new(extractors::JsonBodyLimit(
            settings.json_body_limit,
        )))
        .app_data(extractors::json_config(settings.json_body_limit))
        .app_data(extractors::path_config())
        .app_data(extractors::query_config())
        .configure(routes::configure)
        .default_service(web::to(routes::not_found))
        .wrap(from_fn(request_id::middleware))
        .wrap(TracingLogger::default())
}

/// Builds the server on an already-bound listener (tests bind port 0). Signals are not handled
/// by actix: the caller stops it through the returned `Server`'s handle.
pub fn build_server(
    listener: TcpListener,
    state: AppState,
    settings: HttpSettings,
) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let shutdown_secs = settings.shutdown_timeout.as_secs();
    let workers = settings.workers;
    let mut server = HttpServer::new(move || app(state.clone(), &settings))
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(shutdown_secs);
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}
