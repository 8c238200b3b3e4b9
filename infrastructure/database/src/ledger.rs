//! [`Ledger`] on sea-orm transactions: inbound messages with their conversations and `reply`
//! jobs (batched, in `intake`), a reply or an operator's message with its `deliver` job, each
//! written all-or-nothing.

use crate::conversations::heard_at;
use crate::entities::{conversations, messages};
use crate::errors::repo_err;
use crate::intake::{record_batch, upserts};
use crate::mapping::{conversation_row, message_row, millis, parse};
use crate::queue::enqueue;
use crate::{replies, SeaStore};
use application::ports::{ClaimedJob, InboundRecord, JobPayload, Ledger, Recorded, ReplyStored};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    Conversation, ConversationId, ConversationMode, ConversationStatus, Direction,
    ExternalMessageId, Message, MessageId, RepoError,
};
use sea_orm::sea_query::{CaseStatement, Expr, Func, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait, UpdateMany,
};
use std::collections::BTreeMap;

/// Conflict on the partial index `conversations_active_chat`. The predicate is literal SQL:
/// PostgreSQL infers a partial index only from a predicate it can prove, not a parameter.
/// Concurrent inserters for one chat agree on one row: the insert waits for a rival's
/// uncommitted row, then does nothing.
pub(crate) fn one_active_per_chat() -> OnConflict {
    use conversations::Column;
    OnConflict::columns([Column::BotId, Column::Platform, Column::ExternalChatId])
        .target_and_where(Expr::cust("status = 'active'"))
        .do_nothing()
        .to_owned()
}

/// Inserts an outbound message and enqueues its `deliver` job at the end of its conversation's
/// lane.
async fn store_and_deliver(tx: &DatabaseTransaction, message: &Message) -> Result<(), RepoError> {
    messages::Entity::insert(message_row(message)?)
        .exec_without_returning(tx)
        .await
        .map_err(repo_err)?;
    let lane = lane_of(message.conversation_id);
    let deliver = delivery_of(message);
    enqueue(
        tx,
        &lane,
        &deliver,
        Some(message.bot_id),
        message.created_at,
    )
    .await
}

/// Within `tx`: the chat's active conversation, or `conversation` started for it, then
/// `message` stored in it and its `deliver` job enqueued at the end of its lane; the message
/// as stored.
pub(crate) async fn start_outbound_in(
    tx: &DatabaseTransaction,
    conversation: &Conversation,
    message: &Message,
) -> Result<Message, RepoError> {
    let conversation_id = active_or_started(tx, conversation).await?;
    let message = Message {
        conversation_id,
        ..message.clone()
    };
    touch(tx, conversation_id, message.created_at).await?;
    store_and_deliver(tx, &message).await?;
    Ok(message)
}

/// The id of the chat's active conversation: `conversation`, inserted now, or the rival that
/// holds the chat already (as intake upserts it, lane lock included on PostgreSQL).
async fn active_or_started(
    tx: &DatabaseTransaction,
    conversation: &Conversation,
) -> Result<ConversationId, RepoError> {
    let backend = tx.get_database_backend();
    let rows = vec![conversation_row(conversation)];
    for statement in upserts(backend, rows)? {
        if let Some(row) = tx.query_one(statement).await.map_err(repo_err)? {
            let id: String = row.try_get("", "id").map_err(repo_err)?;
            return parse("conversations.id", &id);
        }
    }
    Err(RepoError::Unavailable(
        "the chat's conversation was neither started nor found".to_owned(),
    ))
}

/// Moves the conversation's `updated_at` forward to `at`. On PostgreSQL this also locks its
/// row until commit, so that every writer of a lane (the conversation) allocates job ids and
/// commits one after the other: a lane's jobs become visible in id order, and a claimer never
/// sees a later job of a lane before an earlier one.
fn touching(id: ConversationId, at: DateTime<Utc>) -> UpdateMany<conversations::Entity> {
    use conversations::{Column, Entity};
    let later = Func::greatest([Expr::col(Column::UpdatedAt).into(), Expr::value(millis(at))]);
    Entity::update_many()
        .col_expr(Column::UpdatedAt, later.into())
        .filter(Column::Id.eq(id.to_string()))
}

