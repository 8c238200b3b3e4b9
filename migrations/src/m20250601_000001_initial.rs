//! The initial schema: bots, bindings, conversations, messages, the job queue and API keys.
//!
//! Ids are hyphenated UUIDv7 text (they sort by creation time); timestamps are BIGINT epoch
//! milliseconds, so that both engines store and compare them the same way.

use crate::run;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const BOTS: &str = "CREATE TABLE bots (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    system_prompt TEXT NOT NULL,
    model TEXT NULL,
    temperature DOUBLE PRECISION NULL,
    fallback_message TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)";

const PLATFORM_BINDINGS: &str = "CREATE TABLE platform_bindings (
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    credentials TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (bot_id, platform)
)";

const CONVERSATIONS: &str = "CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    external_chat_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)";

const MESSAGES: &str = "CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    direction TEXT NOT NULL,
    content TEXT NOT NULL,
    external_id TEXT NULL,
    reply_to TEXT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT messages_dedup UNIQUE (bot_id, platform, direction, external_id),
    CONSTRAINT messages_one_reply UNIQUE (reply_to)
)";

/// `{id}` is the engine's auto-increment primary key.
const JOBS: &str = "CREATE TABLE jobs (
    id {id},
    lane TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    bot_id TEXT NULL REFERENCES bots (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    run_at BIGINT NOT NULL,
    locked_until BIGINT NULL,
    lease_token TEXT NULL,
    last_error TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)";

const API_KEYS: &str = "CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT NULL
)";

const INDEXES: [&str; 6] = [
    // At most one active conversation per chat; ended ones are kept alongside.
    "CREATE UNIQUE INDEX conversations_active_chat ON conversations (bot_id, platform, external_chat_id) WHERE status = 'active'",
    "CREATE INDEX conversations_bot ON conversations (bot_id, id)",
    "CREATE INDEX messages_conversation ON messages (conversation_id, id)",
    "CREATE INDEX jobs_runnable ON jobs (state, run_at)",
    "CREATE INDEX jobs_lane ON jobs (lane, id)",
    "CREATE INDEX jobs_bot ON jobs (bot_id)",
];

/// Children before parents, so that foreign keys never dangle.
const TABLES_TO_DROP: [&str; 6] = [
    "jobs",
    "messages",
    "conversations",
    "platform_bindings",
    "api_keys",
    "bots",
];

fn jobs_table(backend: DbBackend) -> String {
    let id = match backend {
        DbBackend::Postgres => "BIGSERIAL PRIMARY KEY",
        // An alias of the rowid; AUTOINCREMENT never reuses the id of a deleted job.
        _ => "INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    JOBS.replace("{id}", id)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [BOTS, PLATFORM_BINDINGS, CONVERSATIONS, MESSAGES, API_KEYS] {
            run(manager, table).await?;
        }
        run(manager, &jobs_table(manager.get_database_backend())).await?;
        for index in INDEXES {
            run(manager, index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES_TO_DROP {
            run(manager, &format!("DROP TABLE IF EXISTS {table}")).await?;
        }
        Ok(())
    }
}
