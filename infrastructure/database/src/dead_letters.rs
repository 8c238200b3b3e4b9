//! [`DeadLetters`] on the `jobs` table: listing jobs for operators, reviving or discarding dead ones in one transaction each.

use crate::entities::jobs::{self, state, Column, Entity};
use crate::entities::messages;
use crate::errors::repo_err;
use crate::ledger::{begin, commit, rollback};
use crate::mapping::{millis, parse, time};
use crate::queue::{announce, arrival_state};
use crate::SeaStore;
use application::ports::{DeadJob, DeadLetters, JobFilter, JobPayload, JobRecord, JobState};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{MessageStatus, Page, PageRequest, RepoError};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

#[async_trait]
impl DeadLetters for SeaStore {
    async fn list_jobs(
        &self,
        filter: &JobFilter,
        page: &PageRequest,
    ) -> Result<Page<JobRecord>, RepoError> {
        let mut query = Entity::find().filter(matching(filter));
        if let Some(after) = &page.after {
            let after: i64 = parse("cursor", &after.0)?;
            query = query.filter(Column::Id.lt(after));
        }
        let rows = query
            .order_by_desc(Column::Id)
            .limit(page.fetch_limit())
            .all(self.db())
            .await
            .map_err(repo_err)?;
        let records = rows
            .into_iter()
            .map(record)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(records, page, |job| {
            job.id.to_string()
        }))
    }

    async fn revive(&self, id: i64, now: DateTime<Utc>) -> Result<DeadJob, RepoError> {
        let tx = begin(self).await?;
        let row = match dead_row(&tx, id).await? {
            Ok(row) => row,
            Err(outcome) => return Ok(outcome),
        };
        // The lane's lock first, as every writer of a lane takes it; the row is changed only
        // while still dead (another operator may have been quicker).
        let arrival = arrival_state(&tx, &row.lane).await?;
        let revived = Entity::update_many()
            .col_expr(Column::State, Expr::value(arrival))
            .col_expr(Column::Attempts, Expr::value(0))
            .col_expr(Column::RunAt, Expr::value(millis(now)))
            .col_expr(Column::UpdatedAt, Expr::value(millis(now)))
            .col_expr(Column::LastError, Expr::value(Option::<String>::None))
            .filter(still_dead(id))
            .exec(&tx)
            .await
            .map_err(repo_err)?;
        if revived.rows_affected == 0 {
            let now_is = dead_row(&tx, id).await?.err().unwrap_or(DeadJob::Missing);
            rollback(tx).await?;
            return Ok(now_is);
        }
        if let Some(message_id) = delivered_message(&row) {
            let failed = MessageStatus::Failed.as_str();
            set_message_status(&tx, &message_id, failed, MessageStatus::Pending, None).await?;
        }
        if arrival == state::QUEUED {
            announce(&tx).await?;
        }
        let revived = Entity::find_by_id(id).one(&tx).await.map_err(repo_err)?;
        commit(tx).await?;
        revived
            .map(record)
            .transpose()
            .map(|job| job.map_or(DeadJob::Missing, DeadJob::Done))
    }

    async fn discard(&self, id: i64) -> Result<DeadJob, RepoError> {
        let tx = begin(self).await?;
        let row = match dead_row(&tx, id).await? {
            Ok(row) => row,
            Err(outcome) => return Ok(outcome),
        };
        let deleted = Entity::delete_many()
            .filter(still_dead(id))
            .exec(&tx)
            .await
            .map_err(repo_err)?;
        if deleted.rows_affected == 0 {
            let now_is = dead_row(&tx, id).await?.err().unwrap_or(DeadJob::Missing);
            rollback(tx).await?;
            return Ok(now_is);
        }
        if let Some(message_id) = delivered_message(&row) {
            let pending = MessageStatus::Pending.as_str();
            let why = Some("discarded by an operator");
            set_message_status(&tx, &message_id, pending, MessageStatus::Failed, why).await?;
        }
        commit(tx).await?;
        record(row).map(DeadJob::Done)
    }
}

/// Job `id` when it is dead, else what to answer.
async fn dead_row(
    tx: &DatabaseTransaction,
    id: i64,
) -> Result<Result<jobs::Model, DeadJob>, RepoError> {
    let row = Entity::find_by_id(id).one(tx).await.map_err(repo_err)?;
    Ok(match row {
        None => Err(DeadJob::Missing),
        Some(row) if row.state != state::DEAD => {
            let state = JobState::parse(&row.state).unwrap_or(JobState::Queued);
            Err(DeadJob::NotDead(state))
        }
        Some(row) => Ok(row),
    })
}

/// Job `id`, while it is dead.
fn still_dead(id: i64) -> Condition {
    Condition::all()
        .add(Column::Id.eq(id))
        .add(Column::State.eq(state::DEAD))
}

/// The message a delivery job sends, as stored.
fn delivered_message(row: &jobs::Model) -> Option<String> {
    match serde_json::from_str::<JobPayload>(&row.payload).ok()? {
        JobPayload::Deliver { message_id, .. } => Some(message_id.to_string()),
        JobPayload::Reply { .. } | JobPayload::Webhook { .. } | JobPayload::Schedule { .. } => None,
    }
}

/// Moves message `id` from status `from` to `to`, setting its error to `error`.
async fn set_message_status<C: ConnectionTrait>(
    tx: &C,
    id: &str,
    from: &str,
    to: MessageStatus,
    error: Option<&str>,
) -> Result<(), RepoError> {
    messages::Entity::update_many()
        .col_expr(messages::Column::Status, Expr::value(to.as_str()))
        .col_expr(
            messages::Column::Error,
            Expr::value(error.map(str::to_owned)),
        )
        .filter(messages::Column::Id.eq(id))
        .filter(messages::Column::Status.eq(from))
        .exec(tx)
        .await
        .map_err(repo_err)?;
    Ok(())
}

/// The filter's conditions, each only when set.
fn matching(filter: &JobFilter) -> Condition {
    let mut condition = Condition::all();
    if let Some(state) = filter.state {
        condition = condition.add(Column::State.eq(state.as_str()));
    }
    if let Some(kind) = &filter.kind {
        condition = condition.add(Column::Kind.eq(kind.as_str()));
    }
    if let Some(bot_id) = filter.bot_id {
        condition = condition.add(Column::BotId.eq(bot_id.to_string()));
    }
    condition
}

fn record(row: jobs::Model) -> Result<JobRecord, RepoError> {
    Ok(JobRecord {
        id: row.id,
        payload: serde_json::from_str(&row.payload).ok(),
        bot_id: row
            .bot_id
            .as_deref()
            .map(|id| parse("jobs.bot_id", id))
            .transpose()?,
        state: JobState::parse(&row.state)
            .ok_or_else(|| RepoError::Corrupt(format!("jobs.state {}", row.state)))?,
        attempts: u32::try_from(row.attempts).unwrap_or_default(),
        last_error: row.last_error,
        run_at: time("jobs.run_at", row.run_at)?,
        created_at: time("jobs.created_at", row.created_at)?,
        updated_at: time("jobs.updated_at", row.updated_at)?,
        lane: row.lane,
        kind: row.kind,
    })
}
