//! The `broadcast_messages` table: which message each recipient of a broadcast got.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "broadcast_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub broadcast_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
