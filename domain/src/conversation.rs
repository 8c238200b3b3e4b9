//! The Conversation entity: one chat between a bot and a platform user, open until ended.

use crate::{BotId, ConversationId, PlatformKind, ValidationError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The platform's id of a chat (Telegram chat id, Discord channel, phone number, visitor id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExternalChatId(String);

/// A platform's id as we keep it: 1-255 bytes without control characters (PostgreSQL refuses
/// NUL in text, and no platform uses control characters in ids).
pub(crate) fn platform_id(field: &'static str, value: String) -> Result<String, ValidationError> {
    if value.is_empty() || value.len() > 255 || value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must be 1-255 bytes without control characters",
        ));
    }
    Ok(value)
}

impl ExternalChatId {
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        platform_id("chat_id", value.into()).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether new messages continue this conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Active,
    Ended,
}

impl ConversationStatus {
    pub const ALL: [ConversationStatus; 2] = [Self::Active, Self::Ended];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Ended => "ended",
        }
    }
}

impl FromStr for ConversationStatus {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "ended" => Ok(Self::Ended),
            other => Err(ValidationError::new(
                "status",
                format!("unknown status `{other}`"),
            )),
        }
    }
}

/// Who answers the chat: the bot, or a person who took it over (the bot then stays silent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationMode {
    Bot,
    Human,
}

impl ConversationMode {
    pub const ALL: [ConversationMode; 2] = [Self::Bot, Self::Human];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bot => "bot",
            Self::Human => "human",
        }
    }
}

impl FromStr for ConversationMode {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "bot" => Ok(Self::Bot),
            "human" => Ok(Self::Human),
            other => Err(ValidationError::new(
                "mode",
                format!("unknown mode `{other}`"),
            )),
        }
    }
}

/// A bot's chat with one user on one platform; ending it makes the next message start afresh.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: ConversationId,
    pub bot_id: BotId,
    pub platform: PlatformKind,
    pub external_chat_id: ExternalChatId,
    pub status: ConversationStatus,
    pub mode: ConversationMode,
    /// When a person took the chat over (`mode` is `human`).
    pub handed_off_at: Option<DateTime<Utc>>,
    /// The name of the API key that took it over, if one did.
    pub assigned_to: Option<String>,
    /// When a person was last heard from in it: a handoff, an operator's message, an answer
    /// from the platform's own app.
    pub operator_active_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Conversation {
    pub fn start(
        bot_id: BotId,
        platform: PlatformKind,
        external_chat_id: ExternalChatId,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: ConversationId::new(),
            bot_id,
            platform,
            external_chat_id,
            status: ConversationStatus::Active,
            mode: ConversationMode::Bot,
            handed_off_at: None,
            assigned_to: None,
            operator_active_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == ConversationStatus::Active
    }

    /// A person answers the chat: the bot neither answers nor sends anything on its own.
    pub fn is_handed_off(&self) -> bool {
        self.mode == ConversationMode::Human
    }

    /// While handed off: when its person was last heard from (at the latest, the handoff).
    pub fn person_last_heard(&self) -> Option<DateTime<Utc>> {
        if !self.is_handed_off() {
            return None;
        }
        self.operator_active_at.max(self.handed_off_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_back_what_they_write() {
        for mode in [ConversationMode::Bot, ConversationMode::Human] {
            assert_eq!(mode.as_str().parse::<ConversationMode>().unwrap(), mode);
        }
        assert!("robot".parse::<ConversationMode>().is_err());
    }

    #[test]
    fn platform_ids_are_bounded_and_free_of_control_characters() {
        assert!(ExternalChatId::parse("-100123").is_ok());
        assert!(crate::ExternalMessageId::parse("wamid.HBgL=").is_ok());
        for bad in ["", "a\0b", "line\nbreak", &"x".repeat(256)] {
            assert!(ExternalChatId::parse(bad).is_err(), "{bad:?}");
            assert!(crate::ExternalMessageId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chat_ids_must_be_present_and_bounded() {
        assert!(ExternalChatId::parse("42").is_ok());
        assert!(ExternalChatId::parse("").is_err());
        assert!(ExternalChatId::parse("x".repeat(256)).is_err());
    }

    #[test]
    fn a_new_conversation_is_active() {
        let c = Conversation::start(
            BotId::new(),
            PlatformKind::Telegram,
            ExternalChatId::parse("1").unwrap(),
            Utc::now(),
        );
        assert!(c.is_active());
        assert_eq!(
            "ended".parse::<ConversationStatus>().unwrap(),
            ConversationStatus::Ended
        );
    }
}
