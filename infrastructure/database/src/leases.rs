//! [`Leases`] on the `leases` table: one conditional upsert takes, renews or refuses a lease.

use crate::entities::leases::{ActiveModel, Column, Entity};
use crate::errors::repo_err;
use crate::mapping::millis;
use crate::SeaStore;
use application::ports::Leases;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use domain::RepoError;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use std::time::Duration;

/// On a taken name, overwrite only a lease that is ours already or has expired; the engine
/// decides under the row's lock, so two claimants never both win.
fn take_if_free(holder: &str, now: DateTime<Utc>) -> OnConflict {
    let free = Condition::any()
        .add(Expr::col((Entity, Column::Holder)).eq(holder))
        .add(Expr::col((Entity, Column::ExpiresAt)).lte(millis(now)));
    OnConflict::column(Column::Name)
        .update_columns([Column::Holder, Column::ExpiresAt])
        .action_and_where(free.into())
        .to_owned()
}

#[async_trait]
impl Leases for SeaStore {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, RepoError> {
        let until = now + TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX);
        let row = ActiveModel {
            name: Set(name.to_owned()),
            holder: Set(holder.to_owned()),
            expires_at: Set(millis(until)),
        };
        let written = Entity::insert(row)
            .on_conflict(take_if_free(holder, now))
            .exec_without_returning(self.db())
            .await
            .map_err(repo_err)?;
        Ok(written > 0)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), RepoError> {
        Entity::delete_many()
            .filter(Column::Name.eq(name))
            .filter(Column::Holder.eq(holder))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }
}
