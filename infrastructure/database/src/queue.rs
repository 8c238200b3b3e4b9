//! [`JobQueue`] on the `jobs` table: lane-ordered claiming with leases; every later step is
//! guarded by the lease token, so a worker that lost its lease changes nothing.

use crate::entities::jobs::{self, state, Column, Entity};
use crate::errors::repo_err;
use crate::intake::text_array;
use crate::mapping::{claimed_job, millis, to_json};
use crate::SeaStore;
use application::ports::{ClaimedJob, JobPayload, JobQueue};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{BotId, RepoError};
use sea_orm::sea_query::Expr;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    FromQueryResult, QueryFilter, QuerySelect, QueryTrait, Statement, TransactionTrait, UpdateMany,
    Value,
};
use std::collections::HashSet;
use std::time::Duration;

/// Marks up to `$4` runnable jobs, lowest ids first, as running under the lease `$2`. Runnable:
/// queued and due, or running with an expired lease. Only a lane's head is ever queued or
/// running (the jobs behind it wait), so this needs no search of lanes. `{lock}` is empty on
/// SQLite, whose single connection already serialises claimers; on PostgreSQL the locking
/// pick is a materialised CTE, so that it runs once and concurrent claimers skip each other's
/// rows.
const CLAIM: &str = "WITH picked AS MATERIALIZED (
    SELECT id FROM jobs
    WHERE (state = 'queued' AND run_at <= $3) OR (state = 'running' AND locked_until < $3)
    ORDER BY id
    LIMIT $4
    {lock}
)
UPDATE jobs
SET state = 'running', attempts = attempts + 1, locked_until = $1, lease_token = $2, updated_at = $3
WHERE id IN (SELECT id FROM picked)
RETURNING *";

/// Makes the earliest waiting job of lane `$1` its head, unless the lane still has one.
const PROMOTE: &str = "UPDATE jobs SET state = 'queued', updated_at = $2
WHERE id = (SELECT MIN(id) FROM jobs WHERE lane = $1 AND state = 'waiting')
  AND NOT EXISTS (SELECT 1 FROM jobs WHERE lane = $1 AND state IN ('queued', 'running'))";

/// Whether lane `$1` has a head.
const HAS_HEAD: &str =
    "SELECT id FROM jobs WHERE lane = $1 AND state IN ('queued', 'running') LIMIT 1";

fn claim_statement(
    backend: DbBackend,
    now: i64,
    locked_until: i64,
    token: String,
    limit: usize,
) -> Statement {
    let lock = match backend {
        DbBackend::Postgres => "FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let values: [Value; 4] = [locked_until.into(), token.into(), now.into(), limit.into()];
    Statement::from_sql_and_values(backend, CLAIM.replace("{lock}", lock), values)
}

fn lease_end(now: DateTime<Utc>, lease_for: Duration) -> i64 {
    let lease = i64::try_from(lease_for.as_millis()).unwrap_or(i64::MAX);
    millis(now).saturating_add(lease)
}

/// Serialises the writers of a lane until the transaction ends: on PostgreSQL a transaction
/// advisory lock; SQLite's single connection runs one transaction at a time anyway.
async fn lock_lane<C: ConnectionTrait>(tx: &C, lane: &str) -> Result<(), RepoError> {
    if tx.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let lock = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";
    let values: [Value; 1] = [lane.into()];
    tx.query_one(Statement::from_sql_and_values(
        DbBackend::Postgres,
        lock,
        values,
    ))
    .await
    .map_err(repo_err)?;
    Ok(())
}

/// After a lane's head left (in this transaction): the next waiting job becomes the head.
pub(crate) async fn promote_next<C: ConnectionTrait>(tx: &C, lane: &str) -> Result<(), RepoError> {
    lock_lane(tx, lane).await?;
    let values: [Value; 2] = [lane.into(), millis(Utc::now()).into()];
    let promote = Statement::from_sql_and_values(tx.get_database_backend(), PROMOTE, values);
    if tx.execute(promote).await.map_err(repo_err)?.rows_affected() > 0 {
        announce(tx).await?;
    }
    Ok(())
}

/// The state a new job of `lane` starts in: the head if the lane has none, else waiting.
pub(crate) async fn arrival_state<C: ConnectionTrait>(
    tx: &C,
    lane: &str,
) -> Result<&'static str, RepoError> {
    lock_lane(tx, lane).await?;
    let values: [Value; 1] = [lane.into()];
    let head = Statement::from_sql_and_values(tx.get_database_backend(), HAS_HEAD, values);
    let found = tx.query_one(head).await.map_err(repo_err)?;
    Ok(if found.is_some() {
        state::WAITING
    } else {
        state::QUEUED
    })
}

