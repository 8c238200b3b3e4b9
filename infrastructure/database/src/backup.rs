//! Backups of the embedded SQLite database: an online, consistent copy while serving (`VACUUM INTO`), and its restore into a stopped instance.

use crate::connect::connect;
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Why a backup or a restore was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "PostgreSQL is backed up with its own tools: `pg_dump --format=custom --file FILE \"$URL\"`, \
         restored with `pg_restore --clean --if-exists --dbname \"$URL\" FILE` (see docs/operations.md)"
    )]
    Postgres,
    #[error("{0} exists already: choose another file")]
    BackupExists(PathBuf),
    #[error(
        "{0} holds a database already: stop the instance that uses it and pass --replace, or \
         restore to another database.url"
    )]
    TargetExists(PathBuf),
    #[error("{0} is not a Switchboard backup: {1}")]
    NotABackup(PathBuf, String),
    #[error("{0}")]
    Failed(String),
}

fn failed(error: impl std::fmt::Display) -> BackupError {
    BackupError::Failed(error.to_string())
}

/// The file of a `sqlite:` URL; PostgreSQL is refused.
fn sqlite_file(url: &str) -> Result<PathBuf, BackupError> {
    if !url.starts_with("sqlite:") {
        return Err(BackupError::Postgres);
    }
    let options = SqliteConnectOptions::from_str(url).map_err(failed)?;
    Ok(options.get_filename().to_path_buf())
}

/// Copies the database at `url` into the new file `to`, consistent as of one moment, while
/// the server goes on writing (SQLite's `VACUUM INTO` reads one snapshot). Answers its size.
pub async fn backup(url: &str, to: &Path) -> Result<u64, BackupError> {
    sqlite_file(url)?;
    if to.exists() {
        return Err(BackupError::BackupExists(to.to_path_buf()));
    }
    let db = connect(url).await.map_err(failed)?;
    let into = Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [to.display().to_string().into()],
    );
    db.execute(into).await.map_err(failed)?;
    db.close().await.map_err(failed)?;
    Ok(std::fs::metadata(to).map_err(failed)?.len())
}

/// Puts the backup `from` in place as the database of `url` once it proves sound (SQLite's
/// integrity check, Switchboard's migrations table). The instance must be stopped: an existing
/// database is replaced only with `replace`, and its write-ahead log goes with it.
pub async fn restore(from: &Path, url: &str, replace: bool) -> Result<(), BackupError> {
    let target = sqlite_file(url)?;
    check_backup(from).await?;
    if target.exists() && !replace {
        return Err(BackupError::TargetExists(target));
    }
    let staged = with_suffix(&target, ".restoring");
    std::fs::copy(from, &staged).map_err(failed)?;
    std::fs::File::open(&staged)
        .and_then(|file| file.sync_all())
        .map_err(failed)?;
    for stale in [with_suffix(&target, "-wal"), with_suffix(&target, "-shm")] {
        match std::fs::remove_file(&stale) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(failed(error))
            }
            _ => {}
        }
    }
    std::fs::rename(&staged, &target).map_err(failed)
}

/// Opens `from` read-only: it must pass SQLite's integrity check and hold the migrations table.
async fn check_backup(from: &Path) -> Result<(), BackupError> {
    let not_a_backup = |why: String| BackupError::NotABackup(from.to_path_buf(), why);
    if !from.is_file() {
        return Err(not_a_backup("no such file".to_owned()));
    }
    let url = format!("sqlite://{}?mode=ro", from.display());
    let db = sea_orm::Database::connect(url.as_str())
        .await
        .map_err(|e| not_a_backup(e.to_string()))?;
    let scalar = |sql: &str| Statement::from_string(DbBackend::Sqlite, sql.to_owned());
    let integrity = db
        .query_one(scalar("PRAGMA integrity_check"))
        .await
        .map_err(|e| not_a_backup(e.to_string()))?
        .and_then(|row| row.try_get_by_index::<String>(0).ok());
    if integrity.as_deref() != Some("ok") {
        return Err(not_a_backup(format!("integrity check: {integrity:?}")));
    }
    let migrations = "SELECT COUNT(*) FROM seaql_migrations";
    db.query_one(scalar(migrations))
        .await
        .map_err(|e| not_a_backup(e.to_string()))?;
    db.close().await.map_err(failed)
}

/// `path` with `suffix` added to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
