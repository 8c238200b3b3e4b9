//! `POST /api/v1/bots/{id}/chat`: the REST channel — a message in, the bot's reply out (or, after
//! a bounded wait, the message id to poll).

use crate::auth::{Authenticated, Operator};
use crate::dto::chat::{ChatPending, ChatReply, ChatRequest};
use crate::errors::ApiError;
use crate::openapi::schemas::Id;
use crate::AppState;
use actix_web::{web, HttpResponse};
use application::Answer;
use domain::BotId;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/bots/{id}/chat").route(web::post().to(chat)));
}

/// Send a user's message to a bot bound to the web chat and wait (bounded by
/// `web_chat.reply_wait_ms`) for its reply. Each user's messages to a bot are rate limited as a
/// web chat visitor's are (429 beyond). The message goes through the same pipeline as a
/// platform's; the conversation is the user's (keyed `api:{user_id}` on the web chat platform).
#[utoipa::path(
    post,
    path = "/api/v1/bots/{id}/chat",
    tag = "conversations",
    params(("id" = Id, Path, description = "The bot's id; it must be bound to web_chat.")),
    request_body = ChatRequest,
    responses(
        (status = 200, description = "The bot's reply.", body = ChatReply),
        (status = 202, description = "No reply within the wait: poll `GET /api/v1/conversations/{conversation_id}/messages` for the message replying to `message_id`.", body = ChatPending),
        (status = 404, description = "No such bot, or it is not bound to web_chat.", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 429, description = "The user's allowance (`web_chat.visitor_rate_per_minute`, `web_chat.visitor_rate_burst`, the same as a web chat visitor's) is spent; nothing was stored. `Retry-After` says when to send again.", body = crate::errors::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before sending again.")))
    ),
    security(("api_key" = ["operator"]))
)]
async fn chat(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    bot_id: web::Path<BotId>,
    body: web::Json<ChatRequest>,
) -> Result<HttpResponse, ApiError> {
    let (user, text) = body.into_inner().into_parts()?;
    let answer = state.web_chat.ask(bot_id.into_inner(), user, &text).await?;
    Ok(match answer {
        Answer::Replied {
            conversation_id,
            reply,
        } => HttpResponse::Ok().json(ChatReply {
            conversation_id,
            message: (*reply).into(),
        }),
        Answer::Pending {
            conversation_id,
            message_id,
        } => HttpResponse::Accepted().json(ChatPending {
            conversation_id,
            message_id,
        }),
    })
}
