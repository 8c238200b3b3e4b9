//! `GET /openapi.json`, `/asyncapi.json` and `/docs`: the HTTP and socket documents and a page rendering them, built into the binary.

use crate::pages::asset;
use crate::{asyncapi, openapi};
use actix_web::{web, HttpResponse};

const PAGE: &str = include_str!("../../assets/docs.html");
const SCRIPT: &str = include_str!("../../assets/docs.js");
const STYLE: &str = include_str!("../../assets/docs.css");

/// Nothing but this server's own files may load on the page.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/openapi.json").route(web::get().to(document)))
        .service(web::resource("/asyncapi.json").route(web::get().to(sockets)))
        .service(web::resource("/docs").route(web::get().to(page)))
        .service(web::resource("/docs/docs.js").route(web::get().to(script)))
        .service(web::resource("/docs/docs.css").route(web::get().to(style)));
}

async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi::document())
}

async fn sockets() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(asyncapi::document())
}

async fn page() -> HttpResponse {
    asset("text/html; charset=utf-8", PAGE, CONTENT_SECURITY_POLICY)
}

async fn script() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        SCRIPT,
        CONTENT_SECURITY_POLICY,
    )
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE, CONTENT_SECURITY_POLICY)
}
