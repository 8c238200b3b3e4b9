//! `Idempotency-Key` on admin API POSTs: the first answer per caller and key is replayed to retries.

use crate::auth;
use crate::errors::ApiError;
use crate::extractors::{read_body, JsonBodyLimit};
use crate::AppState;
use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};
use application::idempotency::{fingerprint, valid_key};
use application::ports::{IdempotentRequest, StoredResponse};
use application::{Begin, Idempotency, Ticket};
use std::sync::Arc;

/// The request header naming the key.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The response header marking a replayed answer.
pub const IDEMPOTENCY_REPLAYED: HeaderName = HeaderName::from_static("idempotency-replayed");
/// The response headers kept with an answer and replayed.
const REPLAYED_HEADERS: [HeaderName; 2] = [header::CONTENT_TYPE, header::LOCATION];

/// Runs a keyed POST once per caller and key. Must sit inside `auth::authenticate`, whose
/// caller scopes the keys. Requests without the header pass through untouched.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.method() != Method::POST || !req.headers().contains_key(IDEMPOTENCY_KEY) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let begun = match begin(&mut req).await {
        Ok(begun) => begun,
        Err(err) => return Ok(req.error_response(err)),
    };
    match begun {
        (Begin::Proceed(ticket), idempotency) => run(req, next, &idempotency, &ticket).await,
        (Begin::Replay(answer), _) => Ok(req.into_response(replay(answer))),
        (Begin::Withheld, _) => Ok(req.error_response(ApiError::IdempotentAnswerWithheld)),
        (Begin::InUse, _) => Ok(req.error_response(ApiError::IdempotencyKeyInUse)),
        (Begin::Reused, _) => Ok(req.error_response(ApiError::IdempotencyKeyReused)),
    }
}

/// Reads the key and the body (put back for the handler) and claims the key.
async fn begin(req: &mut ServiceRequest) -> Result<(Begin, Arc<Idempotency>), ApiError> {
    let key = presented_key(req)?;
    let scope = auth::caller(req)
        .ok_or_else(|| ApiError::Internal("idempotency runs before authentication".into()))?
        .scope();
    let (idempotency, limit) = settings(req)?;
    let payload = req
        .extract::<web::Payload>()
        .await
        .map_err(|_| ApiError::BadRequest)?;
    let body = read_body(req.request(), payload, limit).await?;
    let target = req
        .uri()
        .path_and_query()
        .map_or(req.path(), |pq| pq.as_str());
    let request = IdempotentRequest {
        scope,
        key,
        fingerprint: fingerprint(req.method().as_str(), target, &body),
    };
    req.set_payload(Payload::from(body));
    Ok((idempotency.begin(request).await?, idempotency))
}

/// The one `Idempotency-Key` header, if it is 1-255 visible ASCII characters: 400 otherwise.
fn presented_key(req: &ServiceRequest) -> Result<String, ApiError> {
    let mut values = req.headers().get_all(IDEMPOTENCY_KEY);
    let invalid = |reason: String| ApiError::InvalidIdempotencyKey(reason);
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(invalid("must be sent once".into()));
    };
    let text = value
        .to_str()
        .map_err(|_| invalid("must be visible ASCII".into()))?;
    valid_key(text)
        .map(str::to_owned)
        .map_err(|err| invalid(err.reason))
}

fn settings(req: &ServiceRequest) -> Result<(Arc<Idempotency>, usize), ApiError> {
    let missing = |what: &str| ApiError::Internal(format!("{what} is not registered"));
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| missing("AppState"))?;
    let limit = req
        .app_data::<web::Data<JsonBodyLimit>>()
        .ok_or_else(|| missing("JsonBodyLimit"))?;
    Ok((state.idempotency.clone(), limit.0))
}

/// Runs the claimed request and keeps its answer (the use case drops server errors).
async fn run(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    idempotency: &Idempotency,
    ticket: &Ticket,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let (req, response) = match next.call(req).await {
        Ok(res) => res.into_parts(),
        Err(err) => {
            abandon(idempotency, ticket).await;
            return Err(err);
        }
    };
    let (head, body) = response.into_parts();
    let bytes = match body::to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(err) => {
            abandon(idempotency, ticket).await;
            let cause: Box<dyn std::error::Error> = err.into();
            let failure = HttpResponse::from_error(ApiError::Internal(cause.to_string()));
            return Ok(ServiceResponse::new(req, failure));
        }
    };
    if let Err(err) = idempotency.finish(ticket, kept(&head, &bytes)).await {
        tracing::error!(%err, "could not store the answer to an idempotent request");
    }
    Ok(ServiceResponse::new(
        req,
        head.set_body(BoxBody::new(bytes)),
    ))
}

/// Releases the claim of a request that failed to answer; a failure is logged (the claim's
/// hold runs out on its own).
async fn abandon(idempotency: &Idempotency, ticket: &Ticket) {
    if let Err(err) = idempotency.abandon(ticket).await {
        tracing::warn!(%err, "could not release an idempotency claim");
    }
}

/// The answer as stored: its status, replayed headers and body, unless the body is marked
/// `no-store` (it carries a secret shown once, which must not rest in the database).
fn kept(head: &HttpResponse<()>, bytes: &[u8]) -> StoredResponse {
    let headers = REPLAYED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = head.headers().get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    StoredResponse {
        status: head.status().as_u16(),
        headers,
        body: (!is_no_store(head)).then(|| bytes.to_vec()),
    }
}

fn is_no_store(head: &HttpResponse<()>) -> bool {
    head.headers()
        .get_all(header::CACHE_CONTROL)
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.to_ascii_lowercase().contains("no-store"))
}

/// A stored answer as it was first sent, marked as a replay.
fn replay(answer: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    for (name, value) in &answer.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.insert_header((name.as_str(), value));
        }
    }
    response
        .insert_header((IDEMPOTENCY_REPLAYED, "true"))
        .body(answer.body.unwrap_or_default())
}
