//! `/api/v1/api-keys` (admin only): issue a key, shown once; list keys; revoke a key. `/api/v1/me`: the calling key.

use crate::auth::{Admin, Authenticated, Viewer};
use crate::dto::{ApiKeyBody, CallerBody, CreateApiKey, IssuedKeyBody, PageBody, PageQuery};
use crate::errors::ApiError;
use crate::openapi::schemas::Id;
use crate::AppState;
use actix_web::{web, HttpResponse};
use domain::ApiKeyId;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api-keys")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/api-keys/{id}").route(web::delete().to(revoke)))
    .service(web::resource("/me").route(web::get().to(me)));
}

/// Issue an API key, shown this once (`Cache-Control: no-store`).
#[utoipa::path(
    post,
    path = "/api/v1/api-keys",
    tag = "api-keys",
    request_body = CreateApiKey,
    responses((status = 201, description = "The key, shown once, and its record.", body = IssuedKeyBody)),
    security(("api_key" = ["admin"]))
)]
async fn create(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    body: web::Json<CreateApiKey>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner().into_new()?;
    let issued = state
        .api_keys
        .issue(&new.name, new.role, new.expires_at)
        .await?;
    Ok(IssuedKeyBody::created(issued))
}

/// List API keys: never the keys themselves nor their digests.
#[utoipa::path(
    get,
    path = "/api/v1/api-keys",
    tag = "api-keys",
    params(PageQuery),
    responses((status = 200, description = "A page of keys, oldest first.", body = PageBody<ApiKeyBody>)),
    security(("api_key" = ["admin"]))
)]
async fn list(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<PageBody<ApiKeyBody>>, ApiError> {
    let page = state.api_keys.list(&query.page()?).await?;
    Ok(web::Json(PageBody::from_page(page)))
}

/// Revoke an API key: it is refused from then on.
#[utoipa::path(
    delete,
    path = "/api/v1/api-keys/{id}",
    tag = "api-keys",
    params(("id" = Id, Path, description = "The key's id.")),
    responses((status = 204, description = "Revoked.")),
    security(("api_key" = ["admin"]))
)]
async fn revoke(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    id: web::Path<ApiKeyId>,
) -> Result<HttpResponse, ApiError> {
    state.api_keys.revoke(*id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who the caller is: the key's id and name (`null` for the bootstrap key) and role, so that a
/// client shows only what the key may do.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "api-keys",
    responses((status = 200, description = "The calling key.", body = CallerBody)),
    security(("api_key" = ["viewer"]))
)]
async fn me(caller: Authenticated<Viewer>) -> web::Json<CallerBody> {
    let principal = caller.principal();
    web::Json(CallerBody {
        key_id: principal.key_id,
        name: principal.name.clone(),
        role: principal.role,
    })
}
