//! [`ProviderRepository`] on the `providers` table, keys sealed when a master key is set.

use crate::entities::bots;
use crate::entities::providers::{ActiveModel, Column, Entity, Model};
use crate::errors::repo_err;
use crate::mapping::{provider, provider_row};
use crate::{paging, SeaStore};
use async_trait::async_trait;
use domain::repositories::{ProviderRemoval, ProviderRepository};
use domain::{Page, PageRequest, Provider, ProviderId, RepoError, Secret};
use sea_orm::ActiveValue::NotSet;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
};

const API_KEY: &str = "providers.api_key";

/// What a row's sealed key is bound to: moved to another provider, it no longer opens.
pub(crate) fn row_context(id: &str) -> Vec<u8> {
    format!("switchboard/providers/{id}/api_key").into_bytes()
}

/// Whether a bot names provider `id`.
async fn named_by_a_bot(db: &impl ConnectionTrait, id: &str) -> Result<bool, RepoError> {
    let bot: Option<String> = bots::Entity::find()
        .select_only()
        .column(bots::Column::Id)
        .filter(bots::Column::ProviderId.eq(id))
        .into_tuple()
        .one(db)
        .await
        .map_err(repo_err)?;
    Ok(bot.is_some())
}

/// Whether provider `id` exists.
async fn exists(db: &impl ConnectionTrait, id: &str) -> Result<bool, RepoError> {
    let found: Option<String> = Entity::find_by_id(id)
        .select_only()
        .column(Column::Id)
        .into_tuple()
        .one(db)
        .await
        .map_err(repo_err)?;
    Ok(found.is_some())
}

/// Deletes provider `id` unless a bot names it; run inside the caller's transaction.
async fn remove(db: &impl ConnectionTrait, id: &str) -> Result<ProviderRemoval, RepoError> {
    if named_by_a_bot(db, id).await? {
        // A bot may still name a provider deleted before it (there is no foreign key).
        return Ok(match exists(db, id).await? {
            true => ProviderRemoval::InUse,
            false => ProviderRemoval::Missing,
        });
    }
    let result = Entity::delete_by_id(id).exec(db).await.map_err(repo_err)?;
    Ok(match result.rows_affected {
        0 => ProviderRemoval::Missing,
        _ => ProviderRemoval::Deleted,
    })
}

impl SeaStore {
    /// The `api_key` column for `provider`: sealed with the master key if there is one, else
    /// the key in plain text.
    fn api_key_text(&self, provider: &Provider) -> Result<String, RepoError> {
        let context = row_context(&provider.id.to_string());
        self.stored_secret(provider.api_key.expose(), &context, API_KEY)
    }

    /// A row's key, opened in memory when sealed.
    fn api_key(&self, row: &Model) -> Result<Secret, RepoError> {
        let key = self.opened_secret(&row.api_key, &row_context(&row.id), API_KEY)?;
        Ok(Secret::new(key))
    }

    fn provider(&self, row: Model) -> Result<Provider, RepoError> {
        provider(&row, self.api_key(&row)?)
    }

    fn provider_row(&self, provider: &Provider) -> Result<ActiveModel, RepoError> {
        provider_row(provider, self.api_key_text(provider)?)
    }
}

#[async_trait]
impl ProviderRepository for SeaStore {
    async fn insert(&self, new: &Provider) -> Result<(), RepoError> {
        Entity::insert(self.provider_row(new)?)
            .exec_without_returning(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }

    async fn get(&self, id: ProviderId) -> Result<Option<Provider>, RepoError> {
        let row = Entity::find_by_id(id.to_string())
            .one(self.db())
            .await
            .map_err(repo_err)?;
        row.map(|row| self.provider(row)).transpose()
    }

    async fn list(&self, page: &PageRequest) -> Result<Page<Provider>, RepoError> {
        let map = |row| self.provider(row);
        paging::in_order(
            self.db(),
            Entity::find(),
            (Column::Id, sea_orm::Order::Asc),
            page,
            map,
            |p| p.id.to_string(),
        )
        .await
    }

    async fn update(&self, revised: &Provider) -> Result<bool, RepoError> {
        let row = ActiveModel {
            id: NotSet,
            created_at: NotSet,
            ..self.provider_row(revised)?
        };
        let result = Entity::update_many()
            .set(row)
            .filter(Column::Id.eq(revised.id.to_string()))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }

    /// The check and the deletion share a transaction.
    async fn delete(&self, id: ProviderId) -> Result<ProviderRemoval, RepoError> {
        let tx = self.db().begin().await.map_err(repo_err)?;
        let removal = remove(&tx, &id.to_string()).await?;
        tx.commit().await.map_err(repo_err)?;
        Ok(removal)
    }
}
