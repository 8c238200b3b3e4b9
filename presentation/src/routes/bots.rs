//! `/api/v1/bots`: create, list, read, update, pause, resume, delete, and a bot's summary.

use crate::auth::{Admin, Authenticated, Viewer};
use crate::dto::{BotBody, CreateBot, PageBody, PageQuery, SummaryBody, SummaryQuery, UpdateBot};
use crate::errors::ApiError;
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
    .service(web::resource("/bots/{id}/summary").route(web::get().to(summary)));
}

/// The bot, or 404.
pub async fn find_bot(state: &AppState, id: BotId) -> Result<Bot, ApiError> {
    state
        .bots
        .get(id)
        .await?
        .ok_or_else(|| ApiError::not_found("bot"))
}

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

async fn list(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<PageBody<BotBody>>, ApiError> {
    let page = state.bots.list(&query.page()).await?;
    Ok(web::Json(PageBody::from_page(page)))
}

async fn get(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
) -> Result<web::Json<BotBody>, ApiError> {
    Ok(web::Json(find_bot(&state, *id).await?.into()))
}

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

/// Idempotent: a paused bot keeps its first `paused_at`.
async fn pause(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
) -> Result<web::Json<BotBody>, ApiError> {
    Ok(web::Json(state.bot_admin.pause(*id).await?.into()))
}

async fn resume(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
) -> Result<web::Json<BotBody>, ApiError> {
    Ok(web::Json(state.bot_admin.resume(*id).await?.into()))
}

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

async fn delete(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
) -> Result<HttpResponse, ApiError> {
    state.bot_admin.delete(*id).await?;
    Ok(HttpResponse::NoContent().finish())
}
