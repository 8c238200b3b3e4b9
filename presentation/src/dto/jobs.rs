//! The job queue as operators see it: a job's body, and the list's filter.

use crate::errors::ApiError;
use application::metrics::JOB_KINDS;
use application::ports::{JobFilter, JobPayload, JobRecord, JobState};
use chrono::{DateTime, Utc};
use domain::{BotId, Cursor, MessageId, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `?state=&kind=&bot_id=&cursor=&limit=`: newest first; a value that does not parse is a bad
/// query (400).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// `queued`, `waiting`, `running` or `dead`.
    #[param(value_type = Option<String>)]
    pub state: Option<String>,
    /// `reply`, `deliver`, `webhook` or `schedule`.
    #[param(value_type = Option<String>)]
    pub kind: Option<String>,
    #[param(value_type = Option<crate::openapi::schemas::Id>)]
    pub bot_id: Option<BotId>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1-200 (default 50; larger values are clamped).
    pub limit: Option<u32>,
}

impl JobQuery {
    pub fn filter(&self) -> Result<JobFilter, ApiError> {
        let state = self
            .state
            .as_deref()
            .map(|state| {
                JobState::parse(state).ok_or_else(|| {
                    ApiError::InvalidQuery("state: must be queued, waiting, running or dead".into())
                })
            })
            .transpose()?;
        if let Some(kind) = self.kind.as_deref() {
            if !JOB_KINDS.contains(&kind) {
                return Err(ApiError::InvalidQuery(
                    "kind: must be reply, deliver, webhook or schedule".into(),
                ));
            }
        }
        Ok(JobFilter {
            state,
            kind: self.kind.clone(),
            bot_id: self.bot_id,
        })
    }

    /// A job's cursor is its id, a positive number.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let after = match self.cursor.as_deref() {
            Some(cursor) if cursor.parse::<u64>().is_ok() => Some(Cursor(cursor.to_owned())),
            Some(_) => {
                return Err(ApiError::InvalidQuery(
                    "cursor: not a cursor this API gave out".into(),
                ))
            }
            None => None,
        };
        Ok(PageRequest::new(after, self.limit))
    }
}

/// A job of the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobBody {
    pub id: i64,
    /// `reply` (answer a message) or `deliver` (send a stored outbound message).
    pub kind: String,
    /// `queued`, `waiting` (behind its conversation's running job), `running` or `dead`.
    pub state: String,
    #[schema(value_type = Option<crate::openapi::schemas::Id>)]
    pub bot_id: Option<BotId>,
    /// The conversation whose messages it handles in order.
    pub lane: String,
    /// The message it answers or delivers.
    #[schema(value_type = Option<crate::openapi::schemas::Id>)]
    pub message_id: Option<MessageId>,
    /// Attempts so far (a wait for a limit or an open breaker is not one).
    pub attempts: u32,
    /// Why its last attempt failed, or why it died.
    pub last_error: Option<String>,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<JobRecord> for JobBody {
    fn from(job: JobRecord) -> Self {
        let message_id = job.payload.and_then(|payload| match payload {
            JobPayload::Reply { message_id } | JobPayload::Deliver { message_id, .. } => {
                Some(message_id)
            }
            JobPayload::Webhook { .. } | JobPayload::Schedule { .. } => None,
        });
        Self {
            id: job.id,
            kind: job.kind,
            state: job.state.as_str().to_owned(),
            bot_id: job.bot_id,
            lane: job.lane,
            message_id,
            attempts: job.attempts,
            last_error: job.last_error,
            run_at: job.run_at,
            created_at: job.created_at,
            updated_at: job.updated_at,
        }
    }
}
