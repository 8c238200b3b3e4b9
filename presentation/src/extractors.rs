//! Extractor configurations whose failures become `ApiError`s, and the bounded raw-body reader.

use crate::errors::ApiError;
use crate::limits::is_deadline;
use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::web::{self, Bytes};
use actix_web::HttpRequest;

/// JSON bodies: bounded, `application/json` only, errors as problems (400 / 413 / 415).
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| json_error(err).into())
}

/// Path segments that do not parse (a bad id, an unknown platform) name no resource: 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| path_error(err).into())
}

/// Query strings that do not parse: 400 naming the problem.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| query_error(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::PayloadTooLarge { limit },
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType("application/json".into()),
        JsonPayloadError::Deserialize(cause) => ApiError::MalformedJson(cause.to_string()),
        JsonPayloadError::Payload(err) => payload_error(&err),
        other => ApiError::MalformedJson(other.to_string()),
    }
}

fn path_error(err: PathError) -> ApiError {
    tracing::debug!(%err, "path did not parse");
    ApiError::NotFound("no such resource".into())
}

fn query_error(err: QueryPayloadError) -> ApiError {
    match err {
        QueryPayloadError::Deserialize(cause) => ApiError::InvalidQuery(cause.to_string()),
        other => ApiError::InvalidQuery(other.to_string()),
    }
}

/// The limit on raw webhook bodies, registered as app data by [`crate::app`].
#[derive(Debug, Clone, Copy)]
pub struct RawBodyLimit(pub usize);

/// The limit on admin API JSON bodies, registered as app data by [`crate::app`] for the
/// middleware that reads them before the `Json` extractor does.
#[derive(Debug, Clone, Copy)]
pub struct JsonBodyLimit(pub usize);

/// Reads the whole body, refusing it (413) beyond `limit` — early when `Content-Length` says so.
pub async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(err)) => Err(match err.as_error::<PayloadError>() {
            Some(err) => payload_error(err),
            None => ApiError::BadRequest,
        }),
        Err(_) => Err(ApiError::PayloadTooLarge { limit }),
    }
}

/// A body that could not be read: 408 past the read deadline, else 400.
fn payload_error(err: &PayloadError) -> ApiError {
    if is_deadline(err) {
        return ApiError::BodyTimeout;
    }
    tracing::debug!(%err, "could not read the body");
    ApiError::BadRequest
}
