//! [`MessageRepository`] on the `messages` table: transcripts in id (= time) order, statuses that only move forward.

use crate::entities::messages::{self, Column, Entity};
use crate::entities::{bots, conversations};
use crate::errors::repo_err;
use crate::mapping::{conversation as conversation_of, message, time_opt, to_json};
use crate::{paging, SeaStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::repositories::{MessageInContext, MessageRepository};
use domain::{
    BotId, ConversationId, DeliveryReport, Direction, ExternalChatId, ExternalMessageId, Message,
    MessageId, MessageStatus, Page, PageRequest, PlatformKind, RepoError,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    QueryFilter, QueryOrder, QuerySelect, Select, Statement, TransactionTrait, Value,
};
use std::sync::OnceLock;

/// The message `$1` (columns `t_…`) with its conversation (`c_…`) and bot (`b_…`), on every
/// row, and the conversation's latest `$2` messages (`h_…`), one a row, newest first; one row
/// with no `h_…` when `$2` is 0. `{columns}` are the four tables' columns under those prefixes.
/// The history is a subquery that does not depend on the outer row, so it is read once, along
/// the `(conversation_id, id)` index, however long the conversation.
const IN_CONTEXT: &str = "SELECT {columns}
FROM messages t
LEFT JOIN conversations c ON c.id = t.conversation_id
LEFT JOIN bots b ON b.id = t.bot_id
LEFT JOIN (
    SELECT * FROM messages
    WHERE conversation_id = (SELECT conversation_id FROM messages WHERE id = $1)
    ORDER BY id DESC
    LIMIT $2
) h ON 1 = 1
WHERE t.id = $1
ORDER BY h.id DESC";

/// `table`'s columns (an alias of `E`'s table) as `prefix` + their name.
fn prefixed<E: EntityTrait>(
    table: &'static str,
    prefix: &'static str,
) -> impl Iterator<Item = String> {
    E::Column::iter().map(move |column| {
        let name = column.as_str();
        format!("{table}.\"{name}\" AS \"{prefix}{name}\"")
    })
}

/// [`IN_CONTEXT`] with its columns, built once.
fn in_context_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let columns: Vec<String> = prefixed::<Entity>("t", "t_")
            .chain(prefixed::<conversations::Entity>("c", "c_"))
            .chain(prefixed::<bots::Entity>("b", "b_"))
            .chain(prefixed::<Entity>("h", "h_"))
            .collect();
        IN_CONTEXT.replace("{columns}", &columns.join(", "))
    })
}

fn of_conversation(id: ConversationId) -> Select<Entity> {
    Entity::find().filter(Column::ConversationId.eq(id.to_string()))
}

/// Rows that may move to `status`: the update's guard, so that a status never moves back.
fn may_reach(status: MessageStatus) -> Condition {
    let from = status.reachable_from().iter().map(|s| s.as_str());
    Condition::all().add(Column::Status.is_in(from))
}

/// The bot's outbound message that the platform knows by `external_id`.
fn sent_as(bot_id: BotId, platform: PlatformKind, external_id: &ExternalMessageId) -> Condition {
    Condition::all()
        .add(Column::BotId.eq(bot_id.to_string()))
        .add(Column::Platform.eq(platform.as_str()))
        .add(Column::Direction.eq(Direction::Outbound.as_str()))
        .add(Column::ExternalId.eq(external_id.as_str()))
}

/// Moves the rows matching `which` to `status` where they may get there; how many moved.
async fn advance_where(
    db: &impl sea_orm::ConnectionTrait,
    which: Condition,
    status: MessageStatus,
    error: Option<String>,
) -> Result<u64, RepoError> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(status.as_str()))
        .col_expr(Column::Error, Expr::value(error))
        .filter(which)
        .filter(may_reach(status))
        .exec(db)
        .await
        .map_err(repo_err)?;
    Ok(result.rows_affected)
}

#[async_trait]
impl MessageRepository for SeaStore {
    async fn get(&self, id: MessageId) -> Result<Option<Message>, RepoError> {
        let row = Entity::find_by_id(id.to_string())
            .one(self.db())
            .await
            .map_err(repo_err)?;
        row.map(message).transpose()
    }

