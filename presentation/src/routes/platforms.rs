//! `/api/v1/bots/{id}/platforms`: bind a bot to a platform with its credentials, list and unbind.

use crate::auth::{Admin, Authenticated, Viewer};
use crate::dto::{credentials_from, BindingBody, ListBody};
use crate::errors::ApiError;
use crate::routes::bots::find_bot;
use crate::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::{BotId, PlatformKind};
use serde_json::Value;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/bots/{id}/platforms").route(web::get().to(list)))
        .service(
            web::resource("/bots/{id}/platforms/{platform}")
                .route(web::put().to(bind))
                .route(web::delete().to(unbind)),
        );
}

async fn bind(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    path: web::Path<(BotId, PlatformKind)>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<web::Json<BindingBody>, ApiError> {
    let (bot_id, kind) = path.into_inner();
    let credentials = credentials_from(kind, body.into_inner())?;
    let bound = state
        .bind
        .bind(bot_id, credentials, &request_base(&req))
        .await?;
    Ok(web::Json(bound.into()))
}

/// `scheme://host` of the incoming request, honouring `Forwarded` / `X-Forwarded-*`.
fn request_base(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// Each binding with its webhook URL, worked out as for `PUT`.
async fn list(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
    req: HttpRequest,
) -> Result<web::Json<ListBody<BindingBody>>, ApiError> {
    let bot = find_bot(&state, *id).await?;
    let base = request_base(&req);
    let items = state
        .bindings
        .list_for_bot(bot.id)
        .await?
        .into_iter()
        .map(|binding| {
            let url = state
                .bind
                .webhook_url(binding.kind(), binding.bot_id, &base);
            BindingBody::new(binding, url)
        })
        .collect();
    Ok(web::Json(ListBody { items }))
}

async fn unbind(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    path: web::Path<(BotId, PlatformKind)>,
) -> Result<HttpResponse, ApiError> {
    let (bot_id, kind) = path.into_inner();
    if !state.bindings.delete(bot_id, kind).await? {
        return Err(ApiError::NotFound(format!(
            "this bot has no {kind} binding"
        )));
    }
    Ok(HttpResponse::NoContent().finish())
}
