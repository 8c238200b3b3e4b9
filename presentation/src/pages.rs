//! The built-in pages' answers (`/docs`, `/chat`): each under its Content-Security-Policy and
//! the headers that go with it, assets cacheable for a while.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, HttpResponse, HttpResponseBuilder, Resource};

pub const HTML: &str = "text/html; charset=utf-8";
pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
pub const CSS: &str = "text/css; charset=utf-8";

/// How long a browser may keep a built-in script or style, in seconds.
const ASSET_MAX_AGE: u32 = 300;

/// A built-in file served under `policy`, cacheable by anyone for [`ASSET_MAX_AGE`].
fn asset(content_type: &str, body: &'static str, policy: &'static str) -> HttpResponse {
    secured(HttpResponse::Ok(), policy.to_owned())
        .content_type(content_type)
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(ASSET_MAX_AGE),
        ]))
        .body(body)
}

/// `GET path`: a built-in file, served as [`asset`] serves it.
pub fn static_file(
    path: &str,
    content_type: &'static str,
    body: &'static str,
    policy: &'static str,
) -> Resource {
    web::resource(path)
        .route(web::get().to(move || async move { asset(content_type, body, policy) }))
}

/// `response` with the CSP `policy` and its companions: no content sniffing, no referrer.
pub fn secured(mut response: HttpResponseBuilder, policy: String) -> HttpResponseBuilder {
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, policy))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    response
}
