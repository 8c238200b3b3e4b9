//! The REST channel's bodies: `{user_id, text}` in; the reply, or the message id to poll, out.

use crate::dto::text::multi_line;
use crate::dto::MessageBody;
use crate::errors::ApiError;
use application::operator_message::MAX_TEXT_CHARS;
use domain::{ConversationId, ExternalChatId, MessageId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

/// The longest `user_id`, in bytes.
const MAX_USER_ID: u64 = 128;
const MAX_TEXT: u64 = MAX_TEXT_CHARS as u64;

/// Prefixes a REST caller's `user_id` in the chat key. REST callers and web visitors share the
/// web chat platform (so one `web_chat` binding enables both and operators see them alike), but
/// not a namespace: visitor ids are UUIDs, never `api:`-prefixed, so an API user cannot read or
/// write a visitor's conversation, nor a visitor an API user's.
const API_CHAT_PREFIX: &str = "api:";

/// `POST /api/v1/bots/{id}/chat`: one user's message.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The caller's name for its user: 1-128 characters of A-Z, a-z, 0-9 and `.`, `_`, `-`,
    /// `:`, `@`. One user keeps one conversation until it ends.
    #[validate(required, length(min = 1, max = MAX_USER_ID))]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128,
             pattern = "^[A-Za-z0-9._:@-]{1,128}$")]
    pub user_id: Option<String>,
    /// The message, 1-4096 characters once trimmed; line breaks and tabs allowed, no other
    /// control characters.
    #[validate(required, length(min = 1, max = MAX_TEXT), custom(function = multi_line))]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 4096)]
    pub text: Option<String>,
}

impl ChatRequest {
    /// The chat key and the text, validated.
    pub fn into_parts(self) -> Result<(ExternalChatId, String), ApiError> {
        self.validate()?;
        let user_id = self.user_id.unwrap_or_default();
        let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_:@".contains(c);
        if !user_id.chars().all(allowed) {
            return Err(ApiError::invalid(
                "user_id",
                "must be characters of A-Z, a-z, 0-9 and . _ - : @",
            ));
        }
        let chat = ExternalChatId::parse(format!("{API_CHAT_PREFIX}{user_id}"))?;
        Ok((chat, self.text.unwrap_or_default()))
    }
}

/// 200: the bot's reply, stored within the wait.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatReply {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub conversation_id: ConversationId,
    pub message: MessageBody,
}

/// 202: no reply within the wait; the user's message, to poll the conversation's messages for
/// the outbound message whose `reply_to` is `message_id`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatPending {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub conversation_id: ConversationId,
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub message_id: MessageId,
}
