//! `POST /webhooks/{platform}/{bot_id}`: hands the raw request to `ReceiveWebhook`; 200 only once stored.

use crate::errors::ApiError;
use crate::extractors::{read_body, RawBodyLimit};
use crate::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use application::ports::InboundRequest;
use domain::{BotId, PlatformKind};
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/webhooks/{platform}/{bot_id}").route(web::post().to(receive)));
}

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
