//! [`Broadcasts`] on sea-orm: a broadcast and its recipients' messages and `deliver` jobs in one transaction; progress as those messages counted by status.

use crate::entities::{broadcast_messages, broadcasts, messages};
use crate::errors::repo_err;
use crate::ledger::{begin, commit, start_outbound_in};
use crate::mapping::{from_json, millis, parse, time, time_opt, to_json};
use crate::SeaStore;
use application::ports::{Broadcasts, Delivery};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{BotId, Broadcast, BroadcastId, BroadcastProgress, Message, MessageStatus, RepoError};
use sea_orm::sea_query::{Expr, Func, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};

/// Links written per statement (two parameters each, far under SQLite's limit).
const LINKS_PER_INSERT: usize = 500;

#[async_trait]
impl Broadcasts for SeaStore {
    async fn start_broadcast(
        &self,
        broadcast: &Broadcast,
        deliveries: &[Delivery],
    ) -> Result<Vec<Message>, RepoError> {
        let tx = begin(self).await?;
        broadcasts::Entity::insert(broadcast_row(broadcast)?)
            .exec_without_returning(&tx)
            .await
            .map_err(repo_err)?;
        let mut stored = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let message = &delivery.message;
            stored.push(start_outbound_in(&tx, &delivery.conversation, message).await?);
        }
        for chunk in stored.chunks(LINKS_PER_INSERT) {
            let links = chunk.iter().map(|message| broadcast_messages::ActiveModel {
                broadcast_id: Set(broadcast.id.to_string()),
                message_id: Set(message.id.to_string()),
            });
            broadcast_messages::Entity::insert_many(links)
                .exec_without_returning(&tx)
                .await
                .map_err(repo_err)?;
        }
        commit(tx).await?;
        Ok(stored)
    }

    async fn broadcast(
        &self,
        bot_id: BotId,
        id: BroadcastId,
    ) -> Result<Option<(Broadcast, BroadcastProgress)>, RepoError> {
        read(self.db(), bot_id, id).await
    }

    async fn cancel_broadcast(
        &self,
        bot_id: BotId,
        id: BroadcastId,
        at: DateTime<Utc>,
    ) -> Result<Option<(Broadcast, BroadcastProgress)>, RepoError> {
        let tx = begin(self).await?;
        let Some((broadcast, progress)) = read(&tx, bot_id, id).await? else {
            commit(tx).await?;
            return Ok(None);
        };
        if broadcast.cancelled_at.is_some() || progress.queued == 0 {
            commit(tx).await?;
            return Ok(Some((broadcast, progress)));
        }
        broadcasts::Entity::update_many()
            .col_expr(broadcasts::Column::CancelledAt, Expr::value(millis(at)))
            .filter(broadcasts::Column::Id.eq(id.to_string()))
            .exec(&tx)
            .await
            .map_err(repo_err)?;
        messages::Entity::update_many()
            .col_expr(
                messages::Column::Status,
                Expr::value(MessageStatus::Failed.as_str()),
            )
            .col_expr(messages::Column::Error, Expr::value(Broadcast::CANCELLED))
            .filter(messages::Column::Status.eq(MessageStatus::Pending.as_str()))
            .filter(messages::Column::Id.in_subquery(message_ids(id)))
            .exec(&tx)
            .await
            .map_err(repo_err)?;
        let cancelled = read(&tx, bot_id, id).await?;
        commit(tx).await?;
        Ok(cancelled)
    }
}

/// Broadcast `id` of `bot_id` with its progress, read through `db`.
async fn read<C: ConnectionTrait>(
    db: &C,
    bot_id: BotId,
    id: BroadcastId,
) -> Result<Option<(Broadcast, BroadcastProgress)>, RepoError> {
    let row = broadcasts::Entity::find_by_id(id.to_string())
        .filter(broadcasts::Column::BotId.eq(bot_id.to_string()))
        .one(db)
        .await
        .map_err(repo_err)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let progress = progress(db, id).await?;
    Ok(Some((broadcast(row)?, progress)))
}

/// The ids of broadcast `id`'s messages, as a subquery.
fn message_ids(id: BroadcastId) -> SelectStatement {
    Query::select()
        .column(broadcast_messages::Column::MessageId)
        .from(broadcast_messages::Entity)
        .and_where(broadcast_messages::Column::BroadcastId.eq(id.to_string()))
        .to_owned()
}

/// Broadcast `id`'s messages counted by status, a cancelled one apart from other failures.
async fn progress<C: ConnectionTrait>(
    db: &C,
    id: BroadcastId,
) -> Result<BroadcastProgress, RepoError> {
    use messages::Column;
    let cancelled = Expr::case(Expr::col(Column::Error).eq(Broadcast::CANCELLED), 1).finally(0);
    let counts: Vec<(String, i64, i64)> = messages::Entity::find()
        .select_only()
        .column(Column::Status)
        .column_as(Expr::col(Column::Id).count(), "count")
        .column_as(SimpleExpr::from(Func::sum(cancelled)), "cancelled")
        .filter(Column::Id.in_subquery(message_ids(id)))
        .group_by(Column::Status)
        .into_tuple()
        .all(db)
        .await
        .map_err(repo_err)?;
    let mut progress = BroadcastProgress::default();
    for (status, count, cancelled) in counts {
        let status: MessageStatus = parse("messages.status", &status)?;
        let (count, cancelled) = (tally(count), tally(cancelled));
        match status {
            MessageStatus::Failed => {
                progress.cancelled += cancelled;
                progress.failed += count - cancelled;
            }
            MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read => {
                progress.sent += count;
            }
            MessageStatus::Pending | MessageStatus::Received | MessageStatus::RateLimited => {
                progress.queued += count;
            }
        }
    }
    Ok(progress)
}

/// A count as the API reports it.
fn tally(count: i64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

fn broadcast_row(broadcast: &Broadcast) -> Result<broadcasts::ActiveModel, RepoError> {
    Ok(broadcasts::ActiveModel {
        id: Set(broadcast.id.to_string()),
        bot_id: Set(broadcast.bot_id.to_string()),
        platform: Set(broadcast.platform.as_str().to_owned()),
        content: Set(to_json(&broadcast.content)?),
        total: Set(i32::try_from(broadcast.total).unwrap_or(i32::MAX)),
        created_at: Set(millis(broadcast.created_at)),
        cancelled_at: Set(broadcast.cancelled_at.map(millis)),
    })
}

fn broadcast(row: broadcasts::Model) -> Result<Broadcast, RepoError> {
    Ok(Broadcast {
        id: parse("broadcasts.id", &row.id)?,
        bot_id: parse("broadcasts.bot_id", &row.bot_id)?,
        platform: parse("broadcasts.platform", &row.platform)?,
        content: from_json("broadcasts.content", &row.content)?,
        total: u32::try_from(row.total).unwrap_or(0),
        created_at: time("broadcasts.created_at", row.created_at)?,
        cancelled_at: time_opt("broadcasts.cancelled_at", row.cancelled_at)?,
    })
}
