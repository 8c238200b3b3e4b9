//! `GET /chat/{bot_id}`: the chat page and its script and style, built into the binary.

use crate::errors::ApiError;
use crate::pages::{secured, static_file, CSS, HTML, JAVASCRIPT};
use crate::AppState;
use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};
use domain::BotId;

const PAGE: &str = include_str!("../../assets/chat.html");
const SCRIPT: &str = include_str!("../../assets/chat.js");
const STYLE: &str = include_str!("../../assets/chat.css");

/// Where the page's template takes the bot's id (a UUID: nothing to escape).
const BOT_ID_SLOT: &str = "{{bot_id}}";

/// Nothing but this server's own script, style and socket; no framing by other sites' forms.
/// The page itself adds who may frame it ([`frame_ancestors`]).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'";

/// Who may show the page in a frame: this server, and the binding's `allowed_origins` (embedding
/// the chat in the operator's own site is a feature). A binding that allows every origin to
/// open the chat still lets only this server frame it: framing by any site must be asked for
/// by listing the sites.
pub fn frame_ancestors(allowed_origins: &[String]) -> String {
    let mut directive = String::from("frame-ancestors 'self'");
    for origin in allowed_origins {
        directive.push(' ');
        directive.push_str(origin);
    }
    directive
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(static_file(
        "/chat/assets/chat.js",
        JAVASCRIPT,
        SCRIPT,
        CONTENT_SECURITY_POLICY,
    ))
    .service(static_file(
        "/chat/assets/chat.css",
        CSS,
        STYLE,
        CONTENT_SECURITY_POLICY,
    ))
    .service(web::resource("/chat/{bot_id}").route(web::get().to(page)));
}

/// The page of a bot bound to the web chat; 404 otherwise.
async fn page(
    state: web::Data<AppState>,
    bot_id: web::Path<BotId>,
) -> Result<HttpResponse, ApiError> {
    let bot_id = bot_id.into_inner();
    let embedders = state.web_chat.allowed_origins(bot_id).await?;
    let html = PAGE.replace(BOT_ID_SLOT, &bot_id.to_string());
    let policy = format!("{CONTENT_SECURITY_POLICY}; {}", frame_ancestors(&embedders));
    let mut response = secured(HttpResponse::Ok(), policy);
    if embedders.is_empty() {
        // For browsers that predate `frame-ancestors`.
        response.insert_header((header::X_FRAME_OPTIONS, "SAMEORIGIN"));
    }
    Ok(response
        .content_type(HTML)
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .body(html))
}
