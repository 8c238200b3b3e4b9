//! `/api/v1/providers`: the model providers bots may ask instead of the server's `ai.*` —
//! create, list, read, update and delete; a provider's key is taken, never shown.

use crate::auth::{Admin, Authenticated, Viewer};
use crate::dto::{CreateProvider, PageBody, PageQuery, ProviderBody, UpdateProvider};
use crate::errors::ApiError;
use crate::openapi::schemas::Id;
use crate::AppState;
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use domain::ProviderId;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/providers")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/providers/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    );
}

/// Add a provider: OpenAI, Azure OpenAI, or any OpenAI-compatible endpoint (Ollama, vLLM, …).
#[utoipa::path(
    post,
    path = "/api/v1/providers",
    tag = "providers",
    request_body = CreateProvider,
    responses((status = 201, description = "Created; `Location` names it. The key is not in the answer.", body = ProviderBody)),
    security(("api_key" = ["admin"]))
)]
async fn create(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    body: web::Json<CreateProvider>,
) -> Result<HttpResponse, ApiError> {
    let provider = state
        .providers
        .create(body.into_inner().into_draft()?)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/providers/{}", provider.id)))
        .json(ProviderBody::from(provider)))
}

/// List providers.
#[utoipa::path(
    get,
    path = "/api/v1/providers",
    tag = "providers",
    params(PageQuery),
    responses((status = 200, description = "A page of providers, oldest first.", body = PageBody<ProviderBody>)),
    security(("api_key" = ["viewer"]))
)]
async fn list(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<PageBody<ProviderBody>>, ApiError> {
    let page = state.providers.list(&query.page()?).await?;
    Ok(web::Json(PageBody::from_page(page)))
}

/// Read a provider (without its key).
#[utoipa::path(
    get,
    path = "/api/v1/providers/{id}",
    tag = "providers",
    params(("id" = Id, Path, description = "The provider's id.")),
    responses((status = 200, description = "The provider.", body = ProviderBody)),
    security(("api_key" = ["viewer"]))
)]
async fn get(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<ProviderId>,
) -> Result<web::Json<ProviderBody>, ApiError> {
    Ok(web::Json(state.providers.get(*id).await?.into()))
}

/// Change some of a provider's fields: an absent field stays (the key too), `prices: null`
/// clears the prices. Bots that use it ask the revised provider from their next reply on.
#[utoipa::path(
    patch,
    path = "/api/v1/providers/{id}",
    tag = "providers",
    params(("id" = Id, Path, description = "The provider's id.")),
    request_body = UpdateProvider,
    responses((status = 200, description = "The provider as revised.", body = ProviderBody)),
    security(("api_key" = ["admin"]))
)]
async fn update(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    id: web::Path<ProviderId>,
    body: web::Json<UpdateProvider>,
) -> Result<web::Json<ProviderBody>, ApiError> {
    let patch = body.into_inner().into_patch()?;
    let provider = state.providers.update(*id, patch).await?;
    Ok(web::Json(provider.into()))
}

/// Delete a provider no bot uses.
#[utoipa::path(
    delete,
    path = "/api/v1/providers/{id}",
    tag = "providers",
    params(("id" = Id, Path, description = "The provider's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 409, description = "A bot uses it (`provider_in_use`): point the bot at another provider, or at none, first.", body = crate::errors::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["admin"]))
)]
async fn delete(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    id: web::Path<ProviderId>,
) -> Result<HttpResponse, ApiError> {
    state.providers.delete(*id).await?;
    Ok(HttpResponse::NoContent().finish())
}
