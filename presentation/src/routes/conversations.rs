//! `/api/v1/conversations`: filter and page conversations, read, end, hand off or release one, page or send messages.

use crate::auth::{Authenticated, Operator, Viewer};
use crate::dto::attachments::AttachmentBody;
use crate::dto::{
    ConversationBody, ConversationQuery, HandOff, MessageBody, PageBody, PageQuery, Release,
    SendMessage,
};
use crate::errors::ApiError;
use crate::errors::Problem;
use crate::extractors::OptionalJson;
use crate::openapi::schemas::Id;
use crate::AppState;
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use domain::{Conversation, ConversationId, Message, MessageId};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/conversations").route(web::get().to(list)))
        .service(web::resource("/conversations/{id}").route(web::get().to(get)))
        .service(web::resource("/conversations/{id}/end").route(web::post().to(end)))
        .service(web::resource("/conversations/{id}/handoff").route(web::post().to(hand_off)))
        .service(web::resource("/conversations/{id}/release").route(web::post().to(release)))
        .service(
            web::resource("/conversations/{id}/messages")
                .route(web::get().to(messages))
                .route(web::post().to(send)),
        )
        .service(
            web::resource("/conversations/{id}/messages/{message_id}")
                .route(web::get().to(message)),
        );
}

async fn find_conversation(state: &AppState, id: ConversationId) -> Result<Conversation, ApiError> {
    state
        .conversations
        .get(id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))
}

/// List conversations, filtered by bot, platform, status and start time.
#[utoipa::path(
    get,
    path = "/api/v1/conversations",
    tag = "conversations",
    params(ConversationQuery),
    responses((status = 200, description = "A page of conversations, newest first.", body = PageBody<ConversationBody>)),
    security(("api_key" = ["viewer"]))
)]
async fn list(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    query: web::Query<ConversationQuery>,
) -> Result<web::Json<PageBody<ConversationBody>>, ApiError> {
    let page = state
        .conversations
        .list(&query.filter()?, &query.page()?)
        .await?;
    Ok(web::Json(PageBody::from_page(page)))
}

/// Read a conversation.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}",
    tag = "conversations",
    params(("id" = Id, Path, description = "The conversation's id.")),
    responses((status = 200, description = "The conversation, with its model usage.", body = ConversationBody)),
    security(("api_key" = ["viewer"]))
)]
async fn get(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<ConversationId>,
) -> Result<web::Json<ConversationBody>, ApiError> {
    let conversation = find_conversation(&state, *id).await?;
    let usage = state.summaries.conversation_usage(conversation.id).await?;
    Ok(web::Json(ConversationBody::with_usage(conversation, usage)))
}

/// End a conversation: the chat's next message starts a new one.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/end",
    tag = "conversations",
    params(("id" = Id, Path, description = "The conversation's id.")),
    responses((status = 200, description = "The ended conversation.", body = ConversationBody)),
    security(("api_key" = ["operator"]))
)]
async fn end(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    id: web::Path<ConversationId>,
) -> Result<web::Json<ConversationBody>, ApiError> {
    let ended = state
        .end_conversation
        .end(*id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
    tracing::info!(conversation_id = %ended.id, "conversation ended by an operator");
    Ok(web::Json(ended.into()))
}

/// Hand a conversation to a person: its messages are stored and shown, the bot stays silent.
///
/// An answer the model was still writing is kept, `failed` ("the conversation was handed off
/// before it was sent") and answering no message, and is not sent.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/handoff",
    tag = "conversations",
    params(("id" = Id, Path, description = "The conversation's id.")),
    request_body(content = HandOff, description = "Optional."),
    responses((status = 200, description = "The conversation, handed off (a second handoff keeps the first one's time and person).", body = ConversationBody), (status = 409, description = "The conversation has ended.", body = Problem, content_type = "application/problem+json")),
    security(("api_key" = ["operator"]))
)]
async fn hand_off(
    caller: Authenticated<Operator>,
    state: web::Data<AppState>,
    id: web::Path<ConversationId>,
    body: OptionalJson<HandOff>,
) -> Result<web::Json<ConversationBody>, ApiError> {
    let note = body.0.into_note()?;
    let assigned_to = caller.principal().name.as_deref();
    let conversation = state.handoff.hand_off(*id, assigned_to).await?;
    tracing::info!(conversation_id = %conversation.id, ?assigned_to, ?note, "conversation handed off");
    Ok(web::Json(conversation.into()))
}

