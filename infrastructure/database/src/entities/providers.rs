//! The `providers` table: model APIs bots may use, the key sealed when a master key is set.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "providers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub kind: String,
    pub base_url: String,
    /// `sealed:v1:…`, or plain text when no master key was set.
    pub api_key: String,
    /// A JSON array of model names.
    pub models: String,
    /// A JSON object `{"currency", "models"}`, or `NULL`.
    pub prices: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
