//! [`SeaStore`]: the one adapter value that implements every repository, the ledger and the queue.

use crate::errors::{corrupt, repo_err, unsealable};
use crate::sealing::open_stored;
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

    /// `plain` as a secret column stores it: sealed under the master key and bound to
    /// `context` when there is one, else as it is. `what` names the column in errors.
    pub(crate) fn stored_secret(
        &self,
        plain: &str,
        context: &[u8],
        what: &str,
    ) -> Result<String, RepoError> {
        let Some(sealer) = self.sealer() else {
            return Ok(plain.to_owned());
        };
        sealer
            .seal(plain.as_bytes(), context)
            .map_err(|e| RepoError::Other(format!("cannot seal {what}: {e}")))
    }

    /// A secret column's text, opened in memory when sealed (a value written before a key was
    /// set reads as it is).
    pub(crate) fn opened_secret(
        &self,
        stored: &str,
        context: &[u8],
        what: &str,
    ) -> Result<String, RepoError> {
        let plain = open_stored(self.sealer(), stored, context).map_err(|e| unsealable(what, e))?;
        let plain = std::str::from_utf8(&plain).map_err(|e| corrupt(what, e))?;
        Ok(plain.to_owned())
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
