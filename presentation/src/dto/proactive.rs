//! `POST /api/v1/bots/{id}/messages`: a message the bot starts, as the API takes it.

use crate::errors::ApiError;
use application::Proactive;
use domain::{ExternalChatId, PlatformKind, ValidationError};
use serde::Deserialize;
use utoipa::ToSchema;

/// `{platform, chat_id | user_id, text}`: the platform the bot is bound to (`telegram`,
/// `discord`, `messenger` or `whatsapp`); the chat to write to — on Telegram, Messenger and
/// WhatsApp a user's private chat has the user's id, so `user_id` may stand for `chat_id`, on
/// Discord it is the channel's id —; and the text, trimmed, then 1-4096 characters, line
/// breaks and tabs allowed. The chat must have written to the bot before (except on Discord),
/// and on WhatsApp and Messenger within the last 24 hours.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartMessage {
    #[schema(value_type = String, required = true, example = "telegram")]
    pub platform: Option<String>,
    #[schema(value_type = String, example = "4242")]
    pub chat_id: Option<String>,
    /// Stands for `chat_id` on Telegram, Messenger and WhatsApp.
    #[schema(value_type = String)]
    pub user_id: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1, max_length = 4096)]
    pub text: Option<String>,
}

impl StartMessage {
    /// The request, or a 422 naming the first field that is missing or malformed.
    pub fn into_proactive(self) -> Result<Proactive, ApiError> {
        let platform = self
            .platform
            .ok_or_else(|| missing("platform"))?
            .parse::<PlatformKind>()
            .map_err(|_| {
                ValidationError::new(
                    "platform",
                    "must be telegram, discord, messenger or whatsapp",
                )
            })?;
        let chat = match (self.chat_id, self.user_id) {
            (Some(_), Some(_)) => {
                return Err(
                    ValidationError::new("user_id", "give chat_id or user_id, not both").into(),
                )
            }
            (None, None) => return Err(missing("chat_id")),
            (Some(chat), None) => ExternalChatId::parse(chat)?,
            (None, Some(_)) if platform == PlatformKind::Discord => {
                let reason = "Discord takes the channel's chat_id";
                return Err(ValidationError::new("user_id", reason).into());
            }
            (None, Some(user)) => ExternalChatId::parse(user)
                .map_err(|error| ValidationError::new("user_id", error.reason))?,
        };
        let text = self.text.ok_or_else(|| missing("text"))?;
        Ok(Proactive {
            platform,
            chat,
            text,
        })
    }
}

fn missing(field: &'static str) -> ApiError {
    ValidationError::new(field, "is required").into()
}
