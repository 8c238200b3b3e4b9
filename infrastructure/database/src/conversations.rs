//! [`ConversationRepository`] on the `conversations` table: lookup, filtered listing, handing off, ending.

use crate::entities::conversations::{Column, Entity};
use crate::errors::repo_err;
use crate::mapping::{conversation, millis};
use crate::SeaStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::repositories::{ConversationFilter, ConversationRepository};
use domain::{
    BotId, Conversation, ConversationId, ConversationMode, ConversationStatus, ExternalChatId,
    Page, PageRequest, PlatformKind, RepoError,
};
use sea_orm::sea_query::{CaseStatement, Expr, Func, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, UpdateMany,
};

/// The chat's active conversation (at most one, by the partial unique index).
pub(crate) fn active_chat(
    bot_id: BotId,
    platform: PlatformKind,
    chat: &ExternalChatId,
) -> Condition {
    Condition::all()
        .add(Column::BotId.eq(bot_id.to_string()))
        .add(Column::Platform.eq(platform.as_str()))
        .add(Column::ExternalChatId.eq(chat.as_str()))
        .add(Column::Status.eq(ConversationStatus::Active.as_str()))
}

/// The filter's conditions, each only when set.
fn matching(filter: &ConversationFilter) -> Condition {
    Condition::all()
        .add_option(filter.bot_id.map(|id| Column::BotId.eq(id.to_string())))
        .add_option(filter.platform.map(|p| Column::Platform.eq(p.as_str())))
        .add_option(filter.status.map(|s| Column::Status.eq(s.as_str())))
        .add_option(filter.mode.map(|m| Column::Mode.eq(m.as_str())))
        .add_option(
            filter
                .created_after
                .map(|at| Column::CreatedAt.gte(millis(at))),
        )
        .add_option(
            filter
                .created_before
                .map(|at| Column::CreatedAt.lt(millis(at))),
        )
}

/// Newest first, after the cursor's conversation.
fn newest_first(query: Select<Entity>, page: &PageRequest) -> Select<Entity> {
    let query = query.order_by_desc(Column::Id);
    match &page.after {
        Some(after) => query.filter(Column::Id.lt(after.0.as_str())),
        None => query,
    }
}

/// Handed off the longest ago first (the id breaks ties), after the cursor's conversation,
/// which was handed off `since`.
fn longest_waiting_first(
    query: Select<Entity>,
    page: &PageRequest,
    since: Option<i64>,
) -> Select<Entity> {
    let query = query
        .order_by_asc(Column::HandedOffAt)
        .order_by_asc(Column::Id);
    let Some(after) = &page.after else {
        return query;
    };
    let after = after.0.as_str();
    let Some(since) = since else {
        return query.filter(Column::Id.gt(after));
    };
    query.filter(
        Condition::any().add(Column::HandedOffAt.gt(since)).add(
            Condition::all()
                .add(Column::HandedOffAt.eq(since))
                .add(Column::Id.gt(after)),
        ),
    )
}

/// Hands the active, bot-answered conversation `id` over; nothing else changes.
fn hand_off_row(
    id: ConversationId,
    assigned_to: Option<String>,
    at: DateTime<Utc>,
) -> UpdateMany<Entity> {
    Entity::update_many()
        .col_expr(Column::Mode, Expr::value(ConversationMode::Human.as_str()))
        .col_expr(Column::HandedOffAt, Expr::value(millis(at)))
        .col_expr(Column::AssignedTo, Expr::value(assigned_to))
        .col_expr(Column::OperatorActiveAt, Expr::value(millis(at)))
        .col_expr(Column::UpdatedAt, Expr::value(millis(at)))
        .filter(Column::Id.eq(id.to_string()))
        .filter(Column::Status.eq(ConversationStatus::Active.as_str()))
        .filter(Column::Mode.eq(ConversationMode::Bot.as_str()))
}

impl SeaStore {
    /// When the conversation `id` was last handed off, if it exists and ever was.
    async fn handed_off_at(&self, id: &str) -> Result<Option<i64>, RepoError> {
        let row = Entity::find_by_id(id)
            .one(self.db())
            .await
            .map_err(repo_err)?;
        Ok(row.and_then(|row| row.handed_off_at))
    }
}

/// `operator_active_at` once the person of a handed-off conversation is heard from at `at` (it
/// only moves forward, and SQLite's `MAX` is `NULL` with a `NULL`, hence the `COALESCE`); a
/// conversation the bot has keeps its value.
pub(crate) fn heard_at(at: DateTime<Utc>) -> SimpleExpr {
    let at = Expr::value(millis(at));
    let before = Func::coalesce([Expr::col(Column::OperatorActiveAt).into(), at.clone()]);
    let later = Func::greatest([before.into(), at]);
    CaseStatement::new()
        .case(Column::Mode.eq(ConversationMode::Human.as_str()), later)
        .finally(Expr::col(Column::OperatorActiveAt))
        .into()
}

/// Notes the person of the active, handed-off conversation `id` as heard from at `at`.
fn person_heard(id: ConversationId, at: DateTime<Utc>) -> UpdateMany<Entity> {
    Entity::update_many()
        .col_expr(Column::OperatorActiveAt, heard_at(at))
        .filter(Column::Id.eq(id.to_string()))
        .filter(Column::Status.eq(ConversationStatus::Active.as_str()))
        .filter(Column::Mode.eq(ConversationMode::Human.as_str()))
}

#[async_trait]
impl ConversationRepository for SeaStore {
    async fn get(&self, id: ConversationId) -> Result<Option<Conversation>, RepoError> {
        let row = Entity::find_by_id(id.to_string())
            .one(self.db())
            .await
            .map_err(repo_err)?;
        row.map(conversation).transpose()
    }

    async fn find_active(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        chat: &ExternalChatId,
    ) -> Result<Option<Conversation>, RepoError> {
        let row = Entity::find()
            .filter(active_chat(bot_id, platform, chat))
            .one(self.db())
            .await
            .map_err(repo_err)?;
        row.map(conversation).transpose()
    }

    async fn list(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, RepoError> {
        let query = Entity::find().filter(matching(filter));
        let query = if filter.mode == Some(ConversationMode::Human) {
            let since = match &page.after {
                Some(after) => self.handed_off_at(&after.0).await?,
                None => None,
            };
            longest_waiting_first(query, page, since)
        } else {
            newest_first(query, page)
        };
        let rows = query
            .limit(page.fetch_limit())
            .all(self.db())
            .await
            .map_err(repo_err)?;
        let items = rows
            .into_iter()
            .map(conversation)
            .collect::<Result<_, _>>()?;
        Ok(Page::from_overfetch(items, page, |c| c.id.to_string()))
    }

    async fn hand_off(
        &self,
        id: ConversationId,
        assigned_to: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        let result = hand_off_row(id, assigned_to, at)
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        if result.rows_affected > 0 {
            return Ok(true);
        }
        person_heard(id, at)
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(false)
    }

    /// Idempotent: an already ended conversation keeps its `updated_at`.
    async fn end(
        &self,
        id: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<Option<Conversation>, RepoError> {
        Entity::update_many()
            .col_expr(
                Column::Status,
                Expr::value(ConversationStatus::Ended.as_str()),
            )
            .col_expr(Column::UpdatedAt, Expr::value(millis(at)))
            .filter(Column::Id.eq(id.to_string()))
            .filter(Column::Status.eq(ConversationStatus::Active.as_str()))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        self.get(id).await
    }
}
