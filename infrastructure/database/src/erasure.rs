//! [`Erasure`] on sea-orm: one end user's conversations with a bot, and all that hangs on them (webhook deliveries included), deleted in one transaction.

use crate::entities::webhook_deliveries;
use crate::entities::{broadcast_messages, conversations, events, jobs, messages, uploads};
use crate::errors::repo_err;
use crate::ledger::{begin, commit};
use crate::SeaStore;
use application::ports::{Erased, Erasure};
use async_trait::async_trait;
use domain::{BotId, ExternalChatId, PlatformKind, RepoError};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};

#[async_trait]
impl Erasure for SeaStore {
    async fn erase_chat(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        chat: &ExternalChatId,
    ) -> Result<Erased, RepoError> {
        let tx = begin(self).await?;
        let attachments = erase_uploads(&tx, bot_id, platform, chat).await?;
        let ids = chat_conversations(&tx, bot_id, platform, chat).await?;
        if ids.is_empty() {
            commit(tx).await?;
            return Ok(Erased {
                attachments,
                ..Erased::default()
            });
        }
        let their_messages = Query::select()
            .column(messages::Column::Id)
            .from(messages::Entity)
            .and_where(messages::Column::ConversationId.is_in(ids.clone()))
            .to_owned();
        broadcast_messages::Entity::delete_many()
            .filter(broadcast_messages::Column::MessageId.in_subquery(their_messages))
            .exec(&tx)
            .await
            .map_err(repo_err)?;
        delete_in::<jobs::Entity>(&tx, jobs::Column::Lane, &ids).await?;
        delete_in::<events::Entity>(&tx, events::Column::ConversationId, &ids).await?;
        // The webhooks' copies of the events, texts included (their attempts go with them).
        let deliveries = webhook_deliveries::Column::ConversationId;
        delete_in::<webhook_deliveries::Entity>(&tx, deliveries, &ids).await?;
        let removed =
            delete_in::<messages::Entity>(&tx, messages::Column::ConversationId, &ids).await?;
        delete_in::<conversations::Entity>(&tx, conversations::Column::Id, &ids).await?;
        commit(tx).await?;
        Ok(Erased {
            conversations: ids.len() as u64,
            messages: removed,
            attachments,
        })
    }
}

/// Deletes the pictures `chat` sent to `bot_id` on `platform`; how many.
async fn erase_uploads(
    tx: &DatabaseTransaction,
    bot_id: BotId,
    platform: PlatformKind,
    chat: &ExternalChatId,
) -> Result<u64, RepoError> {
    let deleted = uploads::Entity::delete_many()
        .filter(uploads::Column::BotId.eq(bot_id.to_string()))
        .filter(uploads::Column::Platform.eq(platform.as_str()))
        .filter(uploads::Column::Chat.eq(chat.as_str()))
        .exec(tx)
        .await
        .map_err(repo_err)?;
    Ok(deleted.rows_affected)
}

/// Deletes the rows of `E` whose `column` is one of `ids`; how many.
async fn delete_in<E: EntityTrait>(
    tx: &DatabaseTransaction,
    column: E::Column,
    ids: &[String],
) -> Result<u64, RepoError> {
    let deleted = E::delete_many()
        .filter(column.is_in(ids.iter().cloned()))
        .exec(tx)
        .await
        .map_err(repo_err)?;
    Ok(deleted.rows_affected)
}

/// The ids of every conversation, active or ended, of `bot_id` with `chat` on `platform`.
async fn chat_conversations(
    tx: &DatabaseTransaction,
    bot_id: BotId,
    platform: PlatformKind,
    chat: &ExternalChatId,
) -> Result<Vec<String>, RepoError> {
    use conversations::{Column, Entity};
    Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::BotId.eq(bot_id.to_string()))
        .filter(Column::Platform.eq(platform.as_str()))
        .filter(Column::ExternalChatId.eq(chat.as_str()))
        .into_tuple()
        .all(tx)
        .await
        .map_err(repo_err)
}
