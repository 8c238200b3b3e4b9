//! `/api/v1/bots/{id}/platforms`: bind a bot to a platform with its credentials, list and unbind.

use crate::auth::{Admin, Authenticated, Viewer};
use crate::client::request_base;
use crate::dto::platforms::{DiscordBody, MessengerBody, TelegramBody, WebChatBody, WhatsappBody};
use crate::dto::{credentials_from, BindingBody, ListBody};
use crate::errors::{ApiError, Problem};
use crate::openapi::schemas::{Id, Platform};
use crate::routes::bots::find_bot;
use crate::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::{BotId, PlatformKind};
use serde_json::Value;
use std::borrow::Cow;
use utoipa::openapi::schema::{OneOfBuilder, Ref, Schema};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/bots/{id}/platforms").route(web::get().to(list)))
        .service(
            web::resource("/bots/{id}/platforms/{platform}")
                .route(web::put().to(bind))
                .route(web::delete().to(unbind)),
        );
}

/// Bind a bot to a platform with that platform's credentials (write-only).
#[utoipa::path(
    put,
    path = "/api/v1/bots/{id}/platforms/{platform}",
    tag = "platforms",
    params(("id" = Id, Path, description = "The bot's id."), ("platform" = Platform, Path, description = "telegram, discord, messenger, whatsapp or web_chat.")),
    request_body = Credentials,
    responses((status = 200, description = "The binding and the URL to give the platform (for web_chat, the chat page's URL); never its secrets.", body = BindingBody), (status = 400, description = "`server.public_url` is unset and the address the request names (its `Host`, or a trusted proxy's forwarded scheme and host) is not http(s) and a host name.", body = Problem, content_type = "application/problem+json"), (status = 502, description = "The platform refused the webhook registration.", body = Problem, content_type = "application/problem+json")),
    security(("api_key" = ["admin"]))
)]
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
        .bind(bot_id, credentials, &base_url(&state, &req)?)
        .await?;
    Ok(web::Json(bound.into()))
}

/// The base of webhook URLs when `server.public_url` is unset: the address the caller used.
fn base_url(state: &AppState, req: &HttpRequest) -> Result<String, ApiError> {
    if state.bind.has_public_url() {
        return Ok(String::new());
    }
    request_base(req)
}

/// List a bot's bindings, each with its webhook URL (worked out as for `PUT`).
#[utoipa::path(
    get,
    path = "/api/v1/bots/{id}/platforms",
    tag = "platforms",
    params(("id" = Id, Path, description = "The bot's id.")),
    responses((status = 200, description = "The bot's bindings.", body = ListBody<BindingBody>), (status = 400, description = "`server.public_url` is unset and the address the request names is not http(s) and a host name.", body = Problem, content_type = "application/problem+json")),
    security(("api_key" = ["viewer"]))
)]
async fn list(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<BotId>,
    req: HttpRequest,
) -> Result<web::Json<ListBody<BindingBody>>, ApiError> {
    let bot = find_bot(&state, *id).await?;
    let base = base_url(&state, &req)?;
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

/// Unbind a platform: its webhooks are refused from then on.
#[utoipa::path(
    delete,
    path = "/api/v1/bots/{id}/platforms/{platform}",
    tag = "platforms",
    params(("id" = Id, Path, description = "The bot's id."), ("platform" = Platform, Path, description = "telegram, discord, messenger or whatsapp.")),
    responses((status = 204, description = "Unbound.")),
    security(("api_key" = ["admin"]))
)]
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

/// The `PUT` body's schema: the credentials of the platform named in the path, one of five.
pub struct Credentials;

impl PartialSchema for Credentials {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(Ref::from_schema_name(TelegramBody::name()))
            .item(Ref::from_schema_name(DiscordBody::name()))
            .item(Ref::from_schema_name(MessengerBody::name()))
            .item(Ref::from_schema_name(WhatsappBody::name()))
            .item(Ref::from_schema_name(WebChatBody::name()))
            .description(Some("The credentials of the platform named in the path."))
            .into()
    }
}

impl ToSchema for Credentials {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Credentials")
    }
}
