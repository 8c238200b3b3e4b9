//! Platforms: the kinds Switchboard speaks, and a bot's binding to one with its credentials.

use crate::{BotId, Secret, ValidationError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A messaging platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    Telegram,
    Discord,
    Messenger,
    Whatsapp,
    WebChat,
}

impl PlatformKind {
    pub const ALL: [PlatformKind; 5] = [
        Self::Telegram,
        Self::Discord,
        Self::Messenger,
        Self::Whatsapp,
        Self::WebChat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Discord => "discord",
            Self::Messenger => "messenger",
            Self::Whatsapp => "whatsapp",
            Self::WebChat => "web_chat",
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PlatformKind {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| ValidationError::new("platform", format!("unknown platform `{s}`")))
    }
}

/// A Telegram bot's credentials: the Bot API token and the webhook secret token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramCredentials {
    pub token: Secret,
    pub secret_token: Secret,
}

impl TelegramCredentials {
    /// Validates the shapes Telegram accepts: a `digits:rest` token and a 1–256 character
    /// secret of `A-Z a-z 0-9 _ -`.
    pub fn parse(token: &str, secret_token: &str) -> Result<Self, ValidationError> {
        let well_formed_token = token.split_once(':').is_some_and(|(id, rest)| {
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty()
        });
        if !well_formed_token {
            return Err(ValidationError::new(
                "token",
                "must look like `123456:ABC...`",
            ));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if secret_token.is_empty() || secret_token.len() > 256 || !secret_token.chars().all(allowed)
        {
            return Err(ValidationError::new(
                "secret_token",
                "must be 1-256 characters of A-Z, a-z, 0-9, _ and -",
            ));
        }
        Ok(Self {
            token: Secret::new(token),
            secret_token: Secret::new(secret_token),
        })
    }
}

/// The credentials of one binding; the variant always matches the binding's kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "snake_case")]
pub enum Credentials {
    Telegram(TelegramCredentials),
}

impl Credentials {
    pub fn kind(&self) -> PlatformKind {
        match self {
            Self::Telegram(_) => PlatformKind::Telegram,
        }
    }
}

/// A bot's binding to one platform: the Platform entity of the design.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformBinding {
    pub bot_id: BotId,
    pub credentials: Credentials,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PlatformBinding {
    pub fn new(bot_id: BotId, credentials: Credentials, now: DateTime<Utc>) -> Self {
        Self {
            bot_id,
            credentials,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn kind(&self) -> PlatformKind {
        self.credentials.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_text() {
        for kind in PlatformKind::ALL {
            assert_eq!(kind.as_str().parse::<PlatformKind>().unwrap(), kind);
        }
        assert!("myspace".parse::<PlatformKind>().is_err());
    }

    #[test]
    fn telegram_credentials_are_checked() {
        assert!(TelegramCredentials::parse("123:abc", "s3cr3t_-").is_ok());
        assert_eq!(
            TelegramCredentials::parse("abc", "s").unwrap_err().field,
            "token"
        );
        assert_eq!(
            TelegramCredentials::parse(":abc", "s").unwrap_err().field,
            "token"
        );
        assert_eq!(
            TelegramCredentials::parse("1:a", "").unwrap_err().field,
            "secret_token"
        );
        assert_eq!(
            TelegramCredentials::parse("1:a", "no spaces")
                .unwrap_err()
                .field,
            "secret_token"
        );
    }

    #[test]
    fn credentials_serialize_with_their_platform_tag() {
        let creds = Credentials::Telegram(TelegramCredentials::parse("1:a", "s").unwrap());
        let json = serde_json::to_value(&creds).unwrap();
        assert_eq!(json["platform"], "telegram");
        let back: Credentials = serde_json::from_value(json).unwrap();
        assert_eq!(back, creds);
    }
}
