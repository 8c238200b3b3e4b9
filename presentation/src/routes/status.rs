//! `GET /api/v1/status`: this replica's circuit breakers and the job queue's figures, for an operator riding out an outage.

use crate::auth::{Admin, Authenticated};
use crate::dto::status::StatusBody;
use crate::errors::ApiError;
use crate::AppState;
use actix_web::{web, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/status").route(web::get().to(status)));
}

/// Each circuit breaker this replica has used (a model provider, or a bot's token on a
/// platform: closed, open until when, or half-open with one probe out) and the job queue: how
/// many jobs of each kind are in each state (every replica's), and since when the oldest due
/// job of each kind has waited.
#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "operations",
    responses((status = 200, description = "The breakers and the queue.", body = StatusBody)),
    security(("api_key" = ["admin"]))
)]
async fn status(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (breakers, queue) = state.status.read().await?;
    Ok(HttpResponse::Ok().json(StatusBody::new(breakers, queue)))
}
