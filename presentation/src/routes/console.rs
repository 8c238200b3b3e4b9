//! `GET /admin`: the admin console's page, script and style, built into the binary, under a strict CSP.

use crate::pages::{secured, static_file, CSS, HTML, JAVASCRIPT};
use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};

const PAGE: &str = include_str!("../../assets/console.html");
const SCRIPT: &str = include_str!("../../assets/console.js");
const STYLE: &str = include_str!("../../assets/console.css");

/// Nothing but this server's own script, style and API; no framing, no forms posted elsewhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin").route(web::get().to(page)))
        .service(static_file(
            "/admin/console.js",
            JAVASCRIPT,
            SCRIPT,
            CONTENT_SECURITY_POLICY,
        ))
        .service(static_file(
            "/admin/console.css",
            CSS,
            STYLE,
            CONTENT_SECURITY_POLICY,
        ));
}

/// Never cached: a new release's page must load its own script.
async fn page() -> HttpResponse {
    secured(HttpResponse::Ok(), CONTENT_SECURITY_POLICY.to_owned())
        .content_type(HTML)
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(PAGE)
}
