//! API key bodies: the create request, a key as listed (never the key nor its digest), and the
//! creation answer, the only one that carries the key.

use crate::dto::text::single_line;
use crate::errors::ApiError;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::HttpResponse;
use application::api_keys::IssuedKey;
use chrono::{DateTime, Utc};
use domain::{ApiKey, ApiKeyId, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

/// `POST /api/v1/api-keys`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// One line: no control characters.
    #[validate(required, length(min = 1, max = 100), custom(function = single_line))]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[validate(required)]
    #[schema(value_type = crate::openapi::schemas::Role, required = true)]
    pub role: Option<String>,
    /// An RFC 3339 time in the future; absent, the key never expires.
    #[schema(value_type = Option<chrono::DateTime<Utc>>)]
    pub expires_at: Option<String>,
}

/// A validated request to issue a key.
#[derive(Debug)]
pub struct NewApiKey {
    pub name: String,
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
}

impl CreateApiKey {
    pub fn into_new(self) -> Result<NewApiKey, ApiError> {
        self.validate()?;
        Ok(NewApiKey {
            name: self.name.unwrap_or_default(),
            role: self.role.as_deref().unwrap_or_default().parse()?,
            expires_at: self.expires_at.as_deref().map(expiry).transpose()?,
        })
    }
}

fn expiry(text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| ApiError::invalid("expires_at", "must be an RFC 3339 time"))
}

/// A key as the API lists it: enough to recognise and manage it, nothing to use it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyBody {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub id: ApiKeyId,
    pub name: String,
    #[schema(value_type = crate::openapi::schemas::Role)]
    pub role: Role,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/me`: the calling key.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallerBody {
    /// `null` for the configured bootstrap key.
    #[schema(value_type = Option<crate::openapi::schemas::Id>)]
    pub key_id: Option<ApiKeyId>,
    pub name: Option<String>,
    #[schema(value_type = crate::openapi::schemas::Role)]
    pub role: Role,
}

impl From<ApiKey> for ApiKeyBody {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name,
            role: key.role,
            prefix: key.prefix,
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

/// The answer to a creation: the key itself, shown this once, and its record.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedKeyBody {
    pub key: String,
    #[serde(flatten)]
    pub record: ApiKeyBody,
}

impl IssuedKeyBody {
    /// `201 Created` with the new key, which no cache may keep.
    pub fn created(issued: IssuedKey) -> HttpResponse {
        HttpResponse::Created()
            .insert_header(CacheControl(vec![CacheDirective::NoStore]))
            .json(Self {
                key: issued.key.expose().to_owned(),
                record: issued.record.into(),
            })
    }
}
