//! Domain errors: invalid values, and the failures a repository may report.

use thiserror::Error;

/// A value that breaks an invariant; `field` names the offending input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: &'static str,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// What a repository can fail with, independent of the storage engine.
#[derive(Debug, Clone, Error)]
pub enum RepoError {
    #[error("already exists: {0}")]
    Duplicate(String),
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("storage error: {0}")]
    Other(String),
}
