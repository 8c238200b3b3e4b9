//! `GET /chat/{bot_id}`: the chat page and its script and style, built into the binary.

use crate::errors::ApiError;
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
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/chat/assets/chat.js").route(web::get().to(script)))
        .service(web::resource("/chat/assets/chat.css").route(web::get().to(style)))
        .service(web::resource("/chat/{bot_id}").route(web::get().to(page)));
}

/// The page of a bot bound to the web chat; 404 otherwise.
async fn page(
    state: web::Data<AppState>,
    bot_id: web::Path<BotId>,
) -> Result<HttpResponse, ApiError> {
    let bot_id = bot_id.into_inner();
    state.web_chat.ensure_bound(bot_id).await?;
    let html = PAGE.replace(BOT_ID_SLOT, &bot_id.to_string());
    Ok(secured(HttpResponse::Ok())
        .content_type("text/html; charset=utf-8")
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .body(html))
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    secured(HttpResponse::Ok())
        .content_type(content_type)
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(300),
        ]))
        .body(body)
}

/// The CSP and its companions.
fn secured(mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    response
}
