//! Idle database load: the transactions/s the server's PostgreSQL database commits while no
//! update arrives, read from `pg_stat_database`.

use database::testing::{TestDatabase, POSTGRES_URL_VAR};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use std::time::{Duration, Instant};

/// How long to wait after binding the bot before the first reading. A PostgreSQL backend that
/// goes idle with statistics it could not flush yet (at most one flush a second) flushes them
/// `PGSTAT_IDLE_INTERVAL` (10 s) later: waiting past that keeps the binding's own transactions
/// out of the window.
pub const POSTGRES_SETTLE: Duration = Duration::from_millis(10_500);

/// Transactions (committed and rolled back) per second on `db` over `window`; `None` on SQLite.
/// Readings come from the administration database on fresh connections, so that neither the
/// reader's own transactions nor a cached statistics snapshot count.
pub async fn transactions_per_second(db: &TestDatabase, window: Duration) -> Option<f64> {
    if db.backend() != "postgres" {
        return None;
    }
    let admin_url = std::env::var(POSTGRES_URL_VAR).ok()?;
    let name = database_name(db.url());
    let before = transactions(&admin_url, name).await;
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let after = transactions(&admin_url, name).await;
    Some((after - before) as f64 / started.elapsed().as_secs_f64())
}

/// The database named by a `postgres://…/name?…` URL.
fn database_name(url: &str) -> &str {
    let path = url.split('?').next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path)
}

async fn transactions(admin_url: &str, name: &str) -> i64 {
    let admin = database::connect(admin_url)
        .await
        .expect("the PostgreSQL server answers");
    let clear = "SELECT pg_stat_clear_snapshot()";
    admin.execute_unprepared(clear).await.expect(clear);
    let count = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database WHERE datname = $1",
        [name.into()],
    );
    let row = admin
        .query_one(count)
        .await
        .expect("pg_stat_database answers")
        .expect("the test database has statistics");
    admin.close().await.ok();
    row.try_get("", "n").expect("a transaction count")
}

#[cfg(test)]
mod tests {
    use super::database_name;

    #[test]
    fn the_name_is_the_last_path_segment_without_the_query() {
        assert_eq!(
            database_name("postgres://u@h:5432/sb_1?sslmode=off"),
            "sb_1"
        );
        assert_eq!(database_name("postgres://u@h/sb_2"), "sb_2");
    }
}
