//! Test support (feature `testing`): fresh, migrated SQLite and PostgreSQL databases per test.
//!
//! ```ignore
//! for db in database::testing::fresh_databases().await {
//!     let store = db.store().await; // connected and migrated
//!     // … exercise `store`; `db.backend()` is "sqlite" or "postgres" for messages …
//! } // each database is removed when its `TestDatabase` drops
//! ```
//!
//! SQLite always runs, in a temporary directory. PostgreSQL runs when
//! [`POSTGRES_URL_VAR`] names a server (`postgres://postgres@127.0.0.1:5432/test`): every call
//! creates a database `sb_<uuid>` there and drops it afterwards. With `CI=true` and the
//! variable unset, the helpers panic, so that CI never silently skips PostgreSQL.
//!
//! These helpers panic on failure: they are meant for tests only.
#![expect(
    clippy::expect_used,
    reason = "test helpers: a failure to set up a database must stop the test"
)]

use crate::{connect, SeaStore};
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tempfile::TempDir;

/// The variable naming a PostgreSQL server for tests; its database is only used to connect.
pub const POSTGRES_URL_VAR: &str = "SWITCHBOARD_TEST_DATABASE_URL";

/// A database that exists for one test; it is removed when this value drops.
pub struct TestDatabase {
    backend: &'static str,
    url: String,
    _guard: Guard,
}

/// Held only to be dropped with the [`TestDatabase`].
#[expect(
    dead_code,
    reason = "held for its drop: the temporary directory or the database goes with it"
)]
enum Guard {
    Sqlite(TempDir),
    Postgres(PostgresGuard),
}

impl TestDatabase {
    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The URL to hand to [`crate::connect`] or to the server's configuration.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new pool on this database, migrated to the current schema.
    pub async fn connect(&self) -> DatabaseConnection {
        connect_migrated(&self.url).await
    }

    /// A [`SeaStore`] on this database, migrated to the current schema.
    pub async fn store(&self) -> SeaStore {
        SeaStore::new(self.connect().await)
    }
}

/// Connects to `url` and runs every pending migration.
pub async fn connect_migrated(url: &str) -> DatabaseConnection {
    let db = connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    Migrator::up(&db, None).await.expect("migrations run");
    db
}

/// A fresh SQLite database, and a fresh PostgreSQL one when [`POSTGRES_URL_VAR`] is set.
pub async fn fresh_databases() -> Vec<TestDatabase> {
    let mut databases = vec![fresh_sqlite()];
    databases.extend(fresh_postgres().await);
    databases
}

/// An empty SQLite file in a new temporary directory (created on first connection).
pub fn fresh_sqlite() -> TestDatabase {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("switchboard.db");
    TestDatabase {
        backend: "sqlite",
        url: format!("sqlite://{}?mode=rwc", path.display()),
        _guard: Guard::Sqlite(dir),
    }
}

/// A new, empty PostgreSQL database; `None` when [`POSTGRES_URL_VAR`] is unset (outside CI).
pub async fn fresh_postgres() -> Option<TestDatabase> {
    let admin_url = postgres_url()?;
    let name = format!("sb_{}", uuid::Uuid::new_v4().simple());
    let admin = connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL_VAR}={admin_url}: {e}"));
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("CREATE DATABASE");
    admin.close().await.ok();
    Some(TestDatabase {
        backend: "postgres",
        url: database_url(&admin_url, &name),
        _guard: Guard::Postgres(PostgresGuard { admin_url, name }),
    })
}

/// The PostgreSQL server for tests, if configured; panics in CI when it is not.
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("PostgreSQL suites must run in CI: set {POSTGRES_URL_VAR}")
        }
        _ => None,
    }
}

/// `base` with its database (the URL path) replaced by `name`.
fn database_url(base: &str, name: &str) -> String {
    let mut url = url::Url::parse(base).expect("a valid PostgreSQL URL");
    url.set_path(name);
    url.into()
}

/// Drops its database, best effort; connections still open are terminated (`WITH (FORCE)`).
struct PostgresGuard {
    admin_url: String,
    name: String,
}

impl Drop for PostgresGuard {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot await, and may run inside a runtime: use a runtime on another thread.
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(admin) = connect(&admin_url).await {
                    admin.execute_unprepared(&sql).await.ok();
                    admin.close().await.ok();
                }
            });
        });
        dropper.join().ok();
    }
}
