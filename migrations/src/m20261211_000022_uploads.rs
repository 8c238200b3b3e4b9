//! Pictures users send: a web chat visitor's upload (under its own id, which the message's content names) or a platform's photo once fetched (under its message's id); the bytes, checked to be an image; erased with the user's chat.

use crate::run;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `{bytes}` is the engine's binary type.
const UPLOADS: &str = "CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    bot_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    data {bytes} NOT NULL,
    created_at BIGINT NOT NULL
)";

/// A chat's uploads are erased together.
const BY_CHAT: &str = "CREATE INDEX uploads_chat ON uploads (bot_id, platform, chat)";

fn table(backend: DbBackend) -> String {
    let bytes = match backend {
        DbBackend::Postgres => "BYTEA",
        _ => "BLOB",
    };
    UPLOADS.replace("{bytes}", bytes)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &table(manager.get_database_backend())).await?;
        run(manager, BY_CHAT).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, "DROP TABLE uploads").await
    }
}
