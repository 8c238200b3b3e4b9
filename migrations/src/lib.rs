//! Switchboard's schema as a sea-orm-migration [`Migrator`], portable across SQLite and PostgreSQL.

use sea_orm_migration::prelude::{ConnectionTrait, DbErr, SchemaManager};
use sea_orm_migration::MigrationTrait;
pub use sea_orm_migration::MigratorTrait;

/// Declares `Migration` as the SQL statements `up` runs and the ones `down` runs, in order;
/// both engines must understand them.
macro_rules! sql_migration {
    (up: $up:expr, down: $down:expr $(,)?) => {
        #[derive(sea_orm_migration::prelude::DeriveMigrationName)]
        pub struct Migration;

        #[sea_orm_migration::async_trait::async_trait]
        impl sea_orm_migration::MigrationTrait for Migration {
            async fn up(
                &self,
                manager: &sea_orm_migration::SchemaManager,
            ) -> Result<(), sea_orm_migration::DbErr> {
                crate::run_all(manager, &$up).await
            }

            async fn down(
                &self,
                manager: &sea_orm_migration::SchemaManager,
            ) -> Result<(), sea_orm_migration::DbErr> {
                crate::run_all(manager, &$down).await
            }
        }
    };
}

mod m20250601_000001_initial;
mod m20251122_000002_waiting_jobs;
mod m20251123_000003_api_key_expiry;
mod m20251124_000004_bot_pause_and_usage;
mod m20251125_000005_idempotency_keys;
mod m20251126_000006_delivery_reports;
mod m20251127_000007_leases;
mod m20251128_000008_telegram_poll_offsets;
mod m20261202_000009_leave_lane;
mod m20261202_000010_job_gauges;
mod m20261203_000011_job_trace_parent;
mod m20261203_000012_conversation_handoff;
mod m20261203_000013_bot_handoff;
mod m20261204_000014_events;
mod m20261205_000015_providers;
mod m20261206_000016_reply_costs;
mod m20261206_000017_guardrails;
mod m20261207_000018_reply_style;
mod m20261208_000019_broadcasts;
mod m20261209_000020_audit_log;
mod m20261210_000021_tool_uses;
mod m20261211_000022_uploads;
mod m20261212_000023_webhooks;
mod m20261213_000024_schedules;

/// Every migration, in order; `Migrator::up(&db, None)` brings a database to the current schema.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250601_000001_initial::Migration),
            Box::new(m20251122_000002_waiting_jobs::Migration),
            Box::new(m20251123_000003_api_key_expiry::Migration),
            Box::new(m20251124_000004_bot_pause_and_usage::Migration),
            Box::new(m20251125_000005_idempotency_keys::Migration),
            Box::new(m20251126_000006_delivery_reports::Migration),
            Box::new(m20251127_000007_leases::Migration),
            Box::new(m20251128_000008_telegram_poll_offsets::Migration),
            Box::new(m20261202_000009_leave_lane::Migration),
            Box::new(m20261202_000010_job_gauges::Migration),
            Box::new(m20261203_000011_job_trace_parent::Migration),
            Box::new(m20261203_000012_conversation_handoff::Migration),
            Box::new(m20261203_000013_bot_handoff::Migration),
            Box::new(m20261204_000014_events::Migration),
            Box::new(m20261205_000015_providers::Migration),
            Box::new(m20261206_000016_reply_costs::Migration),
            Box::new(m20261206_000017_guardrails::Migration),
            Box::new(m20261207_000018_reply_style::Migration),
            Box::new(m20261208_000019_broadcasts::Migration),
            Box::new(m20261209_000020_audit_log::Migration),
            Box::new(m20261210_000021_tool_uses::Migration),
            Box::new(m20261211_000022_uploads::Migration),
            Box::new(m20261212_000023_webhooks::Migration),
            Box::new(m20261213_000024_schedules::Migration),
        ]
    }
}

/// Runs SQL statements that both engines understand, in order.
pub(crate) async fn run_all(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    for sql in statements {
        run(manager, sql).await?;
    }
    Ok(())
}

/// Runs one SQL statement that both engines understand.
pub(crate) async fn run(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}
