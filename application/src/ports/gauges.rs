//! The scrape's ports: what the store reads at the moment of a scrape, and the text exposition of everything recorded.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::RepoError;

/// How many jobs of one kind are in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    pub kind: String,
    pub state: String,
    pub count: u64,
}

/// The database pool's connections, when the store has a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolFigures {
    pub in_use: u32,
    pub idle: u32,
}

/// The figures no code path updates as it goes, read at scrape time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreReading {
    /// Only the (kind, state) pairs that have jobs.
    pub jobs: Vec<JobCount>,
    /// Per kind, when the oldest job that is due (queued, `run_at` passed) became due.
    pub oldest_due: Vec<(String, DateTime<Utc>)>,
    pub pool: Option<PoolFigures>,
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait StoreGauges: Send + Sync {
    /// Reads the queue's figures as of `now`, in at most one or two cheap queries.
    async fn read(&self, now: DateTime<Utc>) -> Result<StoreReading, RepoError>;
}

/// Renders everything recorded in the Prometheus text format.
#[cfg_attr(test, mockall::automock)]
pub trait Exposition: Send + Sync {
    fn render(&self) -> String;
}
