//! The audit log as the API shows it: an entry's body, and the list's filter.

use crate::dto::PageQuery;
use crate::errors::ApiError;
use application::ports::{AuditEntry, AuditFilter};
use chrono::{DateTime, Utc};
use domain::{ApiKeyId, PageRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// `?resource=&key_id=&since=&until=&cursor=&limit=`: newest first; a value that does not
/// parse is a bad query (400).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The first path segment after `/api/v1/`: `bots`, `api-keys`, `providers`, `conversations`, `jobs`, …
    pub resource: Option<String>,
    #[param(value_type = Option<crate::openapi::schemas::Id>)]
    pub key_id: Option<ApiKeyId>,
    /// RFC 3339; entries at or after it.
    #[serde(default, deserialize_with = "super::time::rfc3339")]
    pub since: Option<DateTime<Utc>>,
    /// RFC 3339; entries before it.
    #[serde(default, deserialize_with = "super::time::rfc3339")]
    pub until: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1-200 (default 50; larger values are clamped).
    pub limit: Option<u32>,
}

impl AuditQuery {
    pub fn filter(&self) -> Result<AuditFilter, ApiError> {
        let resource = self.resource.clone();
        if let Some(bad) = resource
            .as_deref()
            .filter(|r| r.is_empty() || !r.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        {
            let reason = format!("resource: `{bad}` is not a resource name");
            return Err(ApiError::InvalidQuery(reason));
        }
        Ok(AuditFilter {
            resource,
            key_id: self.key_id,
            since: self.since,
            until: self.until,
        })
    }

    /// An entry's cursor is its id.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        PageQuery {
            cursor: self.cursor.clone(),
            limit: self.limit,
        }
        .page()
    }
}

/// One admin API write.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditBody {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub id: String,
    pub at: DateTime<Utc>,
    /// The API key; `null` for the configured bootstrap key.
    #[schema(value_type = Option<crate::openapi::schemas::Id>)]
    pub key_id: Option<ApiKeyId>,
    pub key_name: Option<String>,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    #[schema(example = "PATCH")]
    pub method: String,
    /// The route: which kind of resource.
    #[schema(example = "/api/v1/bots/{id}")]
    pub route: String,
    /// The route's parameters: which resource (an erased user's id is left out).
    pub params: BTreeMap<String, String>,
    /// The names of the fields the request sent; never their values.
    pub fields: Vec<String>,
    /// The answer's status.
    pub status: u16,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
}

impl From<AuditEntry> for AuditBody {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id.to_string(),
            at: entry.at,
            key_id: entry.key_id,
            key_name: entry.key_name,
            role: entry.role.as_str().to_owned(),
            method: entry.method,
            route: entry.route,
            params: entry.params,
            fields: entry.fields,
            status: entry.status,
            request_id: entry.request_id,
            source_ip: entry.source_ip,
        }
    }
}
