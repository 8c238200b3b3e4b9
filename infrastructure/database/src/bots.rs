//! [`BotRepository`] on the `bots` table; deleting a bot cascades to everything it owns.

use crate::entities::bots::{Column, Entity};
use crate::errors::repo_err;
use crate::mapping::{bot, bot_row};
use crate::{paging, SeaStore};
use async_trait::async_trait;
use domain::repositories::BotRepository;
use domain::{Bot, BotId, Page, PageRequest, RepoError};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[async_trait]
impl BotRepository for SeaStore {
    async fn insert(&self, new: &Bot) -> Result<(), RepoError> {
        Entity::insert(bot_row(new))
            .exec_without_returning(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }

    async fn get(&self, id: BotId) -> Result<Option<Bot>, RepoError> {
        let row = Entity::find_by_id(id.to_string())
            .one(self.db())
            .await
            .map_err(repo_err)?;
        row.map(bot).transpose()
    }

    async fn list(&self, page: &PageRequest) -> Result<Page<Bot>, RepoError> {
        paging::ascending(self.db(), Entity::find(), Column::Id, page, bot, |b| {
            b.id.to_string()
        })
        .await
    }

    async fn update(&self, revised: &Bot) -> Result<bool, RepoError> {
        let result = Entity::update_many()
            .set(bot_row(revised))
            .filter(Column::Id.eq(revised.id.to_string()))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete(&self, id: BotId) -> Result<bool, RepoError> {
        let result = Entity::delete_by_id(id.to_string())
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }
}
