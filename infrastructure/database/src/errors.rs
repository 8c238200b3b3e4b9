//! Maps driver errors to [`RepoError`]: unique violations, unreachable storage, everything else.

use crate::sealing::SealError;
use domain::RepoError;
use sea_orm::{sqlx, DbErr, RuntimeErr, SqlErr};

/// Classifies a sea-orm error for the use cases.
pub(crate) fn repo_err(err: DbErr) -> RepoError {
    if let Some(SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
        return RepoError::Duplicate(detail);
    }
    if is_unavailable(&err) {
        return RepoError::Unavailable(err.to_string());
    }
    RepoError::Other(err.to_string())
}

fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            sqlx_unavailable(e)
        }
        _ => false,
    }
}

fn sqlx_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => database_unavailable(db.as_ref()),
        _ => false,
    }
}

fn database_unavailable(db: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = db.code() else {
        return false;
    };
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        sqlite_busy(&code)
    } else {
        postgres_unavailable(&code)
    }
}

/// SQLite's BUSY (5) and LOCKED (6), with their extended codes (`code & 0xff`).
fn sqlite_busy(code: &str) -> bool {
    code.parse::<i32>()
        .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

/// PostgreSQL connection exceptions (08…), a transaction rolled back to be tried again — a
/// serialization failure (40001) or a deadlock (40P01) under contention —, insufficient
/// resources (53…) and operator intervention such as a shutdown (57P…). Callers try these
/// again in place: a delivery that sent its message then lost the write to a deadlock records
/// it again rather than sending it twice.
fn postgres_unavailable(code: &str) -> bool {
    ["08", "40001", "40P01", "53", "57P"]
        .iter()
        .any(|class| code.starts_with(class))
}

/// A stored value that does not parse back into the domain.
pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> RepoError {
    RepoError::Corrupt(format!("{what}: {err}"))
}

/// A sealed column `what` that does not open: corrupt when the key or the row does not match;
/// a plain storage error when the key is missing or the format is newer than this build.
pub(crate) fn unsealable(what: &str, err: SealError) -> RepoError {
    match err {
        SealError::Unopenable => corrupt(what, err),
        other => RepoError::Other(format!("{what}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ConnAcquireErr;

    #[test]
    fn pool_exhaustion_is_unavailability() {
        let err = repo_err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
        assert!(matches!(err, RepoError::Unavailable(_)));
        let err = repo_err(DbErr::Exec(RuntimeErr::SqlxError(sqlx::Error::PoolClosed)));
        assert!(matches!(err, RepoError::Unavailable(_)));
    }

    #[test]
    fn other_errors_stay_other() {
        assert!(matches!(
            repo_err(DbErr::Custom("boom".into())),
            RepoError::Other(_)
        ));
        assert!(postgres_unavailable("08006") && postgres_unavailable("57P01"));
        assert!(postgres_unavailable("40P01") && postgres_unavailable("40001"));
        assert!(!postgres_unavailable("23505") && !postgres_unavailable("42P01"));
        assert!(sqlite_busy("5") && sqlite_busy("517") && !sqlite_busy("2067"));
    }
}
