//! [`ScheduleStore`] and [`Housekeeping`] on sea-orm: each schedule's job made once and re-armed under its lease with the run's record, and the lifecycle's deletions, each a bounded statement in a short transaction.

use crate::entities::jobs::{self, state};
use crate::entities::schedules::{ActiveModel, Column, Entity};
use crate::errors::repo_err;
use crate::ledger::{begin, commit};
use crate::mapping::{millis, parse, time_opt};
use crate::queue::{arrival_state, held, job_row};
use crate::SeaStore;
use application::ports::{
    schedule_lane, ClaimedJob, Housekeeping, JobPayload, ScheduleRecord, ScheduleStore,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{BotId, ConversationId, ConversationStatus, DeliveryState, RepoError};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, Value,
};
use std::collections::HashMap;

/// Deletes the rows of `table` that `pick` (a bounded `SELECT` of their `key`, taking
/// `values`) names; how many.
async fn delete_picked<C: ConnectionTrait>(
    db: &C,
    table: &str,
    key: &str,
    pick: &str,
    values: Vec<Value>,
) -> Result<u64, RepoError> {
    let sql = format!("DELETE FROM {table} WHERE {key} IN ({pick})");
    let statement = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    let done = db.execute(statement).await.map_err(repo_err)?;
    Ok(done.rows_affected())
}

/// `values` and then `limit`, the last parameter of a bounded pick.
fn bounded(mut values: Vec<Value>, limit: u64) -> Vec<Value> {
    values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    values
}

/// Makes schedule `name`'s record and, unless its lane has a head, its job due at `first_run`.
async fn ensure_one(
    tx: &DatabaseTransaction,
    name: &'static str,
    first_run: DateTime<Utc>,
) -> Result<(), RepoError> {
    let record = ActiveModel {
        name: Set(name.to_owned()),
        last_run_at: Set(None),
        last_outcome: Set(None),
        created_at: Set(millis(first_run)),
    };
    let known = OnConflict::column(Column::Name).do_nothing().to_owned();
    Entity::insert(record)
        .on_conflict(known)
        .exec_without_returning(tx)
        .await
        .map_err(repo_err)?;
    let lane = schedule_lane(name);
    // Locks the lane (PostgreSQL), so that two replicas starting together make one job.
    if arrival_state(tx, &lane).await? != state::QUEUED {
        return Ok(());
    }
    let payload = JobPayload::Schedule {
        name: name.to_owned(),
    };
    let row = job_row(&lane, &payload, None, first_run, state::QUEUED, None)?;
    jobs::Entity::insert(row)
        .exec_without_returning(tx)
        .await
        .map_err(repo_err)?;
    Ok(())
}

#[async_trait]
impl ScheduleStore for SeaStore {
    async fn ensure(
        &self,
        names: &[&'static str],
        first_run: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let tx = begin(self).await?;
        for name in names {
            ensure_one(&tx, name, first_run).await?;
        }
        commit(tx).await
    }

    async fn rearm(
        &self,
        job: &ClaimedJob,
        name: &str,
        at: DateTime<Utc>,
        outcome: &str,
        next: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        let tx = begin(self).await?;
        let rearmed = jobs::Entity::update_many()
            .col_expr(jobs::Column::State, Expr::value(state::QUEUED))
            .col_expr(jobs::Column::RunAt, Expr::value(millis(next)))
            .col_expr(jobs::Column::Attempts, Expr::value(0))
            .col_expr(jobs::Column::LockedUntil, Expr::value(Option::<i64>::None))
            .col_expr(
                jobs::Column::LeaseToken,
                Expr::value(Option::<String>::None),
            )
            .col_expr(jobs::Column::LastError, Expr::value(Option::<String>::None))
            .col_expr(jobs::Column::UpdatedAt, Expr::value(millis(Utc::now())))
            .filter(held(job))
            .exec(&tx)
            .await
            .map_err(repo_err)?;
        if rearmed.rows_affected == 0 {
            return Ok(false);
        }
        Entity::update_many()
            .col_expr(Column::LastRunAt, Expr::value(millis(at)))
            .col_expr(Column::LastOutcome, Expr::value(outcome))
            .filter(Column::Name.eq(name))
            .exec(&tx)
            .await
            .map_err(repo_err)?;
        commit(tx).await?;
        Ok(true)
    }

    async fn list(&self) -> Result<Vec<ScheduleRecord>, RepoError> {
        let records = Entity::find()
            .order_by_asc(Column::Name)
            .all(self.db())
            .await
            .map_err(repo_err)?;
        let lanes: Vec<String> = records.iter().map(|r| schedule_lane(&r.name)).collect();
        let heads: Vec<(String, String, i64)> = jobs::Entity::find()
            .select_only()
            .column(jobs::Column::Lane)
            .column(jobs::Column::State)
            .column(jobs::Column::RunAt)
            .filter(jobs::Column::Lane.is_in(lanes))
            .filter(jobs::Column::State.is_in([state::QUEUED, state::RUNNING]))
            .into_tuple()
            .all(self.db())
            .await
            .map_err(repo_err)?;
        let heads: HashMap<String, (String, i64)> = (heads.into_iter())
            .map(|(lane, state, run_at)| (lane, (state, run_at)))
            .collect();
        (records.into_iter())
            .map(|record| {
                let head = heads.get(&schedule_lane(&record.name));
                Ok(ScheduleRecord {
                    last_run_at: time_opt("schedules.last_run_at", record.last_run_at)?,
                    last_outcome: record.last_outcome,
                    next_run_at: time_opt("jobs.run_at", head.map(|(_, at)| *at))?,
                    running: head.is_some_and(|(state, _)| state == state::RUNNING),
                    name: record.name,
                })
            })
            .collect()
    }
}

#[async_trait]
impl Housekeeping for SeaStore {
    async fn idle_conversations(
        &self,
        bot: BotId,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<ConversationId>, RepoError> {
        use crate::entities::conversations::{Column, Entity};
        let ids: Vec<String> = Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::BotId.eq(bot.to_string()))
            .filter(Column::Status.eq(ConversationStatus::Active.as_str()))
            .filter(Column::UpdatedAt.lt(millis(before)))
            .order_by_asc(Column::UpdatedAt)
            .limit(limit)
            .into_tuple()
            .all(self.db())
            .await
            .map_err(repo_err)?;
        ids.iter().map(|id| parse("conversations.id", id)).collect()
    }

