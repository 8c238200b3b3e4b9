//! `/api/v1/schedules`: the schedules (idle conversations ended, retention, housekeeping) with their last and next runs, for operators.

use crate::auth::{Authenticated, Operator};
use crate::dto::ListBody;
use crate::errors::ApiError;
use crate::AppState;
use actix_web::web;
use application::ports::ScheduleRecord;
use application::schedules::Schedule;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/schedules").route(web::get().to(list_schedules)));
}

/// A schedule: what it does, how often, when it last ran and what that run did, when it runs next.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleBody {
    /// `idle_conversations`, `retention` or `housekeeping`.
    #[schema(example = "retention")]
    pub name: String,
    /// It runs at most once per this many seconds.
    pub every_seconds: i64,
    pub last_run_at: Option<DateTime<Utc>>,
    /// What its last run did (`deleted 500 messages and 3 conversations`), or why it failed.
    pub last_outcome: Option<String>,
    /// When it is due; `null` until a process that runs jobs has started.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Whether a replica is running it now (one at a time).
    pub running: bool,
}

impl From<ScheduleRecord> for ScheduleBody {
    fn from(record: ScheduleRecord) -> Self {
        let every = Schedule::parse(&record.name).map(Schedule::period);
        Self {
            every_seconds: every.map_or(0, |period| period.num_seconds()),
            name: record.name,
            last_run_at: record.last_run_at,
            last_outcome: record.last_outcome,
            next_run_at: record.next_run_at,
            running: record.running,
        }
    }
}

/// The schedules, by name, with their last and next runs.
#[utoipa::path(
    get,
    path = "/api/v1/schedules",
    tag = "operations",
    responses((status = 200, description = "Every schedule, by name.", body = ListBody<ScheduleBody>)),
    security(("api_key" = ["operator"]))
)]
async fn list_schedules(
    _: Authenticated<Operator>,
    state: web::Data<AppState>,
) -> Result<web::Json<ListBody<ScheduleBody>>, ApiError> {
    let records = state.schedules.list().await?;
    Ok(web::Json(ListBody {
        items: records.into_iter().map(ScheduleBody::from).collect(),
    }))
}
