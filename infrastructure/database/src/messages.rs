//! [`MessageRepository`] on the `messages` table: transcripts in id (= time) order, statuses.

use crate::entities::messages::{Column, Entity};
use crate::errors::repo_err;
use crate::mapping::message;
use crate::{paging, SeaStore};
use async_trait::async_trait;
use domain::repositories::MessageRepository;
use domain::{ConversationId, Message, MessageId, MessageStatus, Page, PageRequest, RepoError};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

fn of_conversation(id: ConversationId) -> Select<Entity> {
    Entity::find().filter(Column::ConversationId.eq(id.to_string()))
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

    async fn list(
        &self,
        conversation_id: ConversationId,
        page: &PageRequest,
    ) -> Result<Page<Message>, RepoError> {
        let query = of_conversation(conversation_id);
        paging::ascending(self.db(), query, Column::Id, page, message, |m| {
            m.id.to_string()
        })
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

    async fn set_status(&self, id: MessageId, status: MessageStatus) -> Result<(), RepoError> {
        Entity::update_many()
            .col_expr(Column::Status, Expr::value(status.as_str()))
            .filter(Column::Id.eq(id.to_string()))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }
}
