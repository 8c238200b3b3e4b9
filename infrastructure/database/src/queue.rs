//! [`JobQueue`] on the `jobs` table: lane-ordered claiming with leases; every later step is
//! guarded by the lease token, so a worker that lost its lease changes nothing.

use crate::entities::jobs::{self, state, Column, Entity};
use crate::errors::repo_err;
use crate::mapping::{claimed_job, millis, to_json};
use crate::SeaStore;
use application::ports::{ClaimedJob, JobPayload, JobQueue};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{BotId, RepoError};
use sea_orm::sea_query::Expr;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    Statement, UpdateMany, Value,
};
use std::time::Duration;

/// Marks the lowest-id runnable job that heads its lane as running under a new lease.
/// Runnable: queued and due, or running with an expired lease. Head: no earlier job of the
/// lane is queued or running (dead jobs do not block). `{lock}` is empty on SQLite, whose
/// single connection already serialises claimers.
const CLAIM: &str = "UPDATE jobs
SET state = 'running', attempts = attempts + 1, locked_until = $1, lease_token = $2, updated_at = $3
WHERE id = (
    SELECT j.id FROM jobs j
    WHERE ((j.state = 'queued' AND j.run_at <= $3) OR (j.state = 'running' AND j.locked_until < $3))
      AND NOT EXISTS (
          SELECT 1 FROM jobs e
          WHERE e.lane = j.lane AND e.id < j.id AND e.state IN ('queued', 'running')
      )
    ORDER BY j.id
    LIMIT 1
    {lock}
)
RETURNING *";

