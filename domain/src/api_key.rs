//! Admin API keys: a role, the SHA-256 digest of the key (the key itself is never stored), an
//! optional expiry, and when the key was last used.

use crate::{ApiKeyId, ValidationError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// What a key may do: viewers read, operators also act on conversations, admins do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Self::Viewer, Self::Operator, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }

    /// Whether this role includes everything `required` may do.
    pub fn allows(self, required: Role) -> bool {
        self >= required
    }
}

impl FromStr for Role {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Self::Viewer),
            "operator" => Ok(Self::Operator),
            "admin" => Ok(Self::Admin),
            other => Err(ValidationError::new(
                "role",
                format!("unknown role `{other}`"),
            )),
        }
    }
}

/// A stored API key.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the full key.
    pub key_hash: String,
    /// The first characters of the key: not secret, shown to tell keys apart and used to look
    /// a presented key up (several keys may share one).
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// From this instant on, the key is refused; `None` never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key last authenticated a request, recorded at most about once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Whether the key has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|expiry| expiry <= now)
    }

    /// Whether the key may authenticate at `now`: neither revoked nor expired.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && !self.is_expired(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Operator));
        assert_eq!("operator".parse::<Role>().unwrap(), Role::Operator);
        assert!("root".parse::<Role>().is_err());
    }

    fn key(expires_at: Option<DateTime<Utc>>, revoked_at: Option<DateTime<Utc>>) -> ApiKey {
        ApiKey {
            id: ApiKeyId::new(),
            name: "ci".into(),
            role: Role::Viewer,
            key_hash: "00".into(),
            prefix: "sb_0".into(),
            created_at: Utc::now(),
            expires_at,
            last_used_at: None,
            revoked_at,
        }
    }

    #[test]
    fn a_key_is_active_until_it_expires_or_is_revoked() {
        let now = Utc::now();
        let second = chrono::Duration::seconds(1);
        assert!(key(None, None).is_active(now));
        assert!(key(Some(now + second), None).is_active(now));
        assert!(!key(Some(now), None).is_active(now), "expiry is exclusive");
        assert!(!key(Some(now - second), None).is_active(now));
        assert!(!key(None, Some(now - second)).is_active(now));
    }
}
