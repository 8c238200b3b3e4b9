//! The figures a scrape reads: jobs by state and kind with each kind's oldest due job, in one grouped query over an index, and the pool's connections.

use crate::errors::repo_err;
use crate::mapping::millis;
use crate::SeaStore;
use application::ports::{JobCount, PoolFigures, StoreGauges, StoreReading};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::RepoError;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement};

/// One row per (state, kind) that has jobs, read in the order of the `jobs_runnable` index
/// (state, kind, run_at) alone: no row, no payload, no sort.
const COUNTS: &str = "SELECT kind, state, COUNT(*) AS jobs,
    MIN(CASE WHEN state = 'queued' AND run_at <= $1 THEN run_at END) AS oldest_due
FROM jobs GROUP BY state, kind";

#[async_trait]
impl StoreGauges for SeaStore {
    async fn read(&self, now: DateTime<Utc>) -> Result<StoreReading, RepoError> {
        let statement =
            Statement::from_sql_and_values(self.backend(), COUNTS, [millis(now).into()]);
        let rows = self.db().query_all(statement).await.map_err(repo_err)?;
        let mut reading = StoreReading {
            pool: Some(self.pool_figures()),
            ..StoreReading::default()
        };
        for row in rows {
            add_row(&mut reading, &row)?;
        }
        Ok(reading)
    }
}

fn add_row(reading: &mut StoreReading, row: &QueryResult) -> Result<(), RepoError> {
    let kind: String = row.try_get("", "kind").map_err(repo_err)?;
    let state: String = row.try_get("", "state").map_err(repo_err)?;
    let jobs: i64 = row.try_get("", "jobs").map_err(repo_err)?;
    let oldest_due: Option<i64> = row.try_get("", "oldest_due").map_err(repo_err)?;
    if let Some(due) = oldest_due.and_then(DateTime::from_timestamp_millis) {
        reading.oldest_due.push((kind.clone(), due));
    }
    reading.jobs.push(JobCount {
        kind,
        state,
        count: u64::try_from(jobs).unwrap_or_default(),
    });
    Ok(())
}

impl SeaStore {
    /// Connections open in the pool, and how many of them wait idle.
    fn pool_figures(&self) -> PoolFigures {
        let (size, idle) = match self.backend() {
            DbBackend::Postgres => {
                let pool = self.db().get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.db().get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        PoolFigures {
            in_use: size.saturating_sub(idle),
            idle,
        }
    }
}
