//! [`SeaStore`]: the one adapter value that implements every repository, the ledger and the queue.

use crate::errors::repo_err;
use domain::RepoError;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

/// Storage on SQLite or PostgreSQL through sea-orm; cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
}

impl SeaStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
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

    /// Readiness: one round trip to the database.
    pub async fn ping(&self) -> Result<(), RepoError> {
        self.db.ping().await.map_err(repo_err)
    }
}
