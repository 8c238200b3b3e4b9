//! `GET /attachments/{id}`: a kept picture, opened by the signed link the messages API gave, without an API key.

use crate::errors::ApiError;
use crate::AppState;
use actix_web::{web, HttpResponse};
use domain::BotId;
use serde::Deserialize;
use utoipa::IntoParams;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/attachments/{id}").route(web::get().to(attachment)));
}

/// The link's signed parts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// The bot whose message it is.
    #[param(value_type = crate::openapi::schemas::Id)]
    bot_id: BotId,
    /// When the link stops opening, in Unix seconds.
    expires: i64,
    /// Hex HMAC-SHA256 over the bot, the picture and `expires`, by this server.
    signature: String,
}

/// Open a kept picture by its signed link.
#[utoipa::path(
    get,
    path = "/attachments/{id}",
    tag = "conversations",
    params(("id" = String, Path, description = "The attachment's id, as the messages API lists it."), LinkQuery),
    responses(
        (status = 200, description = "The picture's bytes, as its type (`Cache-Control: private`).", content_type = "image/*", body = Vec<u8>),
        (status = 404, description = "The link is not this server's, has expired, or its picture is gone (erased).", body = crate::errors::Problem, content_type = "application/problem+json"),
    )
)]
async fn attachment(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, ApiError> {
    let LinkQuery {
        bot_id,
        expires,
        signature,
    } = query.into_inner();
    let image = state
        .attachments
        .open(bot_id, &id, expires, &signature)
        .await
        .map_err(|refused| ApiError::NotFound(format!("attachment: {refused}")))?;
    Ok(HttpResponse::Ok()
        .content_type(image.media_type)
        .insert_header(("Cache-Control", "private, max-age=300"))
        .body(image.bytes))
}
