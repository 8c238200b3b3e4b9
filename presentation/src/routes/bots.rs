//! `/api/v1/bots`: create, list, read, update, pause, resume, delete, a bot's summary and usage.

use crate::auth::{Admin, Authenticated, Viewer};
use crate::dto::{
    BotBody, CreateBot, GroupByQuery, PageBody, PageQuery, SummaryBody, SummaryQuery, UpdateBot,
    UsageSeriesBody,
};
use crate::errors::ApiError;
use crate::openapi::schemas::Id;
use crate::AppState;
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use domain::{Bot, BotId};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/bots")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/bots/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/bots/{id}/pause").route(web::post().to(pause)))
    .service(web::resource("/bots/{id}/resume").route(web::post().to(resume)))
    .service(web::resource("/bots/{id}/summary").route(web::get().to(summary)))
    .service(web::resource("/bots/{id}/usage").route(web::get().to(usage)));
}

/// The bot, or 404.
pub async fn find_bot(state: &AppState, id: BotId) -> Result<Bot, ApiError> {
    state
        .bots
        .get(id)
        .await?
        .ok_or_else(|| ApiError::not_found("bot"))
}

/// Create a bot.
#[utoipa::path(
    post,
    path = "/api/v1/bots",
    tag = "bots",
    request_body = CreateBot,
    responses((status = 201, description = "Created; `Location` names it.", body = BotBody)),
    security(("api_key" = ["admin"]))
)]
async fn create(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    body: web::Json<CreateBot>,
) -> Result<HttpResponse, ApiError> {
    let bot = state
        .bot_admin
        .create(body.into_inner().into_draft()?)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/bots/{}", bot.id)))
        .json(BotBody::from(bot)))
}

/// List bots.
#[utoipa::path(
    get,
    path = "/api/v1/bots",
    tag = "bots",
    params(PageQuery),
    responses((status = 200, description = "A page of bots, oldest first.", body = PageBody<BotBody>)),
    security(("api_key" = ["viewer"]))
)]
async fn list(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<PageBody<BotBody>>, ApiError> {
    let page = state.bots.list(&query.page()?).await?;
    Ok(web::Json(PageBody::from_page(page)))
}

/// Read a bot.
#[utoipa::path(
    get,
    path = "/api/v1/bots/{id}",
    tag = "bots",
    params(("id" = Id, Path, description = "The bot's id.")),
    responses((status = 200, description = "The bot.", body = BotBody)),
    security(("api_key" = ["viewer"]))
)]
async fn get(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
) -> Result<web::Json<BotBody>, ApiError> {
    Ok(web::Json(find_bot(&state, *id).await?.into()))
}

/// Change some of a bot's fields: an absent field stays, `null` clears an optional one.
#[utoipa::path(
    patch,
    path = "/api/v1/bots/{id}",
    tag = "bots",
    params(("id" = Id, Path, description = "The bot's id.")),
    request_body = UpdateBot,
    responses((status = 200, description = "The bot as revised.", body = BotBody)),
    security(("api_key" = ["admin"]))
)]
async fn update(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
    body: web::Json<UpdateBot>,
) -> Result<web::Json<BotBody>, ApiError> {
    let patch = body.into_inner().into_patch()?;
    let bot = state
        .bot_admin
        .update(*id, |draft| patch.apply(draft))
        .await?;
    Ok(web::Json(bot.into()))
}

/// Pause a bot: its messages are still stored, but not answered.
///
/// Idempotent: a paused bot keeps its first `paused_at`.
#[utoipa::path(
    post,
    path = "/api/v1/bots/{id}/pause",
    tag = "bots",
    params(("id" = Id, Path, description = "The bot's id.")),
    responses((status = 200, description = "The paused bot.", body = BotBody)),
    security(("api_key" = ["admin"]))
)]
async fn pause(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
) -> Result<web::Json<BotBody>, ApiError> {
    Ok(web::Json(state.bot_admin.pause(*id).await?.into()))
}

/// Resume a paused bot: messages from now on are answered.
#[utoipa::path(
    post,
    path = "/api/v1/bots/{id}/resume",
    tag = "bots",
    params(("id" = Id, Path, description = "The bot's id.")),
    responses((status = 200, description = "The active bot.", body = BotBody)),
    security(("api_key" = ["admin"]))
)]
async fn resume(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
) -> Result<web::Json<BotBody>, ApiError> {
    Ok(web::Json(state.bot_admin.resume(*id).await?.into()))
}

/// What a bot did within a time range: conversations, messages, failures and model tokens.
#[utoipa::path(
    get,
    path = "/api/v1/bots/{id}/summary",
    tag = "bots",
    params(("id" = Id, Path, description = "The bot's id."), SummaryQuery),
    responses((status = 200, description = "Counts within the range.", body = SummaryBody)),
    security(("api_key" = ["viewer"]))
)]
async fn summary(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
    query: web::Query<SummaryQuery>,
) -> Result<web::Json<SummaryBody>, ApiError> {
    let range = query.range()?;
    let bot = find_bot(&state, *id).await?;
    let summary = state.summaries.summarize(bot.id, &range).await?;
    Ok(web::Json(SummaryBody::new(bot.id, &range, summary)))
}

/// What a bot's model replies took per UTC day or month: replies, tokens and costs.
#[utoipa::path(
    get,
    path = "/api/v1/bots/{id}/usage",
    tag = "bots",
    params(("id" = Id, Path, description = "The bot's id."), SummaryQuery, GroupByQuery),
    responses((status = 200, description = "The periods of the range with replies, oldest first.", body = UsageSeriesBody)),
    security(("api_key" = ["viewer"]))
)]
async fn usage(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
    query: web::Query<SummaryQuery>,
    grouping: web::Query<GroupByQuery>,
) -> Result<web::Json<UsageSeriesBody>, ApiError> {
    let range = query.range()?;
    let bot = find_bot(&state, *id).await?;
    let days = state.summaries.daily_usage(bot.id, &range).await?;
    let group_by = grouping.group_by;
    Ok(web::Json(UsageSeriesBody::new(
        bot.id, &range, group_by, &days,
    )))
}

/// Delete a bot and everything it holds.
#[utoipa::path(
    delete,
    path = "/api/v1/bots/{id}",
    tag = "bots",
    params(("id" = Id, Path, description = "The bot's id.")),
    responses((status = 204, description = "Deleted, with its bindings, conversations and messages.")),
    security(("api_key" = ["admin"]))
)]
async fn delete(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
) -> Result<HttpResponse, ApiError> {
    state.bot_admin.delete(*id).await?;
    Ok(HttpResponse::NoContent().finish())
}
