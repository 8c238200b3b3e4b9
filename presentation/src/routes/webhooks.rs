//! `POST /webhooks/{platform}/{bot_id}`: hands the raw request to `ReceiveWebhook`; 200 only once stored.

use crate::errors::{ApiError, Problem};
use crate::extractors::{read_body, RawBodyLimit};
use crate::openapi::schemas::{Id, Platform};
use crate::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use application::ports::InboundRequest;
use domain::{BotId, PlatformKind};
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/webhooks/{platform}/{bot_id}").route(web::post().to(receive)));
}

/// A platform's webhook: verified by the binding's secret or signature, stored, then answered 200.
#[utoipa::path(
    post,
    path = "/webhooks/{platform}/{bot_id}",
    tag = "webhooks",
    params(
        ("platform" = Platform, Path, description = "The platform sending the update."),
        ("bot_id" = Id, Path, description = "The bot the binding belongs to."),
        ("X-Telegram-Bot-Api-Secret-Token" = Option<String>, Header, description = "Telegram: the binding's secret token.")
    ),
    request_body(content = Object, description = "The platform's update, as it sends it."),
    responses(
        (status = 200, description = "Stored (or a known duplicate, or a kind that is ignored).", body = Object),
        (status = 401, description = "The secret or signature is missing or wrong; nothing was stored.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such bot, or the bot is not bound to this platform.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage is unavailable; the platform should retry.", body = Problem, content_type = "application/problem+json")
    ),
    security(())
)]
async fn receive(
    path: web::Path<(PlatformKind, BotId)>,
    state: web::Data<AppState>,
    limit: web::Data<RawBodyLimit>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (kind, bot_id) = path.into_inner();
    let body = read_body(&req, payload, limit.0).await?;
    let inbound = InboundRequest {
        headers: headers_of(&req),
        body: body.to_vec(),
    };
    state.receive.handle(bot_id, kind, &inbound).await?;
    Ok(HttpResponse::Ok().json(json!({ "ok": true })))
}

/// Header names are lower-case already (the `http` crate normalises them).
fn headers_of(req: &HttpRequest) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}
