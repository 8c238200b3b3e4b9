//! [`BindingRepository`] on the `platform_bindings` table, credentials sealed when a master key is set.

use crate::entities::bindings::{Column, Entity, Model};
use crate::errors::repo_err;
use crate::mapping::{binding, binding_row, from_json, to_json};
use crate::SeaStore;
use async_trait::async_trait;
use domain::repositories::BindingRepository;
use domain::{BotId, Credentials, PlatformBinding, PlatformKind, RepoError};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

const CREDENTIALS: &str = "platform_bindings.credentials";

/// What a row's sealed credentials are bound to: moved to another bot or platform, they no
/// longer open.
pub(crate) fn row_context(bot_id: &str, platform: &str) -> Vec<u8> {
    format!("switchboard/platform_bindings/{bot_id}/{platform}").into_bytes()
}

impl SeaStore {
    /// The credentials column for `binding`: sealed with the master key if there is one, else
    /// JSON in plain text.
    fn credentials_text(&self, binding: &PlatformBinding) -> Result<String, RepoError> {
        let json = to_json(&binding.credentials)?;
        let context = row_context(&binding.bot_id.to_string(), binding.kind().as_str());
        self.stored_secret(&json, &context, CREDENTIALS)
    }

    /// A row's credentials, opened in memory when sealed.
    fn credentials(&self, row: &Model) -> Result<Credentials, RepoError> {
        let context = row_context(&row.bot_id, &row.platform);
        let json = self.opened_secret(&row.credentials, &context, CREDENTIALS)?;
        from_json(CREDENTIALS, &json)
    }

    pub(crate) fn binding(&self, row: &Model) -> Result<PlatformBinding, RepoError> {
        binding(row, self.credentials(row)?)
    }
}

#[async_trait]
impl BindingRepository for SeaStore {
    async fn upsert(&self, new: &PlatformBinding) -> Result<(), RepoError> {
        let replace = OnConflict::columns([Column::BotId, Column::Platform])
            .update_columns([Column::Credentials, Column::UpdatedAt])
            .to_owned();
        Entity::insert(binding_row(new, self.credentials_text(new)?))
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
        row.map(|row| self.binding(&row)).transpose()
    }

    async fn list_for_bot(&self, bot_id: BotId) -> Result<Vec<PlatformBinding>, RepoError> {
        let rows = Entity::find()
            .filter(Column::BotId.eq(bot_id.to_string()))
            .order_by_asc(Column::Platform)
            .all(self.db())
            .await
            .map_err(repo_err)?;
        rows.iter().map(|row| self.binding(row)).collect()
    }

    async fn list_by_platform(
        &self,
        kind: PlatformKind,
    ) -> Result<Vec<PlatformBinding>, RepoError> {
        let rows = Entity::find()
            .filter(Column::Platform.eq(kind.as_str()))
            .order_by_asc(Column::BotId)
            .all(self.db())
            .await
            .map_err(repo_err)?;
        // One row that no longer opens (a changed master key) must not hide the others.
        let readable = rows.iter().filter_map(|row| match self.binding(row) {
            Ok(binding) => Some(binding),
            Err(error) => {
                tracing::warn!(bot_id = %row.bot_id, %error, "an unreadable binding is skipped");
                None
            }
        });
        Ok(readable.collect())
    }

    async fn delete(&self, bot_id: BotId, kind: PlatformKind) -> Result<bool, RepoError> {
        let result = Entity::delete_by_id((bot_id.to_string(), kind.as_str().to_owned()))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }
}
