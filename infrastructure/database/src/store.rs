//! [`SeaStore`]: the one adapter value that implements every repository, the ledger and the queue.

use crate::errors::repo_err;
use crate::Sealer;
use domain::RepoError;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

/// Write transactions in flight at once on PostgreSQL (see [`SeaStore::concurrent_writers`]),
/// chosen by measurement on the intake benchmark (docs/performance.md).
const POSTGRES_WRITERS: usize = 4;

/// Storage on SQLite or PostgreSQL through sea-orm; cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
    /// Seals platform credentials and provider keys at rest, when a master key is configured.
    sealer: Option<Sealer>,
}

impl SeaStore {
    /// A store that keeps platform credentials and provider keys in plain text.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db, sealer: None }
    }

    /// This store with `sealer` sealing platform credentials and provider keys on write (none:
    /// plain text).
    /// Sealed values always need the sealer to be read; plain ones are read either way.
    pub fn sealed_with(self, sealer: Option<Sealer>) -> Self {
        Self { sealer, ..self }
    }

    pub(crate) fn sealer(&self) -> Option<&Sealer> {
        self.sealer.as_ref()
    }

    /// The pool, for migrations and diagnostics.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// How many write transactions are usefully in flight at once: one on SQLite (one
    /// connection, one writer), a few on PostgreSQL, where one transaction's round trips
    /// leave the server idle in between.
    pub fn concurrent_writers(&self) -> usize {
        match self.backend() {
            DbBackend::Postgres => POSTGRES_WRITERS,
            _ => 1,
        }
    }

    /// Whether every job that becomes runnable (enqueued, a lane's next, handed back) is
    /// announced to every process by [`Self::job_listener`]: on PostgreSQL (`NOTIFY`), not on
    /// SQLite, where the process wakes its own dispatcher.
    pub fn announces_jobs(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }

    /// Readiness: one round trip to the database.
    pub async fn ping(&self) -> Result<(), RepoError> {
        self.db.ping().await.map_err(repo_err)
    }
}
