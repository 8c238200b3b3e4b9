//! `/api/v1/conversations`: filter and page conversations, read one, end one, page its messages.

use crate::auth::{Authenticated, Operator, Viewer};
use crate::dto::{ConversationBody, ConversationQuery, MessageBody, PageBody, PageQuery};
use crate::errors::ApiError;
use crate::AppState;
use actix_web::web;
use chrono::Utc;
use domain::{Conversation, ConversationId};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/conversations").route(web::get().to(list)))
        .service(web::resource("/conversations/{id}").route(web::get().to(get)))
        .service(web::resource("/conversations/{id}/end").route(web::post().to(end)))
        .service(web::resource("/conversations/{id}/messages").route(web::get().to(messages)));
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
