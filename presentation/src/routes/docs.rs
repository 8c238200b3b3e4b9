//! `GET /openapi.json`, `/asyncapi.json` and `/docs`: the HTTP and socket documents and a page rendering them, built into the binary.

use crate::pages::{static_file, CSS, HTML, JAVASCRIPT};
use crate::{asyncapi, openapi};
use actix_web::{web, HttpResponse, Resource};

const PAGE: &str = include_str!("../../assets/docs.html");
const SCRIPT: &str = include_str!("../../assets/docs.js");
const STYLE: &str = include_str!("../../assets/docs.css");

/// Nothing but this server's own files may load on the page.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(json_document("/openapi.json", openapi::document))
        .service(json_document("/asyncapi.json", asyncapi::document))
        .service(static_file("/docs", HTML, PAGE, CONTENT_SECURITY_POLICY))
        .service(static_file(
            "/docs/docs.js",
            JAVASCRIPT,
            SCRIPT,
            CONTENT_SECURITY_POLICY,
        ))
        .service(static_file(
            "/docs/docs.css",
            CSS,
            STYLE,
            CONTENT_SECURITY_POLICY,
        ));
}

/// `GET path`: a JSON document built once by `document`.
fn json_document(path: &str, document: fn() -> &'static str) -> Resource {
    web::resource(path).route(web::get().to(move || async move {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(document())
    }))
}
