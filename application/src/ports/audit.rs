//! The audit port: admin API writes appended as they are answered, and read back by filter, newest first.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{ApiKeyId, EventId, Page, PageRequest, RepoError, Role};
use std::collections::BTreeMap;

/// One admin API write: who, what, when, and how it was answered. Never a field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Time-ordered, so the newest sort first.
    pub id: EventId,
    pub at: DateTime<Utc>,
    /// The API key; `None` for the configured bootstrap key.
    pub key_id: Option<ApiKeyId>,
    pub key_name: Option<String>,
    pub role: Role,
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// The route's pattern (`/api/v1/bots/{id}`): the resource.
    pub route: String,
    /// The path's parameters (`{"id": "…"}`): which one.
    pub params: BTreeMap<String, String>,
    /// The names of the JSON body's top-level fields: what was set.
    pub fields: Vec<String>,
    pub status: u16,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
}

/// Which entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Entries whose route starts with `/api/v1/{resource}` (`bots`, `api-keys`, …).
    pub resource: Option<String>,
    pub key_id: Option<ApiKeyId>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn append(&self, entry: &AuditEntry) -> Result<(), RepoError>;

    /// Entries matching `filter`, newest first; the cursor is an entry's id.
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, RepoError>;
}
