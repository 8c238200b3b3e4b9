//! `/api/v1/webhooks`: the outgoing webhooks — create, list, read, update and delete (admin; the secret is shown only in the answer that set it) — and each one's deliveries, listed and sent again.

use crate::auth::{Admin, Authenticated, Operator, Viewer};
use crate::dto::{CreateWebhook, DeliveryBody, PageBody, PageQuery, UpdateWebhook, WebhookBody};
use crate::errors::ApiError;
use crate::openapi::schemas::Id;
use crate::AppState;
use actix_web::{web, HttpResponse};
use domain::{DeliveryId, WebhookId};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhooks")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/webhooks/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/webhooks/{id}/deliveries").route(web::get().to(deliveries)))
    .service(
        web::resource("/webhooks/{id}/deliveries/{delivery_id}/retry").route(web::post().to(retry)),
    );
}

/// Subscribe a URL to events: each is posted as JSON, signed as Standard Webhooks says.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "outgoing-webhooks",
    request_body = CreateWebhook,
    responses((status = 201, description = "Created; `Location` names it. The answer shows the secret, this once (`Cache-Control: no-store`).", body = WebhookBody)),
    security(("api_key" = ["admin"]))
)]
async fn create(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    body: web::Json<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let subscribed = state
        .webhooks
        .create(body.into_inner().into_request()?)
        .await?;
    Ok(WebhookBody::answer(subscribed, true))
}

/// List the outgoing webhooks.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "outgoing-webhooks",
    params(PageQuery),
    responses((status = 200, description = "A page of webhooks, oldest first, without their secrets.", body = PageBody<WebhookBody>)),
    security(("api_key" = ["viewer"]))
)]
async fn list(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<PageBody<WebhookBody>>, ApiError> {
    let page = state.webhooks.list(&query.page()?).await?;
    Ok(web::Json(PageBody::from_page(page)))
}

/// Read a webhook (without its secret): whether it is enabled, and why not.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "outgoing-webhooks",
    params(("id" = Id, Path, description = "The webhook's id.")),
    responses((status = 200, description = "The webhook.", body = WebhookBody)),
    security(("api_key" = ["viewer"]))
)]
async fn get(
    _: Authenticated<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<WebhookId>,
) -> Result<web::Json<WebhookBody>, ApiError> {
    Ok(web::Json(state.webhooks.get(*id).await?.into()))
}

/// Change some of a webhook's fields; `enabled: true` enables a disabled one.
#[utoipa::path(
    patch,
    path = "/api/v1/webhooks/{id}",
    tag = "outgoing-webhooks",
    params(("id" = Id, Path, description = "The webhook's id.")),
    request_body = UpdateWebhook,
    responses((status = 200, description = "The webhook as revised; with a new `secret`, the answer shows it this once.", body = WebhookBody)),
    security(("api_key" = ["admin"]))
)]
async fn update(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    id: web::Path<WebhookId>,
    body: web::Json<UpdateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.into_inner().into_patch()?;
    let subscribed = state.webhooks.update(*id, patch).await?;
    Ok(WebhookBody::answer(subscribed, false))
}

/// Delete a webhook with its deliveries; nothing more is sent to it.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "outgoing-webhooks",
    params(("id" = Id, Path, description = "The webhook's id.")),
    responses((status = 204, description = "Deleted.")),
    security(("api_key" = ["admin"]))
)]
async fn delete(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    id: web::Path<WebhookId>,
) -> Result<HttpResponse, ApiError> {
    state.webhooks.delete(*id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A webhook's deliveries, newest first, each with its attempts and their status codes.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "outgoing-webhooks",
    params(("id" = Id, Path, description = "The webhook's id."), PageQuery),
    responses((status = 200, description = "A page of deliveries, newest first.", body = PageBody<DeliveryBody>)),
    security(("api_key" = ["operator"]))
)]
async fn deliveries(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    id: web::Path<WebhookId>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<PageBody<DeliveryBody>>, ApiError> {
    let page = state.webhooks.deliveries(*id, &query.page()?).await?;
    Ok(web::Json(PageBody::from_page(page)))
}

/// Send a delivered or failed delivery again, under the same event id.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry",
    tag = "outgoing-webhooks",
    params(
        ("id" = Id, Path, description = "The webhook's id."),
        ("delivery_id" = Id, Path, description = "The delivery's id.")
    ),
    responses(
        (status = 200, description = "Pending again, queued behind the conversation's other deliveries to this webhook.", body = DeliveryBody),
        (status = 409, description = "It is pending already (`delivery_pending`).", body = crate::errors::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["operator"]))
)]
async fn retry(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    path: web::Path<(WebhookId, DeliveryId)>,
) -> Result<web::Json<DeliveryBody>, ApiError> {
    let (id, delivery) = path.into_inner();
    Ok(web::Json(state.webhooks.retry(id, delivery).await?.into()))
}
