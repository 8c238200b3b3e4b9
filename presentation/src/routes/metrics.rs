//! `GET /metrics`: the Prometheus text exposition, on the main port or on `metrics.listen` alone.

use actix_web::{web, HttpResponse};
use application::Scrape;
use std::sync::Arc;

/// Prometheus's text format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What `/metrics` renders; absent from the app when metrics are off or served elsewhere.
#[derive(Clone)]
pub struct Metrics(pub Arc<Scrape>);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(scrape)));
}

/// Prometheus metrics: HTTP, webhooks, the queue, the model, platform sends, web chat, the pool and the process.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses(
        (status = 200, description = "The Prometheus text format (0.0.4). Labels are bounded: no ids, user text or keys. Served only when `metrics.enabled` and, with `metrics.listen` set, only on that address.", body = String, content_type = "text/plain")
    ),
    security(())
)]
async fn scrape(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(metrics.0.text().await)
}
