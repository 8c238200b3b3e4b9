//! The `idempotency_keys` table: a claim per caller scope and key, then the answer to replay.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub idempotency_key: String,
    pub fingerprint: String,
    pub state: String,
    pub claim_token: Option<String>,
    pub locked_until: Option<i64>,
    pub status: Option<i32>,
    pub headers: Option<String>,
    pub body: Option<Vec<u8>>,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The values of the `state` column.
pub mod state {
    /// Claimed by a request still running.
    pub const RUNNING: &str = "running";
    /// Answered; the answer is replayed until the record expires.
    pub const COMPLETED: &str = "completed";
}
