//! `/api/v1/jobs`: the job queue for operators — list jobs, put a dead one back, or discard it.

use crate::auth::{Authenticated, Operator};
use crate::dto::jobs::{JobBody, JobQuery};
use crate::dto::PageBody;
use crate::errors::{ApiError, Problem};
use crate::AppState;
use actix_web::{web, HttpResponse};
use application::ports::{DeadJob, JobRecord};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/jobs").route(web::get().to(list)))
        .service(web::resource("/jobs/{id}").route(web::delete().to(discard)))
        .service(web::resource("/jobs/{id}/retry").route(web::post().to(retry)));
}

/// List the queue's jobs, newest first: the dead ones with why they died.
#[utoipa::path(
    get,
    path = "/api/v1/jobs",
    tag = "operations",
    params(JobQuery),
    responses((status = 200, description = "A page of jobs, newest first.", body = PageBody<JobBody>)),
    security(("api_key" = ["operator"]))
)]
async fn list(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    query: web::Query<JobQuery>,
) -> Result<web::Json<PageBody<JobBody>>, ApiError> {
    let page = state
        .dead_letters
        .list_jobs(&query.filter()?, &query.page()?)
        .await?;
    Ok(web::Json(PageBody::from_page(page.map(JobBody::from))))
}

/// Put a dead job back in its conversation's queue.
#[utoipa::path(
    post,
    path = "/api/v1/jobs/{id}/retry",
    tag = "operations",
    params(("id" = i64, Path, description = "The job's id.")),
    responses(
        (status = 200, description = "Queued again, its attempts counted afresh; a delivery's message is `pending` again and keeps the parts it sent, a reply already written is not asked for again.", body = JobBody),
        (status = 409, description = "The job is not dead.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["operator"]))
)]
async fn retry(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<JobBody>, ApiError> {
    let now = state.clock.now();
    let revived = settled(state.dead_letters.revive(*id, now).await?)?;
    Ok(web::Json(revived.into()))
}

/// Discard a dead job; a delivery's message stays failed.
#[utoipa::path(
    delete,
    path = "/api/v1/jobs/{id}",
    tag = "operations",
    params(("id" = i64, Path, description = "The job's id.")),
    responses(
        (status = 204, description = "Discarded."),
        (status = 409, description = "The job is not dead.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["operator"]))
)]
async fn discard(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    settled(state.dead_letters.discard(*id).await?)?;
    Ok(HttpResponse::NoContent().finish())
}

/// The job acted on, or why nothing was done.
fn settled(outcome: DeadJob) -> Result<JobRecord, ApiError> {
    match outcome {
        DeadJob::Done(job) => Ok(job),
        DeadJob::NotDead(state) => Err(ApiError::JobNotDead(state.as_str())),
        DeadJob::Missing => Err(ApiError::not_found("job")),
    }
}
