//! The `audit_log` table: admin API writes; `params` a JSON object, `fields` a JSON array of names.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub at: i64,
    pub key_id: Option<String>,
    pub key_name: Option<String>,
    pub role: String,
    pub method: String,
    pub route: String,
    pub params: String,
    pub fields: String,
    pub status: i32,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
