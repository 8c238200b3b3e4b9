//! [`BotRepository`] on the `bots` table: edits and pauses write apart; deletion cascades.

use crate::entities::bots::{ActiveModel, Column, Entity};
use crate::errors::repo_err;
use crate::mapping::{bot, bot_row, millis};
use crate::{paging, SeaStore};
use async_trait::async_trait;
use domain::repositories::BotRepository;
use domain::{Bot, BotId, Page, PageRequest, RepoError};
use sea_orm::sea_query::Expr;
use sea_orm::ActiveValue::NotSet;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, UpdateMany};

impl SeaStore {
    /// Runs `update` on the row of bot `id`; `false` when there is none.
    async fn update_bot(&self, update: UpdateMany<Entity>, id: BotId) -> Result<bool, RepoError> {
        let result = update
            .filter(Column::Id.eq(id.to_string()))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }
}

#[async_trait]
impl BotRepository for SeaStore {
    async fn insert(&self, new: &Bot) -> Result<(), RepoError> {
        Entity::insert(bot_row(new)?)
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
        paging::in_order(
            self.db(),
            Entity::find(),
            (Column::Id, sea_orm::Order::Asc),
            page,
            bot,
            |b| b.id.to_string(),
        )
        .await
    }

    async fn update(&self, revised: &Bot) -> Result<bool, RepoError> {
        let row = ActiveModel {
            paused_at: NotSet,
            ..bot_row(revised)?
        };
        self.update_bot(Entity::update_many().set(row), revised.id)
            .await
    }

    async fn save_pause(&self, bot: &Bot) -> Result<bool, RepoError> {
        let update = Entity::update_many()
            .col_expr(Column::PausedAt, Expr::value(bot.paused_at.map(millis)))
            .col_expr(Column::UpdatedAt, Expr::value(millis(bot.updated_at)));
        self.update_bot(update, bot.id).await
    }

    async fn delete(&self, id: BotId) -> Result<bool, RepoError> {
        let result = Entity::delete_by_id(id.to_string())
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }
}