/// [`touching`] several conversations at once, each to its own time (`CASE id WHEN …`).
pub(crate) fn touching_many(
    latest: &BTreeMap<ConversationId, DateTime<Utc>>,
) -> UpdateMany<conversations::Entity> {
    use conversations::{Column, Entity};
    let at = latest.iter().fold(CaseStatement::new(), |case, (id, at)| {
        case.case(Column::Id.eq(id.to_string()), Expr::value(millis(*at)))
    });
    // Never taken (the filter matches the cases), but SQLite's MAX would be NULL with NULL.
    let at = at.finally(Expr::col(Column::UpdatedAt));
    let later = Func::greatest([Expr::col(Column::UpdatedAt).into(), at.into()]);
    let ids = latest.keys().map(ToString::to_string);
    Entity::update_many()
        .col_expr(Column::UpdatedAt, later.into())
        .filter(Column::Id.is_in(ids))
}

pub(crate) async fn touch(
    tx: &DatabaseTransaction,
    id: ConversationId,
    at: DateTime<Utc>,
) -> Result<(), RepoError> {
    touching(id, at).exec(tx).await.map_err(repo_err)?;
    Ok(())
}

/// [`touch`]es the conversation only while it is active, for an operator's message written at
/// `at`: a handed-off conversation's person is heard from then. `false` when it has ended or is
/// gone. Ending it waits for this transaction (the row is locked), so nothing slips in after
/// the end.
async fn touch_active(
    tx: &DatabaseTransaction,
    id: ConversationId,
    at: DateTime<Utc>,
) -> Result<bool, RepoError> {
    use conversations::Column;
    let active = Column::Status.eq(ConversationStatus::Active.as_str());
    let result = touching(id, at)
        .col_expr(Column::OperatorActiveAt, heard_at(at))
        .filter(active)
        .exec(tx)
        .await
        .map_err(repo_err)?;
    Ok(result.rows_affected > 0)
}

/// Inserts `message` unless it conflicts on `target`; `false` when it already existed.
pub(crate) async fn insert_unless_conflict(
    tx: &DatabaseTransaction,
    message: &Message,
    target: OnConflict,
) -> Result<bool, RepoError> {
    let inserted = messages::Entity::insert(message_row(message)?)
        .on_conflict(target)
        .exec_without_returning(tx)
        .await
        .map_err(repo_err)?;
    Ok(inserted > 0)
}

/// The inbound dedup key: one row per bot, platform, direction and platform message id.
pub(crate) fn same_delivery() -> OnConflict {
    use messages::Column;
    OnConflict::columns([
        Column::BotId,
        Column::Platform,
        Column::Direction,
        Column::ExternalId,
    ])
    .do_nothing()
    .to_owned()
}

/// At most one reply per inbound message.
pub(crate) fn same_reply() -> OnConflict {
    OnConflict::column(messages::Column::ReplyTo)
        .do_nothing()
        .to_owned()
}

/// The job that delivers a stored outbound message, from its first part.
fn delivery_of(message: &Message) -> JobPayload {
    JobPayload::Deliver {
        message_id: message.id,
        parts_sent: 0,
    }
}

/// A conversation's lane in the job queue.
pub(crate) fn lane_of(id: ConversationId) -> String {
    id.to_string()
}

pub(crate) fn inbound_message(record: &InboundRecord, conversation_id: ConversationId) -> Message {
    Message::inbound(
        conversation_id,
        record.bot_id,
        record.platform,
        record.external_id.clone(),
        record.content.clone(),
        record.received_at,
    )
    .with_reply_handle(record.reply_handle.clone())
}