    async fn get_many(&self, ids: &[MessageId]) -> Result<Vec<Message>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = Entity::find()
            .filter(Column::Id.is_in(ids.iter().map(ToString::to_string)))
            .all(self.db())
            .await
            .map_err(repo_err)?;
        rows.into_iter().map(message).collect()
    }

    async fn get_in_context(
        &self,
        id: MessageId,
        recent: u32,
    ) -> Result<Option<MessageInContext>, RepoError> {
        let values: [Value; 2] = [id.to_string().into(), i64::from(recent).into()];
        let read = Statement::from_sql_and_values(self.backend(), in_context_sql(), values);
        let rows = self.db().query_all(read).await.map_err(repo_err)?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let row = |prefix| messages::Model::from_query_result(first, prefix).map_err(repo_err);
        let conversation = conversations::Model::from_query_result_optional(first, "c_");
        let bot = bots::Model::from_query_result_optional(first, "b_");
        let mut history = Vec::new();
        for row in &rows {
            if let Some(row) =
                messages::Model::from_query_result_optional(row, "h_").map_err(repo_err)?
            {
                history.push(message(row)?);
            }
        }
        Ok(Some(MessageInContext {
            message: message(row("t_")?)?,
            conversation: conversation
                .map_err(repo_err)?
                .map(conversation_of)
                .transpose()?,
            bot: (bot.map_err(repo_err)?)
                .map(|row| self.opened_bot(row))
                .transpose()?,
            recent: history,
        }))
    }

    async fn list(
        &self,
        conversation_id: ConversationId,
        page: &PageRequest,
    ) -> Result<Page<Message>, RepoError> {
        let query = of_conversation(conversation_id);
        paging::in_order(
            self.db(),
            query,
            (Column::Id, sea_orm::Order::Asc),
            page,
            message,
            |m| m.id.to_string(),
        )
        .await
    }

    async fn recent(
        &self,
        conversation_id: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>, RepoError> {
        let rows = of_conversation(conversation_id)
            .order_by_desc(Column::Id)
            .limit(u64::from(limit))
            .all(self.db())
            .await
            .map_err(repo_err)?;
        rows.into_iter().map(message).collect()
    }

    /// A chat's conversations follow one another (one active at a time, inbound messages only
    /// into it), so the newest conversation with an inbound message holds the latest: each is
    /// read newest first along `(conversation_id, id)`, stopping at the first inbound message,
    /// however long the chat's history.
    async fn last_inbound_at(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        chat: &ExternalChatId,
    ) -> Result<Option<DateTime<Utc>>, RepoError> {
        use conversations::Column as Conversation;
        let newest_first: Vec<String> = conversations::Entity::find()
            .select_only()
            .column(Conversation::Id)
            .filter(Conversation::BotId.eq(bot_id.to_string()))
            .filter(Conversation::Platform.eq(platform.as_str()))
            .filter(Conversation::ExternalChatId.eq(chat.as_str()))
            .order_by_desc(Conversation::CreatedAt)
            .into_tuple()
            .all(self.db())
            .await
            .map_err(repo_err)?;
        for conversation_id in newest_first {
            let latest: Option<i64> = Entity::find()
                .select_only()
                .column(Column::CreatedAt)
                .filter(Column::ConversationId.eq(conversation_id))
                .filter(Column::Direction.eq(Direction::Inbound.as_str()))
                .order_by_desc(Column::Id)
                .into_tuple()
                .one(self.db())
                .await
                .map_err(repo_err)?;
            if latest.is_some() {
                return time_opt("messages.created_at", latest);
            }
        }
        Ok(None)
    }

    async fn flag(&self, id: MessageId, categories: &[String]) -> Result<bool, RepoError> {
        let result = Entity::update_many()
            .col_expr(Column::Flagged, Expr::value(to_json(&categories)?))
            .filter(Column::Id.eq(id.to_string()))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn mark_rate_limited(&self, id: MessageId) -> Result<bool, RepoError> {
        let status = MessageStatus::RateLimited.as_str();
        let result = Entity::update_many()
            .col_expr(Column::Status, Expr::value(status))
            .filter(Column::Id.eq(id.to_string()))
            .filter(Column::Direction.eq(Direction::Inbound.as_str()))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn advance(
        &self,
        id: MessageId,
        status: MessageStatus,
        error: Option<String>,
    ) -> Result<bool, RepoError> {
        let this = Condition::all().add(Column::Id.eq(id.to_string()));
        Ok(advance_where(self.db(), this, status, error).await? > 0)
    }

    async fn set_external_id(
        &self,
        id: MessageId,
        external_id: &ExternalMessageId,
    ) -> Result<(), RepoError> {
        let result = Entity::update_many()
            .col_expr(Column::ExternalId, Expr::value(external_id.as_str()))
            .filter(Column::Id.eq(id.to_string()))
            .exec(self.db())
            .await
            .map_err(repo_err);
        match result {
            // Another of the bot's messages has that id: the platform reused it, so its
            // reports cannot tell the two apart. The message was sent all the same.
            Err(RepoError::Duplicate(detail)) => {
                tracing::warn!(%id, %detail, "a platform message id was given twice; not kept");
                Ok(())
            }
            other => other.map(drop),
        }
    }

    /// The update and the read that returns the moved row share a transaction, so the row
    /// read is the one moved.
    async fn apply_report(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        report: &DeliveryReport,
    ) -> Result<Option<Message>, RepoError> {
        let which = sent_as(bot_id, platform, &report.external_id);
        let tx = self.db().begin().await.map_err(repo_err)?;
        let moved = advance_where(&tx, which.clone(), report.status, report.error.clone()).await?;
        let row = match moved {
            0 => None,
            _ => Entity::find()
                .filter(which)
                .one(&tx)
                .await
                .map_err(repo_err)?,
        };
        tx.commit().await.map_err(repo_err)?;
        row.map(message).transpose()
    }
}