/// Takes the locks of all `lanes` (on PostgreSQL the advisory locks [`lock_lane`] takes, in
/// the order of their keys in one statement, so that two writers of several lanes cannot
/// deadlock), then answers which of them have a head; two round trips whatever their number.
pub(crate) async fn lock_lanes_and_read_heads<C: ConnectionTrait>(
    tx: &C,
    lanes: &[String],
) -> Result<HashSet<String>, RepoError> {
    let backend = tx.get_database_backend();
    if backend == DbBackend::Postgres {
        // The select list's volatile function runs above the sort: the keys in order.
        let lock = "SELECT count(*) FROM (
    SELECT pg_advisory_xact_lock(k) FROM (
        SELECT DISTINCT hashtextextended(lane, 0) AS k FROM unnest($1::text[]) AS lanes (lane)
    ) AS keys ORDER BY k
) AS locked";
        let values = [text_array(lanes.iter().cloned())];
        let locks = Statement::from_sql_and_values(backend, lock, values);
        tx.query_one(locks).await.map_err(repo_err)?;
    }
    // A statement of its own, after the locks: its snapshot sees every head made before them.
    let heads: Vec<String> = Entity::find()
        .select_only()
        .column(Column::Lane)
        .filter(Column::Lane.is_in(lanes.iter().cloned()))
        .filter(Column::State.is_in([state::QUEUED, state::RUNNING]))
        .distinct()
        .into_tuple()
        .all(tx)
        .await
        .map_err(repo_err)?;
    Ok(heads.into_iter().collect())
}

/// The PostgreSQL channel on which an enqueue wakes every replica's dispatcher.
pub(crate) const JOBS_CHANNEL: &str = "switchboard_jobs";

/// Wakes the dispatchers once this transaction commits: `NOTIFY` on PostgreSQL (delivered at
/// commit, folded into one per transaction); a no-op on SQLite, whose only writer is this
/// process and wakes its own dispatcher in memory.
pub(crate) async fn announce<C: ConnectionTrait>(tx: &C) -> Result<(), RepoError> {
    if tx.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let notify = format!("NOTIFY {JOBS_CHANNEL}");
    tx.execute_unprepared(&notify).await.map_err(repo_err)?;
    Ok(())
}

/// A new job of `lane` in state `arrival`, due at `run_at`, continuing the trace
/// `trace_parent` names, if any. `bot_id`, when given, is the bot whose deletion takes the job
/// with it (a webhook's or a schedule's job belongs to no bot).
pub(crate) fn job_row(
    lane: &str,
    payload: &JobPayload,
    bot_id: Option<BotId>,
    run_at: DateTime<Utc>,
    arrival: &str,
    trace_parent: Option<&str>,
) -> Result<jobs::ActiveModel, RepoError> {
    let now = millis(Utc::now());
    Ok(jobs::ActiveModel {
        id: NotSet,
        lane: Set(lane.to_owned()),
        kind: Set(payload.kind().to_owned()),
        payload: Set(to_json(payload)?),
        bot_id: Set(bot_id.map(|id| id.to_string())),
        state: Set(arrival.to_owned()),
        attempts: Set(0),
        run_at: Set(millis(run_at)),
        locked_until: Set(None),
        lease_token: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        trace_parent: Set(trace_parent.map(str::to_owned)),
    })
}

/// Adds a job to the end of its lane; used by the ledger inside its transactions.
pub(crate) async fn enqueue<C: ConnectionTrait>(
    tx: &C,
    lane: &str,
    payload: &JobPayload,
    bot_id: Option<BotId>,
    run_at: DateTime<Utc>,
) -> Result<(), RepoError> {
    let arrival = arrival_state(tx, lane).await?;
    let row = job_row(lane, payload, bot_id, run_at, arrival, None)?;
    Entity::insert(row)
        .exec_without_returning(tx)
        .await
        .map_err(repo_err)?;
    if arrival == state::QUEUED {
        announce(tx).await?;
    }
    Ok(())
}

/// The row of job `id` while `lease` still holds it.
fn held_by(id: i64, lease: &str) -> Condition {
    Condition::all()
        .add(Column::Id.eq(id))
        .add(Column::LeaseToken.eq(lease))
        .add(Column::State.eq(state::RUNNING))
}

pub(crate) fn held(job: &ClaimedJob) -> Condition {
    held_by(job.id, &job.lease.0)
}

