//! `/api/v1/bots/{id}/messages`: the bot writes first, to a chat on one of its platforms.

use crate::auth::{Authenticated, Operator};
use crate::dto::{MessageBody, StartMessage};
use crate::errors::{ApiError, Problem};
use crate::openapi::schemas::Id;
use crate::routes::conversations::accepted;
use crate::AppState;
use actix_web::{web, HttpResponse};
use domain::BotId;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/bots/{id}/messages").route(web::post().to(start)));
}

/// Send a message the bot starts.
#[utoipa::path(
    post,
    path = "/api/v1/bots/{id}/messages",
    tag = "conversations",
    params(("id" = Id, Path, description = "The bot's id.")),
    request_body = StartMessage,
    responses(
        (status = 202, description = "Stored in the chat's active conversation (one is started when it has none) and delivered after what is queued there, paced and retried as replies are; `Location` is the message.", body = MessageBody),
        (status = 409, description = "The bot is not bound to that platform.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or malformed, the chat never wrote to the bot (`chat_id`), or, on WhatsApp and Messenger, its 24-hour window has closed (`window_closed`).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["operator"]))
)]
async fn start(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
    body: web::Json<StartMessage>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner().into_proactive()?;
    let message = state.proactive.send(*id, &request).await?;
    Ok(accepted(message))
}
