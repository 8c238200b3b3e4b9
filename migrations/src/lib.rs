//! Switchboard's schema as a sea-orm-migration [`Migrator`], portable across SQLite and PostgreSQL.

use sea_orm_migration::MigrationTrait;
pub use sea_orm_migration::MigratorTrait;

mod m20250601_000001_initial;

/// Every migration, in order; `Migrator::up(&db, None)` brings a database to the current schema.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20250601_000001_initial::Migration)]
    }
}