/// Give a conversation back to the bot.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/release",
    tag = "conversations",
    params(("id" = Id, Path, description = "The conversation's id.")),
    request_body(content = Release, description = "Optional."),
    responses((status = 200, description = "The conversation, the bot's again (releasing one the bot has changes nothing).", body = ConversationBody), (status = 409, description = "The conversation has ended.", body = Problem, content_type = "application/problem+json")),
    security(("api_key" = ["operator"]))
)]
async fn release(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    id: web::Path<ConversationId>,
    body: OptionalJson<Release>,
) -> Result<web::Json<ConversationBody>, ApiError> {
    let answer_pending = body.0.answer_pending;
    let conversation = state.handoff.release(*id, answer_pending).await?;
    tracing::info!(conversation_id = %conversation.id, answer_pending, "conversation released");
    Ok(web::Json(conversation.into()))
}

/// List a conversation's messages.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}/messages",
    tag = "conversations",
    params(("id" = Id, Path, description = "The conversation's id."), PageQuery),
    responses((status = 200, description = "A page of messages, oldest first.", body = PageBody<MessageBody>)),
    security(("api_key" = ["viewer"]))
)]
async fn messages(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<ConversationId>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<PageBody<MessageBody>>, ApiError> {
    let conversation = find_conversation(&state, *id).await?;
    let page = state.messages.list(conversation.id, &query.page()?).await?;
    let next_cursor = page.next_cursor.map(|cursor| cursor.0);
    let items = with_attachments(&state, page.items).await?;
    Ok(web::Json(PageBody { items, next_cursor }))
}

/// The bodies of `messages`, each photo with its kept picture's signed link.
async fn with_attachments(
    state: &AppState,
    messages: Vec<Message>,
) -> Result<Vec<MessageBody>, ApiError> {
    let mut links = state.attachments.of(&messages).await?;
    let body = |message: Message| {
        let attachment = links.remove(&message.id).map(AttachmentBody::from);
        MessageBody {
            attachments: attachment.into_iter().collect(),
            ..MessageBody::from(message)
        }
    };
    Ok(messages.into_iter().map(body).collect())
}

/// Send a message to the chat as an operator.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/messages",
    tag = "conversations",
    params(("id" = Id, Path, description = "The conversation's id.")),
    request_body = SendMessage,
    responses((status = 202, description = "Stored; delivered after the replies already queued in the chat.", body = MessageBody), (status = 409, description = "The conversation has ended, or the bot is no longer bound to its platform.", body = Problem, content_type = "application/problem+json")),
    security(("api_key" = ["operator"]))
)]
async fn send(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    id: web::Path<ConversationId>,
    body: web::Json<SendMessage>,
) -> Result<HttpResponse, ApiError> {
    let text = body.into_inner().into_text()?;
    let message = state.send_message.send(*id, &text).await?;
    Ok(accepted(message))
}

/// 202 with a stored outbound message, its `Location` where its delivery can be followed.
pub(crate) fn accepted(message: Message) -> HttpResponse {
    let location = format!(
        "/api/v1/conversations/{}/messages/{}",
        message.conversation_id, message.id
    );
    HttpResponse::Accepted()
        .insert_header((LOCATION, location))
        .json(MessageBody::from(message))
}

/// Read one message, with its delivery status.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}/messages/{message_id}",
    tag = "conversations",
    params(("id" = Id, Path, description = "The conversation's id."), ("message_id" = Id, Path, description = "The message's id.")),
    responses((status = 200, description = "The message.", body = MessageBody)),
    security(("api_key" = ["viewer"]))
)]
async fn message(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    path: web::Path<(ConversationId, MessageId)>,
) -> Result<web::Json<MessageBody>, ApiError> {
    let (conversation_id, message_id) = path.into_inner();
    let message = state
        .messages
        .get(message_id)
        .await?
        .filter(|m| m.conversation_id == conversation_id)
        .ok_or_else(|| ApiError::not_found("message"))?;
    let mut bodies = with_attachments(&state, vec![message]).await?;
    Ok(web::Json(bodies.remove(0)))
}
