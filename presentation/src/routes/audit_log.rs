//! `GET /api/v1/audit`: who changed what through the admin API, newest first.

use crate::auth::{Admin, Authenticated};
use crate::dto::audit::{AuditBody, AuditQuery};
use crate::dto::PageBody;
use crate::errors::ApiError;
use crate::AppState;
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit").route(web::get().to(list_audit)));
}

/// List the admin API's writes, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "operations",
    params(AuditQuery),
    responses((status = 200, description = "A page of writes, newest first: each with its key, route, parameters, the names of the fields it sent (never their values), its status, request id and client address.", body = PageBody<AuditBody>)),
    security(("api_key" = ["admin"]))
)]
async fn list_audit(
    _: Authenticated<Admin>,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<PageBody<AuditBody>>, ApiError> {
    let page = state
        .audit
        .list_audit(&query.filter()?, &query.page()?)
        .await?;
    Ok(web::Json(PageBody::from_page(page.map(AuditBody::from))))
}
