//! The `jobs` table: the durable queue; completed jobs are deleted, dead ones kept.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub lane: String,
    pub kind: String,
    pub payload: String,
    pub bot_id: Option<String>,
    pub state: String,
    pub attempts: i32,
    pub run_at: i64,
    pub locked_until: Option<i64>,
    pub lease_token: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The W3C `traceparent` of the span that enqueued the job, when traces are on.
    pub trace_parent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The values of the `state` column.
pub mod state {
    /// The head of its lane, ready to be claimed at `run_at`.
    pub const QUEUED: &str = "queued";
    /// Behind its lane's head; becomes `queued` when the head leaves.
    pub const WAITING: &str = "waiting";
    pub const RUNNING: &str = "running";
    pub const DEAD: &str = "dead";
}
