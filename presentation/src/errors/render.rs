//! `ApiError` rendered as RFC 9457 problem+json, and bare error responses replaced by one.

use super::{ApiError, FieldError};
use crate::request_id;
use actix_web::body::BoxBody;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use application::web_chat::retry_after_secs;
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before retrying a 503 caused by unavailable storage.
const RETRY_AFTER_SECS: &str = "5";

/// The RFC 9457 body, with our `code` and `request_id` extension members.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Problem<'a> {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    kind: String,
    #[schema(value_type = String)]
    title: &'a str,
    status: u16,
    detail: String,
    /// Stable and machine-readable, e.g. `invalid_field`.
    #[schema(value_type = String)]
    code: &'a str,
    /// Matches the `X-Request-Id` header and the server's log line.
    request_id: Option<String>,
    /// The first invalid field (422 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    field: Option<&'a str>,
    /// Every invalid field, in name order (422 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<FieldError>)]
    errors: Option<&'a [FieldError]>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind().status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        self.log();
        let status = self.status_code();
        let code = self.code();
        let problem = Problem {
            kind: format!("urn:switchboard:problem:{code}"),
            title: self.kind().title,
            status: status.as_u16(),
            detail: self.detail(),
            code,
            request_id: request_id::current(),
            field: self
                .field_errors()
                .and_then(|errors| errors.first())
                .map(|error| error.field.as_ref()),
            errors: self.field_errors(),
        };
        let mut response = HttpResponse::build(status);
        response.content_type(PROBLEM_JSON);
        match self {
            Self::Unauthenticated => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
            }
            Self::Busy => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            Self::RateLimited { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs(*retry_after)));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

/// Replaces a bare error response (one not already problem+json) by the matching problem, so
/// that even actix's own 404/405 answers follow the contract.
pub fn ensure_problem(response: HttpResponse<BoxBody>) -> HttpResponse<BoxBody> {
    let status = response.status();
    if status.as_u16() < 400 || is_problem(&response) {
        return response;
    }
    if let Some(cause) = response.error() {
        if status.is_server_error() {
            tracing::error!(%cause, %status, "replacing a bare error response");
        } else {
            tracing::debug!(%cause, %status, "replacing a bare error response");
        }
    }
    let mut problem = ApiError::from_status(status).error_response();
    // Keep what the original answer said besides its body, such as `Allow` on a 405.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().append(name.clone(), value.clone());
        }
    }
    problem
}

fn is_problem(response: &HttpResponse<BoxBody>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value: &HeaderValue| value.to_str().ok())
        .is_some_and(|value| value.starts_with(PROBLEM_JSON))
}
