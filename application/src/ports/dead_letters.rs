//! The dead-letter port: the queue's jobs as operators see them, and the dead ones put back or discarded.

use crate::ports::JobPayload;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{BotId, Page, PageRequest, RepoError};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// The head of its lane, runnable at `run_at`.
    Queued,
    /// Behind its lane's head.
    Waiting,
    Running,
    /// Given up: it no longer holds its lane up.
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Waiting => "waiting",
            Self::Running => "running",
            Self::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Queued, Self::Waiting, Self::Running, Self::Dead]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// A job of the queue, as operators see it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: i64,
    /// Its conversation.
    pub lane: String,
    /// `reply` or `deliver`, as stored.
    pub kind: String,
    /// What it does; `None` when what is stored no longer parses.
    pub payload: Option<JobPayload>,
    pub bot_id: Option<BotId>,
    pub state: JobState,
    pub attempts: u32,
    /// Why its last attempt failed, or why it died.
    pub last_error: Option<String>,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub kind: Option<String>,
    pub bot_id: Option<BotId>,
}

/// What became of a dead job an operator acted on.
#[derive(Debug, Clone, PartialEq)]
pub enum DeadJob {
    /// Done; the job as it is now (or was, when discarded).
    Done(JobRecord),
    /// The job is not dead: it is left as it is.
    NotDead(JobState),
    Missing,
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait DeadLetters: Send + Sync {
    /// The jobs matching `filter`, newest first.
    async fn list_jobs(
        &self,
        filter: &JobFilter,
        page: &PageRequest,
    ) -> Result<Page<JobRecord>, RepoError>;

    /// Puts dead job `id` back in its lane at `now`, its attempts counted afresh: the head of
    /// the lane when the lane is free, else behind its head (before what came after it). A
    /// delivery keeps the parts it sent, and its message goes back to `pending`; a reply that
    /// was stored is never asked for again (its job had become the delivery). One transaction.
    async fn revive(&self, id: i64, now: DateTime<Utc>) -> Result<DeadJob, RepoError>;

    /// Deletes dead job `id`; a delivery's message is (or stays) `failed`. One transaction.
    async fn discard(&self, id: i64) -> Result<DeadJob, RepoError>;
}
