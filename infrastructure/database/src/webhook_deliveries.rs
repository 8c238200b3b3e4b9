//! [`WebhookDeliveries`] on the `webhook_deliveries` and `webhook_attempts` tables: deliveries stored with their jobs in one transaction, attempts recorded with the webhook's failure count, and pages of deliveries with their attempts.

use crate::entities::jobs::state;
use crate::entities::webhook_attempts as attempt_rows;
use crate::entities::webhook_deliveries::{ActiveModel, Column, Entity, Model};
use crate::entities::webhooks as webhook_rows;
use crate::errors::repo_err;
use crate::intake::inserts;
use crate::ledger::{begin, commit};
use crate::mapping::{millis, parse, time};
use crate::queue::{announce, enqueue, job_row, lock_lanes_and_read_heads};
use crate::{paging, SeaStore};
use application::ports::{delivery_lane, JobPayload, Requeued, WebhookDeliveries};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    DeliveryAttempt, DeliveryId, DeliveryState, Page, PageRequest, RepoError, Webhook,
    WebhookDelivery, WebhookId,
};
use sea_orm::sea_query::Expr;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::collections::HashMap;

fn delivery_row(delivery: &WebhookDelivery) -> ActiveModel {
    ActiveModel {
        id: Set(delivery.id.to_string()),
        webhook_id: Set(delivery.webhook_id.to_string()),
        event_id: Set(delivery.event_id.to_string()),
        event_type: Set(delivery.event_type.clone()),
        bot_id: Set(delivery.bot_id.to_string()),
        conversation_id: Set(delivery.conversation_id.to_string()),
        body: Set(delivery.body.clone()),
        state: Set(delivery.state.as_str().to_owned()),
        created_at: Set(millis(delivery.created_at)),
        updated_at: Set(millis(delivery.updated_at)),
    }
}

fn delivery(row: Model, attempts: Vec<DeliveryAttempt>) -> Result<WebhookDelivery, RepoError> {
    let what = "webhook_deliveries.state";
    Ok(WebhookDelivery {
        id: parse("webhook_deliveries.id", &row.id)?,
        webhook_id: parse("webhook_deliveries.webhook_id", &row.webhook_id)?,
        event_id: parse("webhook_deliveries.event_id", &row.event_id)?,
        event_type: row.event_type,
        bot_id: parse("webhook_deliveries.bot_id", &row.bot_id)?,
        conversation_id: parse("webhook_deliveries.conversation_id", &row.conversation_id)?,
        body: row.body,
        state: DeliveryState::parse(&row.state)
            .ok_or_else(|| crate::errors::corrupt(what, &row.state))?,
        attempts,
        created_at: time("webhook_deliveries.created_at", row.created_at)?,
        updated_at: time("webhook_deliveries.updated_at", row.updated_at)?,
    })
}

fn attempt(row: &attempt_rows::Model) -> Result<DeliveryAttempt, RepoError> {
    Ok(DeliveryAttempt {
        at: time("webhook_attempts.at", row.at)?,
        status: row.status.and_then(|status| u16::try_from(status).ok()),
        error: row.error.clone(),
        duration_ms: u64::try_from(row.duration_ms).unwrap_or_default(),
    })
}

/// The attempts at each of `ids`, in order.
async fn attempts_of<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<HashMap<String, Vec<DeliveryAttempt>>, RepoError> {
    let rows = attempt_rows::Entity::find()
        .filter(attempt_rows::Column::DeliveryId.is_in(ids))
        .order_by_asc(attempt_rows::Column::Attempt)
        .all(db)
        .await
        .map_err(repo_err)?;
    let mut by_delivery: HashMap<String, Vec<DeliveryAttempt>> = HashMap::new();
    for row in &rows {
        let attempts = by_delivery.entry(row.delivery_id.clone()).or_default();
        attempts.push(attempt(row)?);
    }
    Ok(by_delivery)
}

