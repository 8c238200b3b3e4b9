//! Switchboard's HTTP edge (actix-web): platform webhooks, the admin API, probes and problem+json errors.

pub mod asyncapi;
pub mod audit;
pub mod auth;
pub mod client;
pub mod closing;
pub mod dto;
pub mod errors;
pub mod extractors;
pub mod http_metrics;
pub mod idempotency;
pub mod limits;
pub mod live_events;
pub mod openapi;
pub mod pages;
pub mod refusals;
pub mod request_id;
pub mod request_span;
pub mod routes;
pub mod socket_refusal;
pub mod state;
pub mod web_chat;

pub use client::TrustedProxies;
pub use closing::Closing;
pub use errors::ApiError;
pub use limits::WebhookBodies;
pub use state::{AppState, StatePorts, StateSettings, StateStores};
pub use web_chat::WebChatChannel;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use application::Scrape;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tracing_actix_web::TracingLogger;

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
    /// How long a request's body may take to arrive (408 beyond).
    pub body_read_timeout: Duration,
    /// Open connections across all workers; beyond them new ones wait in the listen backlog.
    pub max_connections: usize,
    /// Webhook bodies read at once (503 beyond).
    pub max_webhook_bodies: usize,
    /// Whose forwarded headers are believed.
    pub trusted_proxies: TrustedProxies,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            webhook_body_limit: 1024 * 1024,
            json_body_limit: 64 * 1024,
            shutdown_timeout: Duration::from_secs(30),
            workers: None,
            body_read_timeout: Duration::from_secs(5),
            max_connections: 10_000,
            max_webhook_bodies: 256,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// The application: routes, extractor configurations and middleware. `build_server` serves it;
/// tests hand it to `actix_web::test::init_service`. `bodies` is shared by every worker.
pub fn app(
    state: web::Data<AppState>,
    settings: &HttpSettings,
    bodies: WebhookBodies,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let metrics = state.metrics.clone().map(routes::metrics::Metrics);
    App::new()
        .configure(|cfg| serve_metrics(cfg, metrics))
        .app_data(state)
        .app_data(web::Data::new(extractors::RawBodyLimit(
            settings.webhook_body_limit,
        )))
        .app_data(web::Data::new(extractors::JsonBodyLimit(
            settings.json_body_limit,
        )))
        .app_data(extractors::json_config(settings.json_body_limit))
        .app_data(web::Data::new(limits::BodyReadTimeout(
            settings.body_read_timeout,
        )))
        .app_data(web::Data::new(bodies))
        .app_data(web::Data::new(settings.trusted_proxies.clone()))
        .app_data(extractors::path_config())
        .app_data(extractors::query_config())
        .configure(routes::configure)
        .default_service(web::to(routes::not_found))
        .wrap(from_fn(request_id::middleware))
        .wrap(TracingLogger::<request_span::RequestSpan>::new())
        .wrap(from_fn(http_metrics::record))
        // Outermost, so that the answer it sees is the one written.
        .wrap(from_fn(limits::body_deadline))
}

/// Adds `GET /metrics` when there is something to render.
fn serve_metrics(cfg: &mut web::ServiceConfig, metrics: Option<routes::metrics::Metrics>) {
    if let Some(metrics) = metrics {
        cfg.app_data(web::Data::new(metrics))
            .configure(routes::metrics::configure);
    }
}

/// `GET /metrics` alone, for `metrics.listen`: every other path is a 404 problem. One worker:
/// a scrape every few seconds needs no more.
pub fn metrics_server(listener: TcpListener, scrape: Arc<Scrape>) -> std::io::Result<Server> {
    let metrics = routes::metrics::Metrics(scrape);
    let server = HttpServer::new(move || {
        App::new()
            .configure(|cfg| serve_metrics(cfg, Some(metrics.clone())))
            .default_service(web::to(routes::not_found))
            .wrap(from_fn(request_id::middleware))
            .wrap(TracingLogger::default())
    })
    .workers(1)
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(1);
    Ok(server.run())
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
    let workers = settings.workers.unwrap_or_else(default_workers);
    let per_worker = settings.max_connections.div_ceil(workers).max(1);
    let bodies = WebhookBodies::new(settings.max_webhook_bodies);
    let server = HttpServer::new(move || app(state.clone(), &settings, bodies.clone()))
        .workers(workers)
        .max_connections(per_worker)
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(shutdown_secs);
    Ok(server.run())
}

/// actix's own default: one worker per available core.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}
