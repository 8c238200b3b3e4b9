//! Outbound messages keep why their delivery failed; inbound ones keep the platform's handle for answering in place.

use crate::run_all;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: [&str; 2] = [
    "ALTER TABLE messages ADD COLUMN error TEXT NULL",
    "ALTER TABLE messages ADD COLUMN reply_handle TEXT NULL",
];

const DOWN: [&str; 2] = [
    "ALTER TABLE messages DROP COLUMN reply_handle",
    "ALTER TABLE messages DROP COLUMN error",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &DOWN).await
    }
}
