//! [`Uploads`] on the `uploads` table: a picture written once, read by its id and bot.

use crate::entities::uploads::{ActiveModel, Column, Entity};
use crate::errors::repo_err;
use crate::mapping::millis;
use crate::SeaStore;
use application::images::image_type;
use application::ports::{Image, Upload, Uploads};
use async_trait::async_trait;
use domain::{BotId, RepoError};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::HashMap;

#[async_trait]
impl Uploads for SeaStore {
    async fn put(&self, upload: &Upload) -> Result<(), RepoError> {
        let image = &upload.image;
        let row = ActiveModel {
            id: Set(upload.id.clone()),
            bot_id: Set(upload.bot_id.to_string()),
            platform: Set(upload.platform.as_str().to_owned()),
            chat: Set(upload.chat.as_str().to_owned()),
            media_type: Set(image.media_type.to_owned()),
            size: Set(i64::try_from(image.bytes.len()).unwrap_or(i64::MAX)),
            data: Set(image.bytes.clone()),
            created_at: Set(millis(upload.created_at)),
        };
        Entity::insert(row)
            .exec_without_returning(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }

    async fn kept(
        &self,
        bot_id: BotId,
        ids: &[String],
    ) -> Result<HashMap<String, String>, RepoError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, String)> = Entity::find()
            .filter(Column::BotId.eq(bot_id.to_string()))
            .filter(Column::Id.is_in(ids.iter().cloned()))
            .select_only()
            .column(Column::Id)
            .column(Column::MediaType)
            .into_tuple()
            .all(self.db())
            .await
            .map_err(repo_err)?;
        Ok(rows.into_iter().collect())
    }

    async fn image(&self, bot_id: BotId, id: &str) -> Result<Option<Image>, RepoError> {
        let row = Entity::find_by_id(id)
            .filter(Column::BotId.eq(bot_id.to_string()))
            .one(self.db())
            .await
            .map_err(repo_err)?;
        // The type is told again from the bytes, as it was when they were taken.
        Ok(row.and_then(|row| {
            let media_type = image_type(&row.data)?;
            Some(Image {
                media_type,
                bytes: row.data,
            })
        }))
    }
}
