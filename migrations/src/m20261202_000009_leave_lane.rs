//! PostgreSQL: `switchboard_leave_lane`, one round trip for a job to leave its lane's head and let the next job go ahead.
//!
//! Completing (or dead-lettering) a lane's head and promoting its successor must be one
//! transaction, and the successor must be looked for only once the lane's advisory lock is
//! held: an intake that saw the old head holds that lock until it commits, so its `waiting` job
//! is seen. In READ COMMITTED each statement of a PL/pgSQL function takes a fresh snapshot, so
//! the function does in one call what would otherwise take five round trips (BEGIN, the delete,
//! the lock, the promotion, COMMIT). SQLite runs the same steps as a transaction of its own
//! statements (`queue.rs`), where round trips cost nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `dead_error` NULL deletes the held job (completed); otherwise the job is dead-lettered with
/// that error. `false` when `token` no longer holds the job, and then nothing changed.
const LEAVE_LANE: &str = "CREATE OR REPLACE FUNCTION switchboard_leave_lane(
    job_id BIGINT, token TEXT, at BIGINT, dead_error TEXT
) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
DECLARE
    left_lane TEXT;
BEGIN
    IF dead_error IS NULL THEN
        DELETE FROM jobs WHERE id = job_id AND lease_token = token AND state = 'running'
        RETURNING lane INTO left_lane;
    ELSE
        UPDATE jobs
        SET state = 'dead', locked_until = NULL, lease_token = NULL, last_error = dead_error,
            updated_at = at
        WHERE id = job_id AND lease_token = token AND state = 'running'
        RETURNING lane INTO left_lane;
    END IF;
    IF left_lane IS NULL THEN
        RETURN FALSE;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(left_lane, 0));
    UPDATE jobs SET state = 'queued', updated_at = at
    WHERE id = (SELECT MIN(id) FROM jobs WHERE lane = left_lane AND state = 'waiting')
      AND NOT EXISTS (
          SELECT 1 FROM jobs WHERE lane = left_lane AND state IN ('queued', 'running')
      );
    IF FOUND THEN
        PERFORM pg_notify('switchboard_jobs', '');
    END IF;
    RETURN TRUE;
END
$$";

const DROP: &str = "DROP FUNCTION IF EXISTS switchboard_leave_lane(BIGINT, TEXT, BIGINT, TEXT)";

/// Runs `sql` on PostgreSQL only.
async fn on_postgres(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    crate::run(manager, sql).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(manager, LEAVE_LANE).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(manager, DROP).await
    }
}
