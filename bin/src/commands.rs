//! The one-shot commands: migrations, configuration and API keys.

use crate::app::StartupError;
use crate::cli::{ApiKeysAction, ConfigAction, MigrateAction};
use crate::run::{connect, migrate_up};
use crate::settings::Settings;
use application::ports::SystemClock;
use application::ApiKeys;
use database::SeaStore;
use migrations::{Migrator, MigratorTrait};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("{0}")]
    Failed(String),
}

pub async fn migrate(settings: &Settings, action: MigrateAction) -> Result<(), CommandError> {
    let db = connect(settings).await?;
    let failed = |e: sea_orm::DbErr| CommandError::Failed(format!("migration failed: {e}"));
    match action {
        MigrateAction::Up => migrate_up(&db).await?,
        MigrateAction::Down => Migrator::down(&db, None).await.map_err(failed)?,
        MigrateAction::Status => {
            for migration in Migrator::get_migration_with_status(&db)
                .await
                .map_err(failed)?
            {
                println!("{:?}\t{}", migration.status(), migration.name());
            }
        }
    }
    Ok(())
}

pub fn config(settings: &Settings, action: ConfigAction) -> Result<(), CommandError> {
    match action {
        ConfigAction::Check => eprintln!("configuration is valid"),
        ConfigAction::Show => {
            let shown = toml::to_string_pretty(settings)
                .map_err(|e| CommandError::Failed(e.to_string()))?;
            print!("{shown}");
        }
    }
    Ok(())
}

pub async fn api_keys(settings: &Settings, action: ApiKeysAction) -> Result<(), CommandError> {
    let ApiKeysAction::Create { name, role } = action;
    let db = connect(settings).await?;
    if settings.database.migrate_on_start {
        migrate_up(&db).await?;
    }
    let keys = ApiKeys::new(Arc::new(SeaStore::new(db)), Arc::new(SystemClock), None);
    let issued = keys
        .issue(&name, role.into(), None)
        .await
        .map_err(|e| CommandError::Failed(format!("cannot create the key: {e}")))?;
    eprintln!(
        "created {} key `{}` ({}); it is shown once:",
        issued.record.role.as_str(),
        issued.record.name,
        issued.record.id
    );
    println!("{}", issued.key.expose());
    Ok(())
}
