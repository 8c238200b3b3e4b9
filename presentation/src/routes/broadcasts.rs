//! `/api/v1/bots/{id}/broadcasts`: one message to many chats of a platform — start it, follow its progress, cancel what has not gone out.

use crate::auth::{Authenticated, Operator, Viewer};
use crate::dto::{BroadcastBody, StartBroadcast};
use crate::errors::{ApiError, Problem};
use crate::openapi::schemas::Id;
use crate::AppState;
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use application::BroadcastView;
use domain::{BotId, BroadcastId};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/bots/{id}/broadcasts").route(web::post().to(start_broadcast)))
        .service(
            web::resource("/bots/{id}/broadcasts/{broadcast_id}")
                .route(web::get().to(read_broadcast)),
        )
        .service(
            web::resource("/bots/{id}/broadcasts/{broadcast_id}/cancel")
                .route(web::post().to(cancel_broadcast)),
        );
}

/// Send one message to many chats.
#[utoipa::path(
    post,
    path = "/api/v1/bots/{id}/broadcasts",
    tag = "conversations",
    params(("id" = Id, Path, description = "The bot's id.")),
    request_body = StartBroadcast,
    responses(
        (status = 202, description = "Every recipient's message stored and queued in one transaction, each in its chat's active conversation (started when it has none); they go out paced under the platform's limits, retried like replies. `Location` is the broadcast.", body = BroadcastBody),
        (status = 409, description = "The bot is not bound to that platform.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or malformed, no chat or more than `broadcasts.max_recipients` are listed (`chat_ids`), a chat never wrote to the bot (`chat_ids`, naming it), or, on WhatsApp and Messenger, a chat's 24-hour window has closed (`window_closed`, naming it): nothing is sent.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["operator"]))
)]
async fn start_broadcast(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
    body: web::Json<StartBroadcast>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner().into_request()?;
    let view = state.broadcasts.start(*id, &request).await?;
    let location = format!("/api/v1/bots/{}/broadcasts/{}", view.0.bot_id, view.0.id);
    Ok(HttpResponse::Accepted()
        .insert_header((LOCATION, location))
        .json(BroadcastBody::from(view)))
}

/// Read a broadcast's progress.
#[utoipa::path(
    get,
    path = "/api/v1/bots/{id}/broadcasts/{broadcast_id}",
    tag = "conversations",
    params(("id" = Id, Path, description = "The bot's id."), ("broadcast_id" = Id, Path, description = "The broadcast's id.")),
    responses((status = 200, description = "The broadcast, its messages counted by state.", body = BroadcastBody)),
    security(("api_key" = ["viewer"]))
)]
async fn read_broadcast(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    path: web::Path<(BotId, BroadcastId)>,
) -> Result<web::Json<BroadcastBody>, ApiError> {
    let (bot_id, id) = path.into_inner();
    found(state.broadcasts.get(bot_id, id).await?)
}

/// Cancel what of a broadcast has not gone out.
#[utoipa::path(
    post,
    path = "/api/v1/bots/{id}/broadcasts/{broadcast_id}/cancel",
    tag = "conversations",
    params(("id" = Id, Path, description = "The bot's id."), ("broadcast_id" = Id, Path, description = "The broadcast's id.")),
    responses((status = 200, description = "Its queued messages are `failed` (`broadcast cancelled`) and will not be sent; one going out at that moment still goes. A broadcast with nothing left queued, or cancelled before, is answered as it is.", body = BroadcastBody)),
    security(("api_key" = ["operator"]))
)]
async fn cancel_broadcast(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    path: web::Path<(BotId, BroadcastId)>,
) -> Result<web::Json<BroadcastBody>, ApiError> {
    let (bot_id, id) = path.into_inner();
    found(state.broadcasts.cancel(bot_id, id).await?)
}

fn found(view: Option<BroadcastView>) -> Result<web::Json<BroadcastBody>, ApiError> {
    let view = view.ok_or_else(|| ApiError::not_found("broadcast"))?;
    Ok(web::Json(view.into()))
}
