//! The audit log's writer: every admin API write (POST, PUT, PATCH, DELETE under `/api/v1`, the REST channel's chat messages apart) recorded once answered — the caller's key, the route and its parameters, the body's field names (never their values), the status, the request id and the client's address.

use crate::auth;
use crate::client::client_address;
use crate::errors::ApiError;
use crate::extractors::{read_body, JsonBodyLimit};
use crate::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error};
use application::ports::AuditEntry;
use domain::EventId;
use std::collections::BTreeMap;

/// Path parameters that name a person rather than a resource: kept out of the log (an
/// erasure is recorded without whom it erased).
const PERSONAL: [&str; 1] = ["user_id"];
/// Writes under `/api/v1` that are a channel's traffic, not administration: the REST channel's
/// chat messages.
const NOT_ADMINISTRATION: [&str; 1] = ["/api/v1/bots/{id}/chat"];

/// Records the write once it is answered. Must sit inside `auth::authenticate`, whose caller
/// it records; reads and unauthenticated requests pass through untouched. A failed append is
/// logged, and the answer still goes out: the write has happened.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let caller = auth::caller(&req);
    let (Some(caller), true) = (caller, is_write(req.method())) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let fields = match field_names(&mut req).await {
        Ok(fields) => fields,
        Err(error) => return Ok(req.error_response(error)),
    };
    let source_ip = client_address(req.request()).to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    let response = next.call(req).await?.map_into_boxed_body();
    let Some(state) = state else {
        return Ok(response);
    };
    let request = response.request();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| request.path().to_owned());
    if NOT_ADMINISTRATION.contains(&route.as_str()) {
        return Ok(response);
    }
    let entry = AuditEntry {
        id: EventId::new(),
        at: state.clock.now(),
        key_id: caller.key_id,
        key_name: caller.name,
        role: caller.role,
        method,
        route,
        params: request
            .match_info()
            .iter()
            .filter(|(name, _)| !PERSONAL.contains(name))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect::<BTreeMap<_, _>>(),
        fields,
        status: response.status().as_u16(),
        request_id: crate::request_id::current(),
        source_ip: Some(source_ip),
    };
    if let Err(error) = state.audit.append(&entry).await {
        tracing::error!(%error, route = %entry.route, "an admin write was not recorded in the audit log");
    }
    Ok(response)
}

fn is_write(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

/// The names of the JSON body's top-level fields, sorted (the body is put back for the
/// handler); none for an empty body or one that is not a JSON object.
async fn field_names(req: &mut ServiceRequest) -> Result<Vec<String>, ApiError> {
    let limit = req
        .app_data::<web::Data<JsonBodyLimit>>()
        .map_or(usize::MAX, |limit| limit.0);
    let payload = req
        .extract::<web::Payload>()
        .await
        .map_err(|_| ApiError::BadRequest)?;
    let body = read_body(req.request(), payload, limit).await?;
    let fields = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(object)) => object.keys().cloned().collect(),
        _ => Vec::new(),
    };
    req.set_payload(Payload::from(body));
    Ok(fields)
}
