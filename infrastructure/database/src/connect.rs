//! Opens the connection pool, tuned per engine (SQLite: one writer; PostgreSQL: fail fast).

use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::sqlx::ConnectOptions as _;
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbErr, RuntimeErr, SqlxSqliteConnector,
};
use std::str::FromStr;
use std::time::Duration;

/// How long a query waits for a free connection, connecting included: when PostgreSQL is
/// down, a webhook must answer 503 quickly rather than hang.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// The PostgreSQL pool size when none is configured (tests, tools).
pub const PG_MAX_CONNECTIONS: u32 = 10;
/// With one SQLite connection, requests queue for it; this bounds the wait.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to `url` (`sqlite:…` or `postgres://…`) with the default pool size.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with_pool(url, PG_MAX_CONNECTIONS).await
}

/// Connects to `url`; on PostgreSQL the pool holds at most `max_connections` (SQLite always
/// has one).
pub async fn connect_with_pool(
    url: &str,
    max_connections: u32,
) -> Result<DatabaseConnection, DbErr> {
    if url.starts_with("sqlite:") {
        connect_sqlite(url).await
    } else {
        connect_postgres(url, max_connections).await
    }
}

/// SQLite allows one writer at a time. A single pooled connection serialises every
/// transaction in this process, so a read-then-write transaction never meets SQLITE_BUSY
/// (which a second connection's write lock would cause, busy_timeout notwithstanding).
/// The connection is never recycled, so even `sqlite::memory:` keeps its data.
/// WAL lets other processes (backups, the CLI) read meanwhile; foreign keys enforce cascades.
async fn connect_sqlite(url: &str) -> Result<DatabaseConnection, DbErr> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(conn_err)?
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .disable_statement_logging();
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        // The one connection is never recycled and never goes stale: no ping per query.
        .test_before_acquire(false)
        .acquire_timeout(SQLITE_ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(conn_err)?;
    Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
}

/// A normal pool; the acquire timeout also bounds connecting (sqlx retries until it
/// expires), so an unreachable server fails within it.
async fn connect_postgres(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .max_connections(max_connections)
        .min_connections(0)
        // No ping before each statement (a round trip each): a connection the server dropped
        // fails its next statement, which is retried like any outage, and leaves the pool.
        .test_before_acquire(false)
        .acquire_timeout(PG_ACQUIRE_TIMEOUT);
    Database::connect(options).await
}

fn conn_err(err: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(err))
}
