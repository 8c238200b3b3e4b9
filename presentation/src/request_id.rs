//! Request ids: the middleware that exposes tracing-actix-web's id to error bodies and the `X-Request-Id` header, and stamps the headers every answer carries.

use crate::errors::{ensure_problem, ApiError};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use tracing_actix_web::RequestId;

/// The response header carrying the request id.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The id of the request whose future is running: set around the inner service call, so
    /// handlers, extractors and `ResponseError::error_response` can all read it.
    static REQUEST_ID: String;
}

/// The current request's id, when called while a request is being served.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Scopes the request id around the rest of the chain, makes every error response problem+json
/// and stamps `X-Request-Id` and `X-Content-Type-Options: nosniff` on the answer. Must sit inside `TracingLogger`, whose id it reuses
/// (so the log span, the header and the body agree).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), ToString::to_string);
    let outcome = REQUEST_ID
        .scope(id.clone(), async move {
            match AssertUnwindSafe(next.call(req)).catch_unwind().await {
                Ok(Ok(res)) => {
                    let (req, response) = res.map_into_boxed_body().into_parts();
                    Ok(ServiceResponse::new(req, ensure_problem(response)))
                }
                // An error escaping the chain is rendered here, while the id is in scope.
                Ok(Err(err)) => Err((err.to_string(), ensure_problem(err.error_response()))),
                // A panicking handler still gets an answer, instead of a dropped connection.
                Err(_) => {
                    let panicked = ApiError::Internal("a request handler panicked".into());
                    Err((panicked.to_string(), panicked.error_response()))
                }
            }
        })
        .await;
    match outcome {
        Ok(mut res) => {
            stamp(res.headers_mut(), &id);
            Ok(res)
        }
        Err((cause, mut response)) => {
            stamp(response.headers_mut(), &id);
            Err(InternalError::from_response(cause, response).into())
        }
    }
}

fn stamp(headers: &mut HeaderMap, id: &str) {
    if let Ok(value) = HeaderValue::from_str(id) {
        headers.insert(X_REQUEST_ID, value);
    }
    // No answer is to be read as anything but its declared type (a problem body as HTML, say).
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}
