//! The `platform_bindings` table: one row per bot and platform, credentials as JSON.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "platform_bindings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bot_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub platform: String,
    pub credentials: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
