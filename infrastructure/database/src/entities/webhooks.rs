//! The `webhooks` table: outgoing webhook subscriptions, the secret sealed when a master key is set.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub url: String,
    /// A JSON array of event names, `["*"]` for all.
    pub events: String,
    /// A JSON array of bot ids, or `NULL` for every bot.
    pub bot_ids: Option<String>,
    /// `sealed:v1:…`, or plain text when no master key was set.
    pub secret: String,
    /// Failed attempts since the last success.
    pub failures: i32,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
