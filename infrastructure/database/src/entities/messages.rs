//! The `messages` table; content as JSON, unique per inbound delivery and per reply.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub conversation_id: String,
    pub bot_id: String,
    pub platform: String,
    pub direction: String,
    pub content: String,
    pub external_id: Option<String>,
    pub reply_to: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub prompt_tokens: Option<i32>,
    pub completion_tokens: Option<i32>,
    pub error: Option<String>,
    pub reply_handle: Option<String>,
    /// Billionths of `cost_currency`; both set or both `NULL`.
    pub cost_nanos: Option<i64>,
    pub cost_currency: Option<String>,
    /// A JSON array of the moderation categories that flagged the message.
    pub flagged: Option<String>,
    /// A JSON array of the tool calls made while the reply was written; `NULL`: none.
    pub tool_uses: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
