//! `Idempotency-Key` records: a claim per caller and key, then the first answer, kept 24 hours.

use crate::run;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `{bytes}` is the engine's binary type. `state` is `running` (claimed, `claim_token` and
/// `locked_until` set) or `completed` (`status`, `headers` as JSON and `body` set; a body is
/// NULL when it held a secret and was withheld).
const IDEMPOTENCY_KEYS: &str = "CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'completed')),
    claim_token TEXT NULL,
    locked_until BIGINT NULL,
    status INTEGER NULL,
    headers TEXT NULL,
    body {bytes} NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
)";

/// Expired records are purged by time.
const BY_EXPIRY: &str = "CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)";

fn table(backend: DbBackend) -> String {
    let bytes = match backend {
        DbBackend::Postgres => "BYTEA",
        _ => "BLOB",
    };
    IDEMPOTENCY_KEYS.replace("{bytes}", bytes)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &table(manager.get_database_backend())).await?;
        run(manager, BY_EXPIRY).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, "DROP TABLE idempotency_keys").await
    }
}
