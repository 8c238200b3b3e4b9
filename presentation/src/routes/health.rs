//! Probes: liveness (the process answers) and readiness (every dependency answers in time).

use crate::errors::{ApiError, Problem};
use crate::AppState;
use actix_web::{web, HttpResponse};
use application::ports::HealthCheck;
use futures::future::join_all;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How long one dependency may take to answer the readiness probe.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health/live").route(web::get().to(live)))
        .service(web::resource("/health/ready").route(web::get().to(ready)));
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    responses((status = 200, description = "Alive.", body = Health)),
    security(())
)]
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health::ok(None))
}

/// Readiness: the database (and Redis, when configured) answer in time.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    responses(
        (status = 200, description = "Ready; each check is `ok`.", body = Health),
        (status = 503, description = "Not ready; the detail names the failing checks.", body = Problem, content_type = "application/problem+json")
    ),
    security(())
)]
async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let results = join_all(state.health.iter().map(probe)).await;
    let failing: Vec<&'static str> = results
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(name, _)| *name)
        .collect();
    if !failing.is_empty() {
        return Err(ApiError::NotReady(failing));
    }
    let checks = results.into_iter().map(|(name, _)| (name, "ok")).collect();
    Ok(HttpResponse::Ok().json(Health::ok(Some(checks))))
}

/// Runs one check within [`CHECK_TIMEOUT`]; the reason of a failure goes to the log only.
async fn probe(check: &Arc<dyn HealthCheck>) -> (&'static str, bool) {
    let name = check.name();
    let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check.check()).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
    };
    if let Err(reason) = &outcome {
        tracing::warn!(check = name, %reason, "readiness check failed");
    }
    (name, outcome.is_ok())
}

/// A probe's answer: `{status: "ok", checks?: {name: "ok"}}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(value_type = String)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    checks: Option<BTreeMap<&'static str, &'static str>>,
}

impl Health {
    fn ok(checks: Option<BTreeMap<&'static str, &'static str>>) -> Self {
        Self {
            status: "ok",
            checks,
        }
    }
}