pub(crate) async fn begin(store: &SeaStore) -> Result<DatabaseTransaction, RepoError> {
    store.db().begin().await.map_err(repo_err)
}

pub(crate) async fn rollback(tx: DatabaseTransaction) -> Result<(), RepoError> {
    tx.rollback().await.map_err(repo_err)
}

pub(crate) async fn commit(tx: DatabaseTransaction) -> Result<(), RepoError> {
    tx.commit().await.map_err(repo_err)
}

#[async_trait]
impl Ledger for SeaStore {
    async fn record_inbound_batch(
        &self,
        records: &[InboundRecord],
    ) -> Result<Vec<Recorded>, RepoError> {
        record_batch(self, records).await
    }

    async fn store_reply(
        &self,
        job: &ClaimedJob,
        reply: &Message,
    ) -> Result<ReplyStored, RepoError> {
        replies::store_reply(self, job, reply).await
    }

    async fn finish_delivery(
        &self,
        job: &ClaimedJob,
        message_id: MessageId,
        external_id: Option<ExternalMessageId>,
    ) -> Result<bool, RepoError> {
        replies::finish_delivery(self, job, message_id, external_id).await
    }

    async fn queue_outbound(&self, message: &Message) -> Result<bool, RepoError> {
        let tx = begin(self).await?;
        if !touch_active(&tx, message.conversation_id, message.created_at).await? {
            rollback(tx).await?;
            return Ok(false);
        }
        store_and_deliver(&tx, message).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn start_outbound(
        &self,
        conversation: &Conversation,
        message: &Message,
    ) -> Result<Message, RepoError> {
        let tx = begin(self).await?;
        let message = start_outbound_in(&tx, conversation, message).await?;
        commit(tx).await?;
        Ok(message)
    }

    async fn hand_back(
        &self,
        id: ConversationId,
        answer_pending: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        let tx = begin(self).await?;
        let released = handing_back(id, at).exec(&tx).await.map_err(repo_err)?;
        if released.rows_affected == 0 {
            rollback(tx).await?;
            return Ok(false);
        }
        if answer_pending {
            if let Some(message) = unanswered_inbound(&tx, id).await? {
                let bot_id = parse("messages.bot_id", &message.bot_id)?;
                let message_id = parse("messages.id", &message.id)?;
                let reply = JobPayload::Reply { message_id };
                enqueue(&tx, &lane_of(id), &reply, Some(bot_id), at).await?;
            }
        }
        commit(tx).await?;
        Ok(true)
    }
}

/// Gives the active, handed-off conversation `id` back to the bot, [`touching`] it.
fn handing_back(id: ConversationId, at: DateTime<Utc>) -> UpdateMany<conversations::Entity> {
    use conversations::Column;
    touching(id, at)
        .col_expr(Column::Mode, Expr::value(ConversationMode::Bot.as_str()))
        .col_expr(Column::AssignedTo, Expr::value(Option::<String>::None))
        .filter(Column::Status.eq(ConversationStatus::Active.as_str()))
        .filter(Column::Mode.eq(ConversationMode::Human.as_str()))
}

/// The conversation's latest inbound message, when nothing answers it yet.
async fn unanswered_inbound(
    tx: &DatabaseTransaction,
    id: ConversationId,
) -> Result<Option<messages::Model>, RepoError> {
    use messages::{Column, Entity};
    let latest = Entity::find()
        .filter(Column::ConversationId.eq(id.to_string()))
        .filter(Column::Direction.eq(Direction::Inbound.as_str()))
        .order_by_desc(Column::Id)
        .one(tx)
        .await
        .map_err(repo_err)?;
    let Some(latest) = latest else {
        return Ok(None);
    };
    let reply = Entity::find()
        .filter(Column::ReplyTo.eq(latest.id.as_str()))
        .one(tx)
        .await
        .map_err(repo_err)?;
    Ok(reply.is_none().then_some(latest))
}
