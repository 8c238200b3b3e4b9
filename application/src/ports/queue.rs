//! The job-queue port: durable jobs with leases, one running job per lane, lanes in order.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{DeliveryId, MessageId, RepoError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobPayload {
    /// Answer an inbound message (commands, or the model).
    Reply { message_id: MessageId },
    /// Deliver a stored outbound message; `parts_sent` survives retries so no part is sent twice.
    Deliver {
        message_id: MessageId,
        #[serde(default)]
        parts_sent: u32,
    },
    /// Post an event to an outgoing webhook.
    Webhook { delivery_id: DeliveryId },
    /// Run a schedule, then wait for its next period.
    Schedule { name: String },
}

impl JobPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Reply { .. } => "reply",
            Self::Deliver { .. } => "deliver",
            Self::Webhook { .. } => "webhook",
            Self::Schedule { .. } => "schedule",
        }
    }
}

/// Proves ownership of a claimed job; a reclaimed job gets a new token, so a stale worker's
/// completion or heartbeat is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseToken(pub String);

/// A job this worker holds until its lease runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: i64,
    /// Jobs of one lane (a conversation) run one at a time, in the order they were enqueued.
    pub lane: String,
    pub payload: JobPayload,
    /// How many times this job has been claimed, this time included.
    pub attempts: u32,
    pub lease: LeaseToken,
    /// The W3C `traceparent` stored with the job: its run continues that trace.
    pub trace_parent: Option<String>,
}

impl ClaimedJob {
    /// This job, held under the same lease, turned into the first attempt at delivering
    /// `message_id`: what storing a reply makes of its reply job.
    pub fn delivering(&self, message_id: MessageId) -> ClaimedJob {
        ClaimedJob {
            id: self.id,
            lane: self.lane.clone(),
            payload: JobPayload::Deliver {
                message_id,
                parts_sent: 0,
            },
            attempts: 1,
            lease: self.lease.clone(),
            trace_parent: self.trace_parent.clone(),
        }
    }
}

/// Every single-job method returns `false` when the lease was lost (expired and reclaimed).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Claims up to `limit` runnable jobs, oldest first, in one statement: lane heads queued
    /// with `run_at <= now`, or running with an expired lease. Two claimers never hold the
    /// same job.
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease_for: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedJob>, RepoError>;

    /// Extends the leases of `jobs` to `now + lease_for`, in one statement; answers the ids of
    /// the jobs still held (the others were lost to another claimer).
    async fn renew(
        &self,
        jobs: &[ClaimedJob],
        now: DateTime<Utc>,
        lease_for: Duration,
    ) -> Result<Vec<i64>, RepoError>;

    /// Saves progress (a new payload) without giving up the lease.
    async fn save_progress(
        &self,
        job: &ClaimedJob,
        payload: &JobPayload,
    ) -> Result<bool, RepoError>;

    /// Removes a finished job.
    async fn complete(&self, job: &ClaimedJob) -> Result<bool, RepoError>;

    /// Gives the job back to run again at `run_at`, with `payload` and the error that stopped it.
    async fn retry(
        &self,
        job: &ClaimedJob,
        payload: &JobPayload,
        run_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, RepoError>;

    /// [`JobQueue::retry`] without counting this attempt: the job waited on a service that is
    /// known to be down (its circuit breaker is open), it did not fail.
    async fn defer(
        &self,
        job: &ClaimedJob,
        payload: &JobPayload,
        run_at: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool, RepoError>;

    /// Dead-letters a job that cannot succeed; it no longer blocks its lane.
    async fn bury(&self, job: &ClaimedJob, error: &str) -> Result<bool, RepoError>;

    /// Hands `jobs` back untouched (shutdown), in one statement: runnable at once, this
    /// attempt not counted. Answers how many were still held.
    async fn release(&self, jobs: &[ClaimedJob]) -> Result<usize, RepoError>;
}
