//! `jobs_runnable` becomes (state, kind, run_at), so that a scrape counts jobs by state and kind from the index alone, in its order, without reading the rows.
//!
//! The claim still finds a state's due jobs in it (`run_at` is checked in the index); the
//! queued jobs it searches are lanes' heads only. Each kind's oldest due job is one seek.
//! Figures in docs/performance.md.

use crate::run;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const WITH_KIND: [&str; 2] = [
    "DROP INDEX IF EXISTS jobs_runnable",
    "CREATE INDEX jobs_runnable ON jobs (state, kind, run_at)",
];

const WITHOUT_KIND: [&str; 2] = [
    "DROP INDEX IF EXISTS jobs_runnable",
    "CREATE INDEX jobs_runnable ON jobs (state, run_at)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for statement in WITH_KIND {
            run(manager, statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for statement in WITHOUT_KIND {
            run(manager, statement).await?;
        }
        Ok(())
    }
}
