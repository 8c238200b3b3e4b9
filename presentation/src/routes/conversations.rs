//! `/api/v1/conversations`: filter and page conversations, read or end one, page or send messages.

use crate::auth::{Authenticated, Operator, Viewer};
use crate::dto::{
    ConversationBody, ConversationQuery, MessageBody, PageBody, PageQuery, SendMessage,
};
use crate::errors::ApiError;
use crate::AppState;
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use domain::{Conversation, ConversationId, MessageId};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/conversations").route(web::get().to(list)))
        .service(web::resource("/conversations/{id}").route(web::get().to(get)))
        .service(web::resource("/conversations/{id}/end").route(web::post().to(end)))
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

async fn list(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    query: web::Query<ConversationQuery>,
) -> Result<web::Json<PageBody<ConversationBody>>, ApiError> {
    let page = state
        .conversations
        .list(&query.filter()?, &query.page())
        .await?;
    Ok(web::Json(PageBody::from_page(page)))
}

async fn get(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<ConversationId>,
) -> Result<web::Json<ConversationBody>, ApiError> {
    Ok(web::Json(find_conversation(&state, *id).await?.into()))
}

async fn end(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    id: web::Path<ConversationId>,
) -> Result<web::Json<ConversationBody>, ApiError> {
    let ended = state
        .conversations
        .end(*id, Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
    tracing::info!(conversation_id = %ended.id, "conversation ended by an operator");
    Ok(web::Json(ended.into()))
}

async fn messages(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<ConversationId>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<PageBody<MessageBody>>, ApiError> {
    let conversation = find_conversation(&state, *id).await?;
    let page = state.messages.list(conversation.id, &query.page()).await?;
    Ok(web::Json(PageBody::from_page(page)))
}

/// 202: the message is stored and its delivery queued behind the conversation's replies.
async fn send(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    id: web::Path<ConversationId>,
    body: web::Json<SendMessage>,
) -> Result<HttpResponse, ApiError> {
    let text = body.into_inner().into_text()?;
    let message = state.send_message.send(*id, &text).await?;
    let location = format!(
        "/api/v1/conversations/{}/messages/{}",
        message.conversation_id, message.id
    );
    Ok(HttpResponse::Accepted()
        .insert_header((LOCATION, location))
        .json(MessageBody::from(message)))
}

/// One message of the conversation (its delivery status, say), or 404.
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
    Ok(web::Json(message.into()))
}