    /// One transaction: the oldest `limit` messages, with their places in broadcasts, and as
    /// many of the bot's kept pictures and webhook deliveries from before `before`.
    async fn purge_messages(
        &self,
        bot: BotId,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, RepoError> {
        let values = || bounded(vec![bot.to_string().into(), millis(before).into()], limit);
        let oldest = "SELECT id FROM messages WHERE bot_id = $1 AND created_at < $2 \
                      ORDER BY created_at LIMIT $3";
        let tx = begin(self).await?;
        delete_picked(&tx, "broadcast_messages", "message_id", oldest, values()).await?;
        let pictures = "SELECT id FROM uploads WHERE bot_id = $1 AND created_at < $2 LIMIT $3";
        delete_picked(&tx, "uploads", "id", pictures, values()).await?;
        let deliveries = "SELECT id FROM webhook_deliveries \
                          WHERE bot_id = $1 AND created_at < $2 LIMIT $3";
        delete_picked(&tx, "webhook_deliveries", "id", deliveries, values()).await?;
        let deleted = delete_picked(&tx, "messages", "id", oldest, values()).await?;
        commit(tx).await?;
        Ok(deleted)
    }

    async fn purge_conversations(
        &self,
        bot: BotId,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, RepoError> {
        let empty = "SELECT c.id FROM conversations c WHERE c.bot_id = $1 AND c.updated_at < $2 \
                     AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id) \
                     LIMIT $3";
        let values = bounded(vec![bot.to_string().into(), millis(before).into()], limit);
        delete_picked(self.db(), "conversations", "id", empty, values).await
    }

    async fn purge_idempotency_keys(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, RepoError> {
        let expired = "SELECT scope, idempotency_key FROM idempotency_keys \
                       WHERE expires_at <= $1 LIMIT $2";
        let values = bounded(vec![millis(now).into()], limit);
        let key = "(scope, idempotency_key)";
        delete_picked(self.db(), "idempotency_keys", key, expired, values).await
    }

    async fn purge_settled(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, RepoError> {
        let values = || bounded(vec![millis(before).into()], limit);
        let dead = format!(
            "SELECT id FROM jobs WHERE updated_at < $1 AND state = '{}' LIMIT $2",
            state::DEAD
        );
        let jobs = delete_picked(self.db(), "jobs", "id", &dead, values()).await?;
        let settled = format!(
            "SELECT id FROM webhook_deliveries WHERE updated_at < $1 \
             AND state IN ('{}', '{}') LIMIT $2",
            DeliveryState::Delivered.as_str(),
            DeliveryState::Failed.as_str()
        );
        let deliveries =
            delete_picked(self.db(), "webhook_deliveries", "id", &settled, values()).await?;
        Ok(jobs + deliveries)
    }
}
