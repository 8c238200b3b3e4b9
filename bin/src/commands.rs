//! The one-shot commands: migrations, configuration, master-key rotation, backup and restore (API keys are in `key_commands`).

use crate::app::StartupError;
use crate::cli::{ConfigAction, MigrateAction};
use crate::run::{connect, migrate_up, PLAIN_TEXT_WARNING};
use crate::settings::Settings;
use migrations::{Migrator, MigratorTrait};
use secrecy::{ExposeSecret, SecretString};
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

/// `switchboard keys rotate [--new-key KEY]`: every secret sealed again under `new_key` (the
/// configured keys opening them), or under `security.master_key`.
pub async fn rotate_keys(settings: &Settings, new_key: Option<String>) -> Result<(), CommandError> {
    let configured = settings
        .security
        .sealer()
        .map_err(|e| CommandError::Failed(e.to_string()))?;
    let target = match new_key.map(SecretString::from) {
        Some(new_key) => {
            let new = crate::settings::key("--new-key", Some(&new_key))
                .map_err(|e| CommandError::Failed(e.to_string()))?
                .ok_or_else(|| CommandError::Failed("--new-key is empty".to_owned()))?;
            configured.map_or(new.clone(), |old| new.opening_also(&old))
        }
        None => configured.ok_or_else(|| {
            CommandError::Failed(
                "give --new-key, or set security.master_key to the key to seal under".to_owned(),
            )
        })?,
    };
    let db = connect(settings).await?;
    let store = database::SeaStore::new(db).sealed_with(Some(target));
    let resealed = store
        .reseal_all()
        .await
        .map_err(|e| CommandError::Failed(format!("nothing was changed: {e}")))?;
    eprintln!(
        "resealed {} platform credentials, {} provider keys, {} MCP header values and {} webhook secrets ({} were sealed under the key already); set security.master_key to the key they are sealed under",
        resealed.credentials,
        resealed.provider_keys,
        resealed.mcp_headers,
        resealed.webhook_secrets,
        resealed.unchanged
    );
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