fn claim_statement(backend: DbBackend, now: i64, locked_until: i64, token: String) -> Statement {
    let lock = match backend {
        DbBackend::Postgres => "FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let values: [Value; 3] = [locked_until.into(), token.into(), now.into()];
    Statement::from_sql_and_values(backend, CLAIM.replace("{lock}", lock), values)
}

fn lease_end(now: DateTime<Utc>, lease_for: Duration) -> i64 {
    let lease = i64::try_from(lease_for.as_millis()).unwrap_or(i64::MAX);
    millis(now).saturating_add(lease)
}

/// Adds a queued job; used by the ledger inside its transactions.
pub(crate) async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    lane: &str,
    payload: &JobPayload,
    bot_id: BotId,
    run_at: DateTime<Utc>,
) -> Result<(), RepoError> {
    let now = millis(Utc::now());
    let row = jobs::ActiveModel {
        id: NotSet,
        lane: Set(lane.to_owned()),
        kind: Set(payload.kind().to_owned()),
        payload: Set(to_json(payload)?),
        bot_id: Set(Some(bot_id.to_string())),
        state: Set(state::QUEUED.to_owned()),
        attempts: Set(0),
        run_at: Set(millis(run_at)),
        locked_until: Set(None),
        lease_token: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Entity::insert(row)
        .exec_without_returning(conn)
        .await
        .map_err(repo_err)?;
    Ok(())
}

/// The row of job `id` while `lease` still holds it.
fn held_by(id: i64, lease: &str) -> Condition {
    Condition::all()
        .add(Column::Id.eq(id))
        .add(Column::LeaseToken.eq(lease))
        .add(Column::State.eq(state::RUNNING))
}

fn held(job: &ClaimedJob) -> Condition {
    held_by(job.id, &job.lease.0)
}

/// Deletes a finished job if its lease still holds; used by `complete` and the ledger.
pub(crate) async fn delete_held<C: ConnectionTrait>(
    conn: &C,
    job: &ClaimedJob,
) -> Result<bool, RepoError> {
    let result = Entity::delete_many()
        .filter(held(job))
        .exec(conn)
        .await
        .map_err(repo_err)?;
    Ok(result.rows_affected > 0)
}

/// An update of the held job, stamped with the time of the change.
fn update_held(id: i64, lease: &str) -> UpdateMany<Entity> {
    Entity::update_many()
        .col_expr(Column::UpdatedAt, Expr::value(millis(Utc::now())))
        .filter(held_by(id, lease))
}

/// Moves the held job to `new_state` and gives up its lease.
fn unlease(id: i64, lease: &str, new_state: &str) -> UpdateMany<Entity> {
    update_held(id, lease)
        .col_expr(Column::State, Expr::value(new_state))
        .col_expr(Column::LockedUntil, Expr::value(Option::<i64>::None))
        .col_expr(Column::LeaseToken, Expr::value(Option::<String>::None))
}

fn with_payload(
    update: UpdateMany<Entity>,
    payload: &JobPayload,
) -> Result<UpdateMany<Entity>, RepoError> {
    Ok(update
        .col_expr(Column::Kind, Expr::value(payload.kind()))
        .col_expr(Column::Payload, Expr::value(to_json(payload)?)))
}

impl SeaStore {
    async fn changed(&self, update: UpdateMany<Entity>) -> Result<bool, RepoError> {
        let result = update.exec(self.db()).await.map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn claim_row(
        &self,
        now: DateTime<Utc>,
        lease_for: Duration,
    ) -> Result<Option<jobs::Model>, RepoError> {
        let token = uuid::Uuid::new_v4().to_string();
        let claim = claim_statement(
            self.backend(),
            millis(now),
            lease_end(now, lease_for),
            token,
        );
        jobs::Model::find_by_statement(claim)
            .one(self.db())
            .await
            .map_err(repo_err)
    }

    /// A job whose payload no longer parses can never run: dead-letter it, keep going.
    async fn bury_corrupt(&self, row: &jobs::Model, err: &RepoError) -> Result<(), RepoError> {
        tracing::error!(job_id = row.id, error = %err, "burying a job with a corrupt payload");
        let lease = row.lease_token.as_deref().unwrap_or_default();
        let bury = unlease(row.id, lease, state::DEAD)
            .col_expr(Column::LastError, Expr::value(err.to_string()));
        self.changed(bury).await?;
        Ok(())
    }
}

#[async_trait]
impl JobQueue for SeaStore {
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease_for: Duration,
    ) -> Result<Option<ClaimedJob>, RepoError> {
        while let Some(row) = self.claim_row(now, lease_for).await? {
            match claimed_job(row.clone()) {
                Ok(job) => return Ok(Some(job)),
                Err(err) => self.bury_corrupt(&row, &err).await?,
            }
        }
        Ok(None)
    }

    async fn heartbeat(
        &self,
        job: &ClaimedJob,
        now: DateTime<Utc>,
        lease_for: Duration,
    ) -> Result<bool, RepoError> {
        let extend = update_held(job.id, &job.lease.0)
            .col_expr(Column::LockedUntil, Expr::value(lease_end(now, lease_for)));
        self.changed(extend).await
    }

    async fn save_progress(
        &self,
        job: &ClaimedJob,
        payload: &JobPayload,
    ) -> Result<bool, RepoError> {
        self.changed(with_payload(update_held(job.id, &job.lease.0), payload)?)
            .await
    }

    async fn complete(&self, job: &ClaimedJob) -> Result<bool, RepoError> {
        delete_held(self.db(), job).await
    }

    async fn retry(
        &self,
        job: &ClaimedJob,
        payload: &JobPayload,
        run_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, RepoError> {
        let requeue = unlease(job.id, &job.lease.0, state::QUEUED)
            .col_expr(Column::RunAt, Expr::value(millis(run_at)))
            .col_expr(Column::LastError, Expr::value(error));
        self.changed(with_payload(requeue, payload)?).await
    }

    async fn bury(&self, job: &ClaimedJob, error: &str) -> Result<bool, RepoError> {
        let bury = unlease(job.id, &job.lease.0, state::DEAD)
            .col_expr(Column::LastError, Expr::value(error));
        self.changed(bury).await
    }

    async fn release(&self, job: &ClaimedJob) -> Result<bool, RepoError> {
        let release = unlease(job.id, &job.lease.0, state::QUEUED)
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1));
        self.changed(release).await
    }
}
