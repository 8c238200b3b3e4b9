//! [`PollOffsets`] on `platform_bindings` and `telegram_poll_offsets`: which bindings poll, and where each resumes.

use crate::entities::telegram_poll_offsets::{ActiveModel, Column, Entity};
use crate::errors::repo_err;
use crate::mapping::millis;
use crate::SeaStore;
use application::ports::PollOffsets;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::repositories::BindingRepository;
use domain::{BotId, PlatformBinding, PlatformKind, RepoError};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

/// On a bot's existing row, overwrite unless that would move the same account's offset back;
/// another account's offset is replaced whatever its value.
fn forward_only() -> OnConflict {
    let moves_forward = Condition::any()
        .add(Expr::col((Entity, Column::Account)).ne(Expr::cust("excluded.account")))
        .add(Expr::col((Entity, Column::NextOffset)).lt(Expr::cust("excluded.next_offset")));
    OnConflict::column(Column::BotId)
        .update_columns([Column::Account, Column::NextOffset, Column::UpdatedAt])
        .action_and_where(moves_forward.into())
        .to_owned()
}

#[async_trait]
impl PollOffsets for SeaStore {
    /// A binding whose credentials do not open is left out (and logged), so that one bad row
    /// does not stop every other bot's polling.
    async fn polling_bindings(&self) -> Result<Vec<PlatformBinding>, RepoError> {
        let telegram = self.list_by_platform(PlatformKind::Telegram).await?;
        Ok(telegram
            .into_iter()
            .filter(PlatformBinding::polls)
            .collect())
    }

    async fn offset(&self, bot_id: BotId, account: &str) -> Result<Option<i64>, RepoError> {
        let row = Entity::find_by_id(bot_id.to_string())
            .filter(Column::Account.eq(account))
            .one(self.db())
            .await
            .map_err(repo_err)?;
        Ok(row.map(|row| row.next_offset))
    }

    async fn commit_offset(
        &self,
        bot_id: BotId,
        account: &str,
        offset: i64,
        at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let row = ActiveModel {
            bot_id: Set(bot_id.to_string()),
            account: Set(account.to_owned()),
            next_offset: Set(offset),
            updated_at: Set(millis(at)),
        };
        Entity::insert(row)
            .on_conflict(forward_only())
            .exec_without_returning(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }
}
