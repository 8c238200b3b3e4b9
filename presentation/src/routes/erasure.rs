//! `DELETE /api/v1/bots/{id}/users/{platform}/{user_id}`: an end user's right to erasure (GDPR Art. 17).

use crate::auth::{Admin, Authenticated};
use crate::errors::{ApiError, Problem};
use crate::openapi::schemas::Id;
use crate::AppState;
use actix_web::web;
use application::ports::Erased;
use domain::{BotId, ExternalChatId, PlatformKind, ValidationError};
use serde::Serialize;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/bots/{id}/users/{platform}/{user_id}").route(web::delete().to(erase_user)),
    );
}

/// What an erasure removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasedBody {
    #[schema(value_type = String, example = "telegram")]
    pub platform: PlatformKind,
    /// The user's conversations with the bot, active and ended.
    pub conversations: u64,
    /// Their messages, the bot's replies included.
    pub messages: u64,
    /// The pictures the user sent that were kept (uploaded, or fetched from the platform).
    pub attachments: u64,
}

/// Erase an end user.
#[utoipa::path(
    delete,
    path = "/api/v1/bots/{id}/users/{platform}/{user_id}",
    tag = "conversations",
    params(
        ("id" = Id, Path, description = "The bot's id."),
        ("platform" = String, Path, description = "`telegram`, `discord`, `messenger`, `whatsapp` or `web_chat`."),
        ("user_id" = String, Path, description = "The user's id on the platform (their private chat's; in the web chat, the visitor's)."),
    ),
    responses(
        (status = 200, description = "Every conversation of the bot with the user's chat, with its messages, queued jobs and journaled events, removed in one transaction; the counts of what was removed (0 when there was nothing, as on a second request). The server log records the erasure and its counts, never the user or the content.", body = ErasedBody),
        (status = 422, description = "An unknown platform or a malformed user id.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["admin"]))
)]
async fn erase_user(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    path: web::Path<(BotId, String, String)>,
) -> Result<web::Json<ErasedBody>, ApiError> {
    let (bot_id, platform, user_id) = path.into_inner();
    let platform: PlatformKind = platform.parse().map_err(|_| {
        let reason = "must be telegram, discord, messenger, whatsapp or web_chat";
        ValidationError::new("platform", reason)
    })?;
    let user = ExternalChatId::parse(user_id)
        .map_err(|error| ValidationError::new("user_id", error.reason))?;
    let erased = state.erase_user.erase(bot_id, platform, &user).await?;
    let Erased {
        conversations,
        messages,
        attachments,
    } = erased.ok_or_else(|| ApiError::not_found("bot"))?;
    Ok(web::Json(ErasedBody {
        platform,
        conversations,
        messages,
        attachments,
    }))
}
