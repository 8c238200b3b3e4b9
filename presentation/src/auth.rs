//! Admin API authentication: a scope middleware resolves the bearer key to its caller, and the
//! `Authenticated<R>` extractor requires at least role `R` in a handler's signature.

use crate::errors::ApiError;
use crate::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::middleware::Next;
use actix_web::{web, Error, FromRequest, HttpMessage, HttpRequest};
use application::Principal;
use domain::Role;
use std::future::{ready, Ready};
use std::marker::PhantomData;

/// Who the caller is (key and role), stored in the request's extensions by [`authenticate`].
#[derive(Debug, Clone)]
struct Caller(Principal);

/// The authenticated caller of this request, once [`authenticate`] has run.
pub fn caller(req: &impl HttpMessage) -> Option<Principal> {
    req.extensions()
        .get::<Caller>()
        .map(|caller| caller.0.clone())
}

/// Authenticates every request of the scope it wraps before any extractor runs, so an
/// anonymous caller learns nothing (not even whether a route or a bot exists): 401 otherwise.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    match caller_of(&req).await {
        Ok(principal) => {
            req.extensions_mut().insert(Caller(principal));
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
        Err(err) => Ok(req.error_response(err)),
    }
}

async fn caller_of(req: &ServiceRequest) -> Result<Principal, ApiError> {
    let key = bearer_key(req.headers()).ok_or(ApiError::Unauthenticated)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("AppState is not registered".into()))?;
    principal(state, key).await
}

/// The caller a presented key stands for: 401 when no active key matches.
pub async fn principal(state: &AppState, key: &str) -> Result<Principal, ApiError> {
    state
        .api_keys
        .authenticate(key)
        .await?
        .ok_or(ApiError::Unauthenticated)
}

/// The key of an `Authorization: Bearer <key>` header, if there is one.
pub fn bearer_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

pub trait RequiredRole {
    const ROLE: Role;
}

/// Reads conversations, bots and bindings.
pub struct Viewer;
/// A viewer that may also act on conversations.
pub struct Operator;
/// Everything, including writing bots and bindings.
pub struct Admin;

impl RequiredRole for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl RequiredRole for Operator {
    const ROLE: Role = Role::Operator;
}
impl RequiredRole for Admin {
    const ROLE: Role = Role::Admin;
}

/// Proof that the caller holds at least role `R`; put it first in a handler's arguments so the
/// 403 comes before any body is read. Without [`authenticate`] in front, it answers 401.
#[derive(Debug, Clone)]
pub struct Authenticated<R> {
    principal: Principal,
    required: PhantomData<R>,
}

impl<R> Authenticated<R> {
    /// Who the caller is.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

impl<R: RequiredRole> FromRequest for Authenticated<R> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match caller(req) {
            None => Err(ApiError::Unauthenticated),
            Some(principal) if !principal.role.allows(R::ROLE) => Err(ApiError::Forbidden(R::ROLE)),
            Some(principal) => Ok(Self {
                principal,
                required: PhantomData,
            }),
        })
    }
}