/// The rows of `jobs` that are still running under the leases they were claimed with. A lease
/// token is fresh for each claim, so a reclaimed job never matches a token of ours.
fn all_held(jobs: &[ClaimedJob]) -> Condition {
    let ids = jobs.iter().map(|job| job.id);
    let mut tokens: Vec<&str> = jobs.iter().map(|job| job.lease.0.as_str()).collect();
    tokens.sort_unstable();
    tokens.dedup();
    Condition::all()
        .add(Column::Id.is_in(ids))
        .add(Column::LeaseToken.is_in(tokens))
        .add(Column::State.eq(state::RUNNING))
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

/// Queues a held job again at `run_at` with `payload`, noting `error`.
fn requeue(
    job: &ClaimedJob,
    payload: &JobPayload,
    run_at: DateTime<Utc>,
    error: &str,
) -> Result<UpdateMany<Entity>, RepoError> {
    let requeue = unlease(job.id, &job.lease.0, state::QUEUED)
        .col_expr(Column::RunAt, Expr::value(millis(run_at)))
        .col_expr(Column::LastError, Expr::value(error));
    with_payload(requeue, payload)
}

fn with_payload(
    update: UpdateMany<Entity>,
    payload: &JobPayload,
) -> Result<UpdateMany<Entity>, RepoError> {
    Ok(update
        .col_expr(Column::Kind, Expr::value(payload.kind()))
        .col_expr(Column::Payload, Expr::value(to_json(payload)?)))
}

/// The PostgreSQL call that makes a held job (`$1`, lease `$2`) leave its lane's head at `$3`,
/// deleted, or dead-lettered with the error `$4`; answers whether the lease still held it.
/// See the migration that defines `switchboard_leave_lane`.
pub(crate) const LEAVE_LANE: &str = "SELECT switchboard_leave_lane($1, $2, $3, $4)";

/// The values of [`LEAVE_LANE`]: `job` leaves now, dead-lettered if `dead_error` is given.
pub(crate) fn leaving(job_id: i64, lease: &str, dead_error: Option<&str>) -> [Value; 4] {
    [
        job_id.into(),
        lease.into(),
        millis(Utc::now()).into(),
        dead_error.map(str::to_owned).into(),
    ]
}

/// Runs a statement that answers one boolean (such as [`LEAVE_LANE`]).
pub(crate) async fn answer<C: ConnectionTrait>(
    conn: &C,
    statement: Statement,
) -> Result<bool, RepoError> {
    let row = conn.query_one(statement).await.map_err(repo_err)?;
    let row = row.ok_or_else(|| RepoError::Other("the statement answered no row".into()))?;
    row.try_get_by_index::<bool>(0).map_err(repo_err)
}

/// The held `job`, turned into `payload`'s first attempt under the same lease (a reply job
/// becoming its delivery).
pub(crate) fn turned_into(
    job: &ClaimedJob,
    payload: &JobPayload,
) -> Result<UpdateMany<Entity>, RepoError> {
    Ok(with_payload(update_held(job.id, &job.lease.0), payload)?
        .col_expr(Column::Attempts, Expr::value(1))
        .col_expr(Column::LastError, Expr::value(Option::<String>::None)))
}

/// Whether `job` is still held under its lease.
pub(crate) async fn is_held<C: ConnectionTrait>(
    conn: &C,
    job: &ClaimedJob,
) -> Result<bool, RepoError> {
    let row = Entity::find().filter(held(job)).one(conn).await;
    Ok(row.map_err(repo_err)?.is_some())
}

impl SeaStore {
    /// On PostgreSQL, the held job leaves its lane in one round trip ([`LEAVE_LANE`]); `None`
    /// on SQLite, which runs the steps as a transaction.
    async fn leave_lane_at_once(
        &self,
        id: i64,
        lease: &str,
        dead_error: Option<&str>,
    ) -> Result<Option<bool>, RepoError> {
        if self.backend() != DbBackend::Postgres {
            return Ok(None);
        }
        let values = leaving(id, lease, dead_error);
        let call = Statement::from_sql_and_values(DbBackend::Postgres, LEAVE_LANE, values);
        answer(self.db(), call).await.map(Some)
    }

    async fn changed(&self, update: UpdateMany<Entity>) -> Result<bool, RepoError> {
        let result = update.exec(self.db()).await.map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn claim_rows(
        &self,
        now: DateTime<Utc>,
        lease_for: Duration,
        limit: usize,
    ) -> Result<Vec<jobs::Model>, RepoError> {
        let token = uuid::Uuid::new_v4().to_string();
        let claim = claim_statement(
            self.backend(),
            millis(now),
            lease_end(now, lease_for),
            token,
            limit,
        );
        let mut rows = jobs::Model::find_by_statement(claim)
            .all(self.db())
            .await
            .map_err(repo_err)?;
        rows.sort_by_key(|row| row.id);
        Ok(rows)
    }

    /// A job whose payload no longer parses can never run: dead-letter it, keep going.
    async fn bury_corrupt(&self, row: &jobs::Model, err: &RepoError) -> Result<(), RepoError> {
        tracing::error!(job_id = row.id, error = %err, "burying a job with a corrupt payload");
        let lease = row.lease_token.as_deref().unwrap_or_default();
        self.bury_held(row.id, lease, &row.lane, &err.to_string())
            .await?;
        Ok(())
    }

    /// Dead-letters the held job and lets the next job of its lane go ahead.
    async fn bury_held(
        &self,
        id: i64,
        lease: &str,
        lane: &str,
        error: &str,
    ) -> Result<bool, RepoError> {
        if let Some(held) = self.leave_lane_at_once(id, lease, Some(error)).await? {
            return Ok(held);
        }
        let tx = self.db().begin().await.map_err(repo_err)?;
        let bury = unlease(id, lease, state::DEAD).col_expr(Column::LastError, Expr::value(error));
        let buried = bury.exec(&tx).await.map_err(repo_err)?.rows_affected > 0;
        commit_leaving(tx, lane, buried).await
    }
}

/// Commits `tx`, in which the head of `lane` left it when `left`: the next job goes ahead.
/// (PostgreSQL does this in [`LEAVE_LANE`].)
pub(crate) async fn commit_leaving(
    tx: DatabaseTransaction,
    lane: &str,
    left: bool,
) -> Result<bool, RepoError> {
    if left {
        promote_next(&tx, lane).await?;
    }
    tx.commit().await.map_err(repo_err)?;
    Ok(left)
}

#[async_trait]
impl JobQueue for SeaStore {
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease_for: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedJob>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut claimed = Vec::new();
        // A corrupt row takes a place in the claim; claim again for the places it took.
        loop {
            let wanted = limit - claimed.len();
            let rows = self.claim_rows(now, lease_for, wanted).await?;
            let complete = rows.len() < wanted;
            let mut corrupt = 0;
            for row in rows {
                match claimed_job(row.clone()) {
                    Ok(job) => claimed.push(job),
                    Err(err) => {
                        self.bury_corrupt(&row, &err).await?;
                        corrupt += 1;
                    }
                }
            }
            if complete || corrupt == 0 {
                return Ok(claimed);
            }
        }
    }

    async fn renew(
        &self,
        jobs: &[ClaimedJob],
        now: DateTime<Utc>,
        lease_for: Duration,
    ) -> Result<Vec<i64>, RepoError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let renew = Entity::update_many()
            .col_expr(Column::LockedUntil, Expr::value(lease_end(now, lease_for)))
            .col_expr(Column::UpdatedAt, Expr::value(millis(now)))
            .filter(all_held(jobs))
            .into_query()
            .returning_col(Column::Id)
            .to_owned();
        let renew = self.backend().build(&renew);
        let rows = self.db().query_all(renew).await.map_err(repo_err)?;
        rows.iter()
            .map(|row| row.try_get_by_index::<i64>(0).map_err(repo_err))
            .collect()
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
        if let Some(held) = self.leave_lane_at_once(job.id, &job.lease.0, None).await? {
            return Ok(held);
        }
        let tx = self.db().begin().await.map_err(repo_err)?;
        let completed = delete_held(&tx, job).await?;
        commit_leaving(tx, &job.lane, completed).await
    }

    async fn retry(
        &self,
        job: &ClaimedJob,
        payload: &JobPayload,
        run_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, RepoError> {
        self.changed(requeue(job, payload, run_at, error)?).await
    }

    async fn defer(
        &self,
        job: &ClaimedJob,
        payload: &JobPayload,
        run_at: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool, RepoError> {
        let uncounted = Expr::col(Column::Attempts).sub(1);
        let defer = requeue(job, payload, run_at, reason)?.col_expr(Column::Attempts, uncounted);
        self.changed(defer).await
    }

    async fn bury(&self, job: &ClaimedJob, error: &str) -> Result<bool, RepoError> {
        self.bury_held(job.id, &job.lease.0, &job.lane, error).await
    }

    async fn release(&self, jobs: &[ClaimedJob]) -> Result<usize, RepoError> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let release = Entity::update_many()
            .col_expr(Column::State, Expr::value(state::QUEUED))
            .col_expr(Column::LockedUntil, Expr::value(Option::<i64>::None))
            .col_expr(Column::LeaseToken, Expr::value(Option::<String>::None))
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1))
            .col_expr(Column::UpdatedAt, Expr::value(millis(Utc::now())))
            .filter(all_held(jobs));
        let released = release
            .exec(self.db())
            .await
            .map_err(repo_err)?
            .rows_affected;
        if released > 0 {
            announce(self.db()).await?;
        }
        Ok(usize::try_from(released).unwrap_or(usize::MAX))
    }
}
