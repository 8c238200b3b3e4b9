//! `/webhooks/{platform}/{bot_id}`: POST hands the raw request to `ReceiveWebhook` (200 only once stored); GET answers Meta's handshake.

use crate::errors::{ApiError, Problem};
use crate::extractors::{read_body, RawBodyLimit};
use crate::limits::WebhookBodies;
use crate::openapi::schemas::{Id, Platform};
use crate::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use application::metrics::{self, WebhookOutcome};
use application::ports::InboundRequest;
use application::Receipt;
use domain::{BotId, PlatformKind};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

/// WhatsApp Cloud notifications may carry up to 3 MB; every other platform keeps the
/// configured (tighter) webhook limit. Only a request to a WhatsApp binding that exists, with
/// a signature header, gets this far.
pub const WHATSAPP_BODY_LIMIT: usize = 3 * 1024 * 1024;

fn body_limit(kind: PlatformKind, configured: usize) -> usize {
    match kind {
        PlatformKind::Whatsapp => configured.max(WHATSAPP_BODY_LIMIT),
        _ => configured,
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Meta's platforms take a GET handshake too; for the others GET stays a 405.
    cfg.service(
        web::resource("/webhooks/{platform:messenger|whatsapp}/{bot_id}")
            .route(web::post().to(receive))
            .route(web::get().to(subscribe)),
    )
    .service(web::resource("/webhooks/{platform}/{bot_id}").route(web::post().to(receive)));
}

/// A platform's webhook: verified by the binding's secret or signature, stored, then answered 200.
#[utoipa::path(
    post,
    path = "/webhooks/{platform}/{bot_id}",
    tag = "webhooks",
    params(
        ("platform" = Platform, Path, description = "The platform sending the update."),
        ("bot_id" = Id, Path, description = "The bot the binding belongs to."),
        ("X-Telegram-Bot-Api-Secret-Token" = Option<String>, Header, description = "Telegram: the binding's secret token."),
        ("X-Hub-Signature-256" = Option<String>, Header, description = "Messenger and WhatsApp: `sha256=` and the hex HMAC-SHA256 of the body, keyed by the app secret."),
        ("X-Signature-Ed25519" = Option<String>, Header, description = "Discord: the hex Ed25519 signature of `X-Signature-Timestamp` followed by the body, checked with the application's public key."),
        ("X-Signature-Timestamp" = Option<String>, Header, description = "Discord: the unix time of the signature; refused when more than 5 minutes from the server's clock.")
    ),
    request_body(content = Object, description = "The platform's update, as it sends it."),
    responses(
        (status = 200, description = "Stored (or a known duplicate, or a kind that is ignored). Discord is answered with its interaction response: `{\"type\":1}` to a PING, `{\"type\":5}` (deferred) to a slash command.", body = Object),
        (status = 401, description = "The secret or signature is missing or wrong; nothing was stored.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such bot, or the bot is not bound to this platform. Checked, with the headers' secret or signature, before the body is read.", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive within `server.body_read_timeout_ms`; the connection is closed.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the limit (`server.webhook_body_limit`; 3 MiB for WhatsApp).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage is unavailable, or `server.max_webhook_bodies` bodies are being read already; retry after `Retry-After` seconds.", body = Problem, content_type = "application/problem+json")
    ),
    security(())
)]
async fn receive(
    path: web::Path<(PlatformKind, BotId)>,
    state: web::Data<AppState>,
    limit: web::Data<RawBodyLimit>,
    bodies: web::Data<WebhookBodies>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (kind, bot_id) = path.into_inner();
    let received = store(kind, bot_id, &state, limit.0, &bodies, &req, payload).await;
    metrics::webhook(kind, outcome(&received));
    let receipt = received?;
    Ok(match receipt.answer {
        Some(answer) => HttpResponse::Ok()
            .content_type("application/json")
            .body(answer),
        None => HttpResponse::Ok().json(json!({ "ok": true })),
    })
}

/// Admits the request by its headers, reads its body and stores what it carries.
async fn store(
    kind: PlatformKind,
    bot_id: BotId,
    state: &AppState,
    limit: usize,
    bodies: &WebhookBodies,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Receipt, ApiError> {
    let mut inbound = InboundRequest {
        headers: headers_of(req),
        body: Vec::new(),
    };
    // The binding and what its headers must carry first: a stranger's body is never read.
    let admitted = state.receive.admit(bot_id, kind, &inbound).await?;
    let _slot = bodies.take()?;
    let limit = body_limit(admitted.platform(), limit);
    inbound.body = read_body(req, payload, limit).await?.to_vec();
    Ok(state.receive.accept(admitted, &inbound).await?)
}

/// The webhook's outcome label, from what was stored or why it was refused.
fn outcome(received: &Result<Receipt, ApiError>) -> WebhookOutcome {
    let error = match received {
        Ok(receipt) if receipt.recorded > 0 => return WebhookOutcome::Stored,
        Ok(receipt) if receipt.duplicates > 0 => return WebhookOutcome::Duplicate,
        Ok(_) => return WebhookOutcome::Ignored,
        Err(error) => error,
    };
    match error.code() {
        "invalid_signature" => WebhookOutcome::Refused,
        "malformed_update" | "malformed_json" => WebhookOutcome::Malformed,
        "payload_too_large" => WebhookOutcome::TooLarge,
        "not_found" | "platform_not_bound" => WebhookOutcome::UnknownBot,
        "busy" => WebhookOutcome::Busy,
        "body_timeout" => WebhookOutcome::Timeout,
        _ => WebhookOutcome::Unavailable,
    }
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

/// The query of Meta's subscription handshake.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Handshake {
    /// `subscribe`.
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    /// The binding's `verify_token`.
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    /// Echoed back when the handshake is accepted.
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta's webhook handshake (Messenger, WhatsApp): echoes `hub.challenge` for the binding's verify token.
#[utoipa::path(
    get,
    path = "/webhooks/{platform}/{bot_id}",
    tag = "webhooks",
    params(
        ("platform" = Platform, Path, description = "`messenger` or `whatsapp`."),
        ("bot_id" = Id, Path, description = "The bot the binding belongs to."),
        Handshake
    ),
    responses(
        (status = 200, description = "Subscribed: the body is `hub.challenge`.", body = String, content_type = "text/plain"),
        (status = 403, description = "`hub.mode` is not `subscribe`, or `hub.verify_token` is not the binding's.", body = Problem, content_type = "application/problem+json"),
        (status = 405, description = "This platform has no subscription handshake (only messenger and whatsapp do).", body = Problem, content_type = "application/problem+json")
    ),
    security(())
)]
async fn subscribe(
    path: web::Path<(PlatformKind, BotId)>,
    query: web::Query<Handshake>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (kind, bot_id) = path.into_inner();
    let Handshake {
        mode,
        verify_token,
        challenge,
    } = query.into_inner();
    state
        .receive
        .confirm_subscription(bot_id, kind, mode.as_deref(), verify_token.as_deref())
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(challenge.unwrap_or_default()))
}
