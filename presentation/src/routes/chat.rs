//! `POST /api/v1/bots/{id}/chat`: the REST channel — a message in, the bot's reply out (or, after
//! a bounded wait, the message id to poll); with `Accept: text/event-stream`, the reply's pieces
//! as the model writes them, then the reply.

use crate::auth::{Authenticated, Operator};
use crate::dto::chat::{ChatPending, ChatReply, ChatRequest};
use crate::errors::ApiError;
use crate::openapi::schemas::Id;
use crate::AppState;
use actix_web::http::header::{ACCEPT, CACHE_CONTROL};
use actix_web::{web, HttpRequest, HttpResponse};
use application::{Answer, Heard};
use domain::{BotId, ExternalChatId};
use futures::{future, stream, StreamExt};
use serde::Serialize;
use serde_json::json;

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
        (status = 200, description = "The bot's reply. With `Accept: text/event-stream`, server-sent events instead: `accepted` (`{conversation_id, message_id}`), then `reply_delta` (`{reply_to, delta}`) for each piece as the model writes it and `reply_restart` (`{reply_to}`) if its stream broke and starts again, then `message` (the reply, as the JSON answer has it) or, after the wait, `pending` (`{conversation_id, message_id}`); the stream ends there.", content((ChatReply = "application/json"), (String = "text/event-stream"))),
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
    request: HttpRequest,
    body: web::Json<ChatRequest>,
) -> Result<HttpResponse, ApiError> {
    let (user, text) = body.into_inner().into_parts()?;
    if wants_events(&request) {
        return streamed(&state, bot_id.into_inner(), user, &text).await;
    }
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

/// Whether the caller asks for server-sent events.
fn wants_events(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains(EVENT_STREAM))
}

const EVENT_STREAM: &str = "text/event-stream";

/// The answer as server-sent events, ending with the reply or `pending`.
async fn streamed(
    state: &AppState,
    bot_id: BotId,
    user: ExternalChatId,
    text: &str,
) -> Result<HttpResponse, ApiError> {
    let (conversation_id, message_id, heard) =
        state.web_chat.ask_streaming(bot_id, user, text).await?;
    let pending = ChatPending {
        conversation_id,
        message_id,
    };
    let accepted = stream::once(future::ready(event("accepted", &pending)));
    let rest = heard.map(move |heard| match heard {
        Heard::Piece(delta) => event(
            "reply_delta",
            &json!({"reply_to": message_id, "delta": delta}),
        ),
        Heard::Restart => event("reply_restart", &json!({"reply_to": message_id})),
        Heard::Reply(reply) => event(
            "message",
            &ChatReply {
                conversation_id,
                message: (*reply).into(),
            },
        ),
        Heard::Pending => event("pending", &pending),
    });
    Ok(HttpResponse::Ok()
        .content_type(EVENT_STREAM)
        .insert_header((CACHE_CONTROL, "no-cache"))
        .streaming(accepted.chain(rest)))
}

/// One server-sent event.
fn event(name: &str, data: &impl Serialize) -> Result<web::Bytes, actix_web::Error> {
    let data = serde_json::to_string(data).map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(web::Bytes::from(format!("event: {name}\ndata: {data}\n\n")))
}
