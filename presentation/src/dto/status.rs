//! The status answer: each circuit breaker's state and figures, and the job queue's counts.

use application::breakers::{BreakerStatus, State};
use application::ports::StoreReading;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusBody {
    /// This replica's breakers, by name; each replica keeps its own.
    pub breakers: Vec<BreakerBody>,
    pub queue: QueueBody,
}

/// One breaker: `provider:default`, `provider:{id}` or `{platform}:{bot_id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakerBody {
    pub name: String,
    /// `closed`, `open` (calls wait until `until`) or `half_open` (one probe out since `since`).
    #[schema(pattern = "^(closed|open|half_open)$")]
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    /// Calls and failures in the current window.
    pub calls: u32,
    pub failures: u32,
}

/// Every replica's jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueBody {
    /// Only the (kind, state) pairs that have jobs: `queued`, `running` or `dead`.
    pub jobs: Vec<JobCountBody>,
    /// Per kind, since when its oldest due job has waited.
    pub oldest_due: Vec<OldestDueBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobCountBody {
    pub kind: String,
    pub state: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OldestDueBody {
    pub kind: String,
    pub since: DateTime<Utc>,
}

impl StatusBody {
    pub fn new(breakers: Vec<BreakerStatus>, queue: StoreReading) -> Self {
        Self {
            breakers: breakers.into_iter().map(BreakerBody::from).collect(),
            queue: QueueBody {
                jobs: (queue.jobs.into_iter())
                    .map(|count| JobCountBody {
                        kind: count.kind,
                        state: count.state,
                        count: count.count,
                    })
                    .collect(),
                oldest_due: (queue.oldest_due.into_iter())
                    .map(|(kind, since)| OldestDueBody { kind, since })
                    .collect(),
            },
        }
    }
}

impl From<BreakerStatus> for BreakerBody {
    fn from(status: BreakerStatus) -> Self {
        let (until, since) = match status.state {
            State::Closed => (None, None),
            State::Open { until } => (Some(until), None),
            State::HalfOpen { since } => (None, Some(since)),
        };
        Self {
            name: status.name,
            state: status.state.as_str(),
            until,
            since,
            consecutive_failures: status.consecutive_failures,
            calls: status.calls,
            failures: status.failures,
        }
    }
}
