//! The `conversations` table; at most one `active` row per bot, platform and chat.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub bot_id: String,
    pub platform: String,
    pub external_chat_id: String,
    pub status: String,
    pub mode: String,
    pub handed_off_at: Option<i64>,
    pub assigned_to: Option<String>,
    pub operator_active_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
