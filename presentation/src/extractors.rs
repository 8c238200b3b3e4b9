//! Extractor configurations whose failures become `ApiError`s, an optional JSON body, and the bounded raw-body reader.

use crate::errors::ApiError;
use crate::limits::is_deadline;
use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest};
use futures::future::{ready, LocalBoxFuture};
use serde::de::DeserializeOwned;

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

/// A JSON body that may be left out: no body at all stands for `T::default()`; a body that is
/// sent is read as `web::Json` reads it (same limit, media type and errors).
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if has_no_body(req) {
            return Box::pin(ready(Ok(Self(T::default()))));
        }
        let json = web::Json::<T>::from_request(req, payload);
        Box::pin(async move { Ok(Self(json.await?.into_inner())) })
    }
}

/// The request says it carries no body: `Content-Length: 0`, or neither a length nor chunks.
fn has_no_body(req: &HttpRequest) -> bool {
    let headers = req.headers();
    match headers.get(CONTENT_LENGTH) {
        Some(length) => length.as_bytes() == b"0",
        None => !headers.contains_key(TRANSFER_ENCODING),
    }
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
        .get(CONTENT_LENGTH)
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