/// A job per delivery, in order, each in its lane: the first of a lane with no head queued.
async fn enqueue_jobs(
    tx: &DatabaseTransaction,
    deliveries: &[WebhookDelivery],
) -> Result<(), RepoError> {
    let lanes: Vec<String> = deliveries.iter().map(delivery_lane).collect();
    let mut distinct = lanes.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let mut headed = lock_lanes_and_read_heads(tx, &distinct).await?;
    let mut queued = false;
    let mut rows = Vec::with_capacity(deliveries.len());
    for (delivery, lane) in deliveries.iter().zip(lanes) {
        // The first of a lane without a head becomes its head; the rest wait behind it.
        let arrival = match headed.insert(lane.clone()) {
            true => state::QUEUED,
            false => state::WAITING,
        };
        queued |= arrival == state::QUEUED;
        let payload = JobPayload::Webhook {
            delivery_id: delivery.id,
        };
        let run_at = delivery.created_at;
        // No bot: a bot deleted meanwhile neither refuses the batch nor takes its events' jobs.
        rows.push(job_row(&lane, &payload, None, run_at, arrival, None)?);
    }
    let backend = tx.get_database_backend();
    for insert in inserts(backend, rows)? {
        tx.execute(backend.build(&insert)).await.map_err(repo_err)?;
    }
    if queued {
        announce(tx).await?;
    }
    Ok(())
}

/// Counts a failed attempt against webhook `id` and disables it at `disable_after` failures
/// in a row (0: never); answers whether it is disabled.
async fn count_failure(
    tx: &DatabaseTransaction,
    id: &str,
    disable_after: u32,
    error: &str,
    now: i64,
) -> Result<bool, RepoError> {
    webhook_rows::Entity::update_many()
        .col_expr(
            webhook_rows::Column::Failures,
            Expr::col(webhook_rows::Column::Failures).add(1),
        )
        .filter(webhook_rows::Column::Id.eq(id))
        .exec(tx)
        .await
        .map_err(repo_err)?;
    if disable_after > 0 {
        let reason = format!("failed {disable_after} times in a row; the last: {error}");
        webhook_rows::Entity::update_many()
            .col_expr(webhook_rows::Column::DisabledAt, Expr::value(now))
            .col_expr(webhook_rows::Column::DisabledReason, Expr::value(reason))
            .filter(webhook_rows::Column::Id.eq(id))
            .filter(webhook_rows::Column::DisabledAt.is_null())
            .filter(webhook_rows::Column::Failures.gte(i64::from(disable_after)))
            .exec(tx)
            .await
            .map_err(repo_err)?;
    }
    let disabled: Option<Option<i64>> = webhook_rows::Entity::find_by_id(id)
        .select_only()
        .column(webhook_rows::Column::DisabledAt)
        .into_tuple()
        .one(tx)
        .await
        .map_err(repo_err)?;
    Ok(disabled.flatten().is_some())
}

async fn clear_failures(tx: &DatabaseTransaction, id: &str) -> Result<(), RepoError> {
    webhook_rows::Entity::update_many()
        .col_expr(webhook_rows::Column::Failures, Expr::value(0))
        .filter(webhook_rows::Column::Id.eq(id))
        .exec(tx)
        .await
        .map_err(repo_err)?;
    Ok(())
}

/// Appends `attempt` as delivery `id`'s next.
async fn append_attempt(
    tx: &DatabaseTransaction,
    id: &str,
    attempt: &DeliveryAttempt,
) -> Result<(), RepoError> {
    let last: Option<Option<i32>> = attempt_rows::Entity::find()
        .select_only()
        .column_as(attempt_rows::Column::Attempt.max(), "last")
        .filter(attempt_rows::Column::DeliveryId.eq(id))
        .into_tuple()
        .one(tx)
        .await
        .map_err(repo_err)?;
    let row = attempt_rows::ActiveModel {
        delivery_id: Set(id.to_owned()),
        attempt: Set(last.flatten().unwrap_or(0) + 1),
        at: Set(millis(attempt.at)),
        status: Set(attempt.status.map(i32::from)),
        error: Set(attempt.error.clone()),
        duration_ms: Set(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX)),
    };
    attempt_rows::Entity::insert(row)
        .exec_without_returning(tx)
        .await
        .map_err(repo_err)?;
    Ok(())
}

