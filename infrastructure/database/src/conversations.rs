//! [`ConversationRepository`] on the `conversations` table: lookup, filtered listing, ending.

use crate::entities::conversations::{Column, Entity};
use crate::errors::repo_err;
use crate::mapping::{conversation, millis};
use crate::SeaStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::repositories::{ConversationFilter, ConversationRepository};
use domain::{
    BotId, Conversation, ConversationId, ConversationStatus, ExternalChatId, Page, PageRequest,
    PlatformKind, RepoError,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

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
        let mut query = Entity::find()
            .filter(matching(filter))
            .order_by_desc(Column::Id);
        if let Some(before) = &page.after {
            query = query.filter(Column::Id.lt(before.0.as_str()));
        }
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
