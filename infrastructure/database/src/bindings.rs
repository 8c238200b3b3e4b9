//! [`BindingRepository`] on the `platform_bindings` table.

use crate::entities::bindings::{Column, Entity};
use crate::errors::repo_err;
use crate::mapping::{binding, binding_row};
use crate::SeaStore;
use async_trait::async_trait;
use domain::repositories::BindingRepository;
use domain::{BotId, PlatformBinding, PlatformKind, RepoError};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

#[async_trait]
impl BindingRepository for SeaStore {
    async fn upsert(&self, new: &PlatformBinding) -> Result<(), RepoError> {
        let replace = OnConflict::columns([Column::BotId, Column::Platform])
            .update_columns([Column::Credentials, Column::UpdatedAt])
            .to_owned();
        Entity::insert(binding_row(new)?)
            .on_conflict(replace)
            .exec_without_returning(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }

    async fn get(
        &self,
        bot_id: BotId,
        kind: PlatformKind,
    ) -> Result<Option<PlatformBinding>, RepoError> {
        let row = Entity::find_by_id((bot_id.to_string(), kind.as_str().to_owned()))
            .one(self.db())
            .await
            .map_err(repo_err)?;
        row.map(binding).transpose()
    }

    async fn list_for_bot(&self, bot_id: BotId) -> Result<Vec<PlatformBinding>, RepoError> {
        let rows = Entity::find()
            .filter(Column::BotId.eq(bot_id.to_string()))
            .order_by_asc(Column::Platform)
            .all(self.db())
            .await
            .map_err(repo_err)?;
        rows.into_iter().map(binding).collect()
    }

    async fn delete(&self, bot_id: BotId, kind: PlatformKind) -> Result<bool, RepoError> {
        let result = Entity::delete_by_id((bot_id.to_string(), kind.as_str().to_owned()))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }
}
