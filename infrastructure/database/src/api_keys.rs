//! [`ApiKeyRepository`] on the `api_keys` table.

use crate::entities::api_keys::{Column, Entity};
use crate::errors::repo_err;
use crate::mapping::{api_key, api_key_row, millis};
use crate::SeaStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::repositories::ApiKeyRepository;
use domain::{ApiKey, ApiKeyId, RepoError};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

#[async_trait]
impl ApiKeyRepository for SeaStore {
    async fn insert(&self, key: &ApiKey) -> Result<(), RepoError> {
        Entity::insert(api_key_row(key))
            .exec_without_returning(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }

    async fn find_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, RepoError> {
        let row = Entity::find()
            .filter(Column::KeyHash.eq(key_hash))
            .one(self.db())
            .await
            .map_err(repo_err)?;
        row.map(api_key).transpose()
    }

    async fn list(&self) -> Result<Vec<ApiKey>, RepoError> {
        let rows = Entity::find()
            .order_by_asc(Column::Id)
            .all(self.db())
            .await
            .map_err(repo_err)?;
        rows.into_iter().map(api_key).collect()
    }

    /// `true` when the key exists; revoking twice keeps the first revocation time.
    async fn revoke(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, RepoError> {
        let first_revocation =
            Func::coalesce([Expr::col(Column::RevokedAt).into(), Expr::value(millis(at))]);
        let result = Entity::update_many()
            .col_expr(Column::RevokedAt, first_revocation.into())
            .filter(Column::Id.eq(id.to_string()))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }
}
