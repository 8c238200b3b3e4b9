//! Jobs behind their lane's head wait in state `waiting`, so that claiming never searches lanes.
//!
//! A lane (a conversation) has at most one head, `queued` or `running`; the jobs after it are
//! `waiting` until the head leaves, and then the earliest of them becomes the head. Existing
//! queued jobs behind an earlier active job of their lane become `waiting` here.

use crate::run;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const WAIT_BEHIND_HEADS: &str = "UPDATE jobs SET state = 'waiting'
WHERE state = 'queued' AND EXISTS (
    SELECT 1 FROM jobs e
    WHERE e.lane = jobs.lane AND e.id < jobs.id AND e.state IN ('queued', 'running')
)";

/// The same table with `states` allowed; SQLite cannot alter a CHECK constraint in place.
const SQLITE_JOBS: &str = "CREATE TABLE jobs_next (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lane TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    bot_id TEXT NULL REFERENCES bots (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ({states})),
    attempts INTEGER NOT NULL DEFAULT 0,
    run_at BIGINT NOT NULL,
    locked_until BIGINT NULL,
    lease_token TEXT NULL,
    last_error TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)";

const WITH_WAITING: &str = "'queued', 'waiting', 'running', 'dead'";
const WITHOUT_WAITING: &str = "'queued', 'running', 'dead'";

const RUNNABLE: &str = "CREATE INDEX IF NOT EXISTS jobs_runnable ON jobs (state, run_at)";
const BY_BOT: &str = "CREATE INDEX IF NOT EXISTS jobs_bot ON jobs (bot_id)";
const LANE: &str = "CREATE INDEX IF NOT EXISTS jobs_lane ON jobs (lane, id)";
const LANE_STATE: &str = "CREATE INDEX IF NOT EXISTS jobs_lane_state ON jobs (lane, state, id)";

/// Lets `state` hold exactly `states`, keeping every job (and, on SQLite, rebuilding `indexes`).
async fn allow_states(
    manager: &SchemaManager<'_>,
    states: &str,
    indexes: &[&str],
) -> Result<(), DbErr> {
    if manager.get_database_backend() == DbBackend::Postgres {
        let check = format!(
            "ALTER TABLE jobs DROP CONSTRAINT jobs_state_check, \
             ADD CONSTRAINT jobs_state_check CHECK (state IN ({states}))"
        );
        return run(manager, &check).await;
    }
    run(manager, &SQLITE_JOBS.replace("{states}", states)).await?;
    run(manager, "INSERT INTO jobs_next SELECT * FROM jobs").await?;
    run(manager, "DROP TABLE jobs").await?;
    run(manager, "ALTER TABLE jobs_next RENAME TO jobs").await?;
    for index in indexes {
        run(manager, index).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        allow_states(manager, WITH_WAITING, &[RUNNABLE, BY_BOT, LANE]).await?;
        run(manager, LANE_STATE).await?;
        run(manager, "DROP INDEX jobs_lane").await?;
        run(manager, WAIT_BEHIND_HEADS).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            "UPDATE jobs SET state = 'queued' WHERE state = 'waiting'",
        )
        .await?;
        run(manager, LANE).await?;
        run(manager, "DROP INDEX jobs_lane_state").await?;
        allow_states(manager, WITHOUT_WAITING, &[RUNNABLE, BY_BOT, LANE]).await
    }
}
