//! Opens the connection pool, tuned per engine (SQLite: one writer; PostgreSQL: fail fast).

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use std::time::Duration;

/// How long a query waits for a free connection; when PostgreSQL is down, a webhook must
/// answer 503 quickly rather than hang.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
const PG_MAX_CONNECTIONS: u32 = 10;
/// With one SQLite connection, requests queue for it; this bounds the wait.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to `url` (`sqlite:…` or `postgres://…`).
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        sqlite_options(&mut options);
    } else {
        postgres_options(&mut options);
    }
    Database::connect(options).await
}

/// SQLite allows one writer at a time. A single pooled connection serialises every
/// transaction in this process, so a read-then-write transaction never meets SQLITE_BUSY
/// (which a second connection's write lock would cause, busy_timeout notwithstanding).
/// WAL lets other processes (backups, the CLI) read meanwhile; foreign keys enforce cascades.
fn sqlite_options(options: &mut ConnectOptions) {
    options
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(SQLITE_ACQUIRE_TIMEOUT)
        .map_sqlx_sqlite_opts(|opts: SqliteConnectOptions| {
            opts.foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
        });
}

/// The acquire timeout also bounds connecting (sqlx retries until it expires), so an
/// unreachable server fails within it.
fn postgres_options(options: &mut ConnectOptions) {
    options
        .max_connections(PG_MAX_CONNECTIONS)
        .min_connections(0)
        .connect_timeout(PG_ACQUIRE_TIMEOUT)
        .acquire_timeout(PG_ACQUIRE_TIMEOUT);
}
