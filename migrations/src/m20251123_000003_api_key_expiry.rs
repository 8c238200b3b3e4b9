//! API keys can expire and record their last use; keys are looked up by their prefix.

use crate::run;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            "ALTER TABLE api_keys ADD COLUMN expires_at BIGINT NULL",
        )
        .await?;
        run(
            manager,
            "ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT NULL",
        )
        .await?;
        run(manager, "CREATE INDEX api_keys_prefix ON api_keys (prefix)").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, "DROP INDEX api_keys_prefix").await?;
        run(manager, "ALTER TABLE api_keys DROP COLUMN last_used_at").await?;
        run(manager, "ALTER TABLE api_keys DROP COLUMN expires_at").await
    }
}
