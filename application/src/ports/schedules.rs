//! The schedule ports: each schedule's job kept on the queue and re-armed after every run, the record of its runs, and the bounded deletions and reads the lifecycle schedules run in small batches.

use crate::ports::ClaimedJob;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{BotId, ConversationId, RepoError};

/// The job-queue lane of schedule `name`: one job per schedule, so one run at a time.
pub fn schedule_lane(name: &str) -> String {
    format!("schedule:{name}")
}

/// A schedule as `GET /api/v1/schedules` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRecord {
    pub name: String,
    pub last_run_at: Option<DateTime<Utc>>,
    /// What the last run did, or why it failed.
    pub last_outcome: Option<String>,
    /// When its job is due; `None` when it has none (a process that runs jobs makes it).
    pub next_run_at: Option<DateTime<Utc>>,
    /// Whether a replica holds its job now.
    pub running: bool,
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Gives each schedule of `names` a job due at `first_run`, unless its lane has one, and
    /// its record; concurrent callers make one job between them.
    async fn ensure(
        &self,
        names: &[&'static str],
        first_run: DateTime<Utc>,
    ) -> Result<(), RepoError>;

    /// Records `job`'s run of schedule `name` (started `at`, ended with `outcome`) and
    /// re-arms the job, due at `next` with its attempts forgotten, in one transaction;
    /// `false` (nothing changed) when the job's lease was lost.
    async fn rearm(
        &self,
        job: &ClaimedJob,
        name: &str,
        at: DateTime<Utc>,
        outcome: &str,
        next: DateTime<Utc>,
    ) -> Result<bool, RepoError>;

    /// Every schedule's record, by name.
    async fn list(&self) -> Result<Vec<ScheduleRecord>, RepoError>;
}

/// The reads and deletions of the lifecycle schedules, each bounded by `limit` rows and
/// short enough to hold no lock for long.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Housekeeping: Send + Sync {
    /// Up to `limit` active conversations of `bot` with no message since `before`.
    async fn idle_conversations(
        &self,
        bot: BotId,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<ConversationId>, RepoError>;

    /// Deletes up to `limit` of `bot`'s messages older than `before` (with their kept
    /// pictures and the webhooks' copies of their events); answers how many.
    async fn purge_messages(
        &self,
        bot: BotId,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, RepoError>;

    /// Deletes up to `limit` of `bot`'s conversations that have no message left and none
    /// since `before`; answers how many.
    async fn purge_conversations(
        &self,
        bot: BotId,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, RepoError>;

    /// Deletes up to `limit` idempotency keys expired before `now`.
    async fn purge_idempotency_keys(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, RepoError>;

    /// Deletes up to `limit` dead jobs, and settled webhook deliveries, last changed before
    /// `before`.
    async fn purge_settled(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, RepoError>;
}
