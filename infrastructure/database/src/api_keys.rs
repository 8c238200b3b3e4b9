//! [`ApiKeyRepository`] on the `api_keys` table.

use crate::entities::api_keys::{Column, Entity};
use crate::errors::repo_err;
use crate::mapping::{api_key, api_key_row, millis};
use crate::{paging, SeaStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::repositories::ApiKeyRepository;
use domain::{ApiKey, ApiKeyId, Page, PageRequest, RepoError};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};

#[async_trait]
impl ApiKeyRepository for SeaStore {
    async fn insert(&self, key: &ApiKey) -> Result<(), RepoError> {
        Entity::insert(api_key_row(key))
            .exec_without_returning(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }

    async fn find_by_prefix(&self, prefix: &str) -> Result<Vec<ApiKey>, RepoError> {
        let rows = Entity::find()
            .filter(Column::Prefix.eq(prefix))
            .order_by_asc(Column::Id)
            .all(self.db())
            .await
            .map_err(repo_err)?;
        rows.into_iter().map(api_key).collect()
    }

    async fn list(&self, page: &PageRequest) -> Result<Page<ApiKey>, RepoError> {
        paging::in_order(
            self.db(),
            Entity::find(),
            (Column::Id, sea_orm::Order::Asc),
            page,
            api_key,
            |k| k.id.to_string(),
        )
        .await
    }

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

    async fn touch_last_used(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), RepoError> {
        let earlier = Condition::any()
            .add(Column::LastUsedAt.is_null())
            .add(Column::LastUsedAt.lt(millis(at)));
        Entity::update_many()
            .col_expr(Column::LastUsedAt, Expr::value(millis(at)))
            .filter(Column::Id.eq(id.to_string()))
            .filter(earlier)
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }
}
