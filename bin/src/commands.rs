//! The one-shot commands: migrations, configuration, backup and restore (API keys are in `key_commands`).

use crate::app::StartupError;
use crate::cli::{ConfigAction, MigrateAction};
use crate::run::{connect, migrate_up, PLAIN_TEXT_WARNING};
use crate::settings::Settings;
use migrations::{Migrator, MigratorTrait};
use secrecy::ExposeSecret;
use std::path::Path;

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
        MigrateAction::Down { steps, all } => {
            let steps = (!all).then_some(steps);
            Migrator::down(&db, steps).await.map_err(failed)?;
        }
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
        ConfigAction::Check => {
            if settings.security.master_key.is_none() {
                eprintln!("warning: {PLAIN_TEXT_WARNING}");
            }
            if crate::web_chat::random_visitor_key(settings) {
                eprintln!("warning: {}", crate::web_chat::RANDOM_VISITOR_KEY_WARNING);
            }
            eprintln!("configuration is valid");
        }
        ConfigAction::Show => {
            let shown = toml::to_string_pretty(settings)
                .map_err(|e| CommandError::Failed(e.to_string()))?;
            print!("{shown}");
        }
    }
    Ok(())
}

/// `switchboard backup FILE`: an online, consistent copy of the SQLite database.
pub async fn backup(settings: &Settings, file: &Path) -> Result<(), CommandError> {
    let url = settings.database.url.expose_secret();
    let bytes = database::backup::backup(url, file)
        .await
        .map_err(|e| CommandError::Failed(e.to_string()))?;
    eprintln!("backed up to {} ({bytes} bytes)", file.display());
    Ok(())
}

/// `switchboard restore FILE [--replace]`: the backup in place as the configured database.
pub async fn restore(settings: &Settings, file: &Path, replace: bool) -> Result<(), CommandError> {
    let url = settings.database.url.expose_secret();
    database::backup::restore(file, url, replace)
        .await
        .map_err(|e| CommandError::Failed(e.to_string()))?;
    eprintln!("restored {}; start the instance", file.display());
    Ok(())
}
