//! [`BotRepository`] on the `bots` table; deleting a bot cascades to everything it owns.

use crate::entities::bots::{Column, Entity};
use crate::errors::repo_err;
use crate::mapping::{bot, bot_row};
use crate::SeaStore;
use async_trait::async_trait;
use domain::repositories::BotRepository;
use domain::{Bot, BotId, Page, PageRequest, RepoError};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

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
        let mut query = Entity::find().order_by_asc(Column::Id);
        if let Some(after) = &page.after {
            query = query.filter(Column::Id.gt(after.0.as_str()));
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(self.db())
            .await
            .map_err(repo_err)?;
        let bots = rows.into_iter().map(bot).collect::<Result<_, _>>()?;
        Ok(Page::from_overfetch(bots, page, |b| b.id.to_string()))
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
