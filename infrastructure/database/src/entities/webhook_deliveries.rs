//! The `webhook_deliveries` table: one event's delivery to one webhook, its body fixed when the event happened.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub bot_id: String,
    pub conversation_id: String,
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
