//! The `bots` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub system_prompt: String,
    pub model: Option<String>,
    pub temperature: Option<f64>,
    pub fallback_message: Option<String>,
    /// A JSON array of strings.
    pub handoff_keywords: String,
    pub handoff_message: Option<String>,
    pub handoff_idle_minutes: i64,
    /// The provider's id; `NULL`: the configured default.
    pub provider_id: Option<String>,
    /// A JSON object: the budget and its message (`{}`: no limits).
    pub guardrails: String,
    /// A JSON object: how the bot answers (`{}`: each message at once).
    pub replies: String,
    /// Minutes without a message after which a conversation ends; `NULL`: never.
    pub idle_timeout_minutes: Option<i32>,
    /// Days its messages are kept; `NULL`: kept.
    pub retention_days: Option<i32>,
    pub created_at: i64,
    pub updated_at: i64,
    pub paused_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