async fn set_state(
    tx: &DatabaseTransaction,
    id: &str,
    state: DeliveryState,
    now: i64,
) -> Result<(), RepoError> {
    Entity::update_many()
        .col_expr(Column::State, Expr::value(state.as_str()))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(tx)
        .await
        .map_err(repo_err)?;
    Ok(())
}

#[async_trait]
impl WebhookDeliveries for SeaStore {
    async fn enqueue(&self, deliveries: &[WebhookDelivery]) -> Result<(), RepoError> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let tx = begin(self).await?;
        let backend = tx.get_database_backend();
        let rows = deliveries.iter().map(delivery_row).collect();
        for insert in inserts(backend, rows)? {
            tx.execute(backend.build(&insert)).await.map_err(repo_err)?;
        }
        enqueue_jobs(&tx, deliveries).await?;
        commit(tx).await
    }

    async fn pending(
        &self,
        id: DeliveryId,
    ) -> Result<Option<(WebhookDelivery, Webhook)>, RepoError> {
        let row = Entity::find_by_id(id.to_string())
            .filter(Column::State.eq(DeliveryState::Pending.as_str()))
            .one(self.db())
            .await
            .map_err(repo_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let webhook = webhook_rows::Entity::find_by_id(row.webhook_id.as_str())
            .one(self.db())
            .await
            .map_err(repo_err)?;
        let Some(webhook) = webhook else {
            return Ok(None);
        };
        Ok(Some((delivery(row, Vec::new())?, self.webhook(webhook)?)))
    }

    async fn record(
        &self,
        delivery: &WebhookDelivery,
        attempt: &DeliveryAttempt,
        state: DeliveryState,
        disable_after: u32,
    ) -> Result<bool, RepoError> {
        let (id, webhook) = (delivery.id.to_string(), delivery.webhook_id.to_string());
        let now = millis(attempt.at);
        let tx = begin(self).await?;
        append_attempt(&tx, &id, attempt).await?;
        let disabled = match attempt.error.as_deref() {
            None => clear_failures(&tx, &webhook).await.map(|()| false)?,
            Some(error) => count_failure(&tx, &webhook, disable_after, error, now).await?,
        };
        let state = match (disabled, state) {
            (true, DeliveryState::Pending) => DeliveryState::Failed,
            (_, state) => state,
        };
        set_state(&tx, &id, state, now).await?;
        commit(tx).await?;
        Ok(disabled)
    }

    async fn list(
        &self,
        webhook: WebhookId,
        page: &PageRequest,
    ) -> Result<Page<WebhookDelivery>, RepoError> {
        let query = Entity::find().filter(Column::WebhookId.eq(webhook.to_string()));
        let order = (Column::Id, sea_orm::Order::Desc);
        let rows = paging::in_order(self.db(), query, order, page, Ok, |row| row.id.clone());
        let rows = rows.await?;
        let ids = rows.items.iter().map(|row| row.id.clone()).collect();
        let mut attempts = attempts_of(self.db(), ids).await?;
        let items = (rows.items.into_iter())
            .map(|row| {
                let tried = attempts.remove(&row.id).unwrap_or_default();
                delivery(row, tried)
            })
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next_cursor: rows.next_cursor,
        })
    }

    async fn requeue(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Requeued, RepoError> {
        let tx = begin(self).await?;
        let row = Entity::find_by_id(id.to_string())
            .filter(Column::WebhookId.eq(webhook.to_string()))
            .one(&tx)
            .await
            .map_err(repo_err)?;
        let Some(mut row) = row else {
            return Ok(Requeued::Missing);
        };
        if row.state == DeliveryState::Pending.as_str() {
            return Ok(Requeued::StillPending);
        }
        set_state(&tx, &row.id, DeliveryState::Pending, millis(now)).await?;
        (row.state, row.updated_at) = (DeliveryState::Pending.as_str().to_owned(), millis(now));
        let mut attempts = attempts_of(&tx, vec![row.id.clone()]).await?;
        let requeued = delivery(row, attempts.remove(&id.to_string()).unwrap_or_default())?;
        let payload = JobPayload::Webhook { delivery_id: id };
        let lane = delivery_lane(&requeued);
        enqueue(&tx, &lane, &payload, None, now).await?;
        commit(tx).await?;
        Ok(Requeued::Queued(requeued))
    }
}
