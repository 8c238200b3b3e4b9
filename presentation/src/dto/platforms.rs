//! Binding bodies: each platform's credentials object in, the binding (never its secrets) out.

use crate::errors::ApiError;
use application::Bound;
use chrono::{DateTime, Utc};
use domain::{BotId, Credentials, PlatformBinding, PlatformKind, TelegramCredentials};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use validator::Validate;

/// Telegram's credentials: `{token, secret_token}`.
#[derive(Debug, Deserialize, Validate)]
struct TelegramBody {
    #[validate(required)]
    token: Option<String>,
    #[validate(required)]
    secret_token: Option<String>,
}

/// Parses the `PUT` body for `kind`'s credentials; platforms without an adapter yet are 422.
pub fn credentials_from(kind: PlatformKind, body: Value) -> Result<Credentials, ApiError> {
    match kind {
        PlatformKind::Telegram => {
            let body: TelegramBody = serde_json::from_value(body)
                .map_err(|err| ApiError::MalformedJson(err.to_string()))?;
            body.validate()?;
            let creds = TelegramCredentials::parse(
                body.token.as_deref().unwrap_or_default(),
                body.secret_token.as_deref().unwrap_or_default(),
            )?;
            Ok(Credentials::Telegram(creds))
        }
        other => Err(ApiError::UnsupportedPlatform(other)),
    }
}

/// A binding as the API shows it: where webhooks go, never the credentials.
#[derive(Debug, Serialize)]
pub struct BindingBody {
    pub bot_id: BotId,
    pub platform: PlatformKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_registered: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<PlatformBinding> for BindingBody {
    fn from(binding: PlatformBinding) -> Self {
        Self {
            bot_id: binding.bot_id,
            platform: binding.kind(),
            webhook_url: None,
            webhook_registered: None,
            created_at: binding.created_at,
            updated_at: binding.updated_at,
        }
    }
}

impl From<Bound> for BindingBody {
    fn from(bound: Bound) -> Self {
        Self {
            webhook_url: Some(bound.webhook_url),
            webhook_registered: Some(bound.webhook_registered),
            ..Self::from(bound.binding)
        }
    }
}
