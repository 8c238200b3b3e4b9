//! `POST /setup`: a fresh server's setup token traded once for its first admin key; `GET /` leads to the console.

use crate::dto::IssuedKeyBody;
use crate::errors::{ApiError, Problem};
use crate::AppState;
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/setup").route(web::post().to(setup)))
        .service(web::resource("/").route(web::get().to(home)));
}

/// `{token}`: the setup token a fresh server logs (in its console URL's `#setup=` fragment).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    pub token: String,
}

/// Trade the setup token for the first admin key, shown once.
#[utoipa::path(
    post,
    path = "/setup",
    tag = "setup",
    request_body = SetupRequest,
    responses(
        (status = 201, description = "The first admin key, shown once, and its record.", body = IssuedKeyBody),
        (status = 403, description = "The token is wrong, used or expired, or an admin key exists already.", body = Problem, content_type = "application/problem+json")
    )
)]
async fn setup(
    state: web::Data<AppState>,
    body: web::Json<SetupRequest>,
) -> Result<HttpResponse, ApiError> {
    match state.first_admin.trade(&body.token).await? {
        Some(issued) => Ok(IssuedKeyBody::created(issued)),
        None => Err(ApiError::SetupRefused),
    }
}

/// The admin console.
async fn home() -> HttpResponse {
    HttpResponse::TemporaryRedirect()
        .insert_header((LOCATION, "/admin"))
        .finish()
}
