//! Telegram polling offsets: where each polling bot's next `getUpdates` starts, per Telegram bot account.

use crate::run;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `account` is the Telegram bot's id (the token's public part): update ids count per Telegram
/// bot, so an offset is only valid for the account it was committed for.
const OFFSETS: &str = "CREATE TABLE telegram_poll_offsets (
    bot_id TEXT PRIMARY KEY REFERENCES bots (id) ON DELETE CASCADE,
    account TEXT NOT NULL,
    next_offset BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, OFFSETS).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, "DROP TABLE telegram_poll_offsets").await
    }
}
