//! The `telegram_poll_offsets` table: a polling bot's next `getUpdates` offset, for one Telegram account.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "telegram_poll_offsets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bot_id: String,
    pub account: String,
    pub next_offset: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
