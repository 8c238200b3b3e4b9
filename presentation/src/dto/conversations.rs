//! Conversation and message bodies, the conversation list's filter, and an operator's message.

use crate::dto::attachments::AttachmentBody;
use crate::dto::page::PageQuery;
use crate::dto::text::multi_line;
use crate::dto::tools::ToolUseBody;
use crate::dto::usage::{ReplyUsageBody, UsageBody};
use crate::errors::ApiError;
use application::operator_message::MAX_TEXT_CHARS;
use chrono::{DateTime, Utc};
use domain::repositories::ConversationFilter;
use domain::{
    BotId, Conversation, ConversationId, ConversationMode, ConversationStatus, Direction, Message,
    MessageContent, MessageId, MessageStatus, PageRequest, PlatformKind, Usage,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// `?bot_id=&platform=&status=&mode=&created_after=&created_before=&cursor=&limit=` (not flattened:
/// urlencoded numbers do not survive `#[serde(flatten)]`). Times are RFC 3339; a value that
/// does not parse is a bad query (400).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationQuery {
    #[param(value_type = Option<crate::openapi::schemas::Id>)]
    pub bot_id: Option<BotId>,
    #[param(value_type = Option<crate::openapi::schemas::Platform>)]
    pub platform: Option<PlatformKind>,
    #[param(value_type = Option<crate::openapi::schemas::ConversationStatus>)]
    pub status: Option<ConversationStatus>,
    /// `human` lists the handed-off conversations, the longest waiting first.
    #[param(value_type = Option<crate::openapi::schemas::ConversationMode>)]
    pub mode: Option<ConversationMode>,
    /// Started at or after this RFC 3339 time.
    #[serde(default, deserialize_with = "super::time::rfc3339")]
    pub created_after: Option<DateTime<Utc>>,
    /// Started before this RFC 3339 time.
    #[serde(default, deserialize_with = "super::time::rfc3339")]
    pub created_before: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1-200 (default 50; larger values are clamped).
    pub limit: Option<u32>,
}

impl ConversationQuery {
    /// The filter; a window that ends before it starts is refused (422 naming `created_after`).
    pub fn filter(&self) -> Result<ConversationFilter, ApiError> {
        if let (Some(after), Some(before)) = (self.created_after, self.created_before) {
            if after > before {
                return Err(ApiError::invalid(
                    "created_after",
                    "must not be later than created_before",
                ));
            }
        }
        Ok(ConversationFilter {
            bot_id: self.bot_id,
            platform: self.platform,
            status: self.status,
            mode: self.mode,
            created_after: self.created_after,
            created_before: self.created_before,
        })
    }

    pub fn page(&self) -> Result<PageRequest, ApiError> {
        PageQuery {
            cursor: self.cursor.clone(),
            limit: self.limit,
        }
        .page()
    }
}

/// The longest note an operator may leave when taking a conversation over, in characters.
const MAX_NOTE: u64 = 500;

/// `POST /api/v1/conversations/{id}/handoff`, body optional: `{note}`, a line or two for the
/// server log (up to 500 characters).
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOff {
    #[serde(default)]
    #[validate(length(max = MAX_NOTE), custom(function = multi_line))]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

impl HandOff {
    /// The note, once valid.
    pub fn into_note(self) -> Result<Option<String>, ApiError> {
        self.validate()?;
        Ok(self.note)
    }
}

/// `POST /api/v1/conversations/{id}/release`, body optional: `{answer_pending}` (default
/// `false`): whether the bot answers the latest message when nothing answers it yet.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Release {
    #[serde(default)]
    pub answer_pending: bool,
}

/// The use case's bound, as `validator` takes it.
const MAX_TEXT: u64 = MAX_TEXT_CHARS as u64;

/// `POST /api/v1/conversations/{id}/messages`: `{text}`, trimmed, then 1-4096 characters;
/// line breaks and tabs allowed, no other control characters.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    #[serde(default, deserialize_with = "trimmed")]
    #[validate(required, length(min = 1, max = MAX_TEXT), custom(function = multi_line))]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 4096)]
    pub text: Option<String>,
}

impl SendMessage {
    pub fn into_text(self) -> Result<String, ApiError> {
        self.validate()?;
        Ok(self.text.unwrap_or_default())
    }
}

/// A string with its surrounding whitespace removed, so that bounds apply to what is sent.
fn trimmed<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    let text = Option::<String>::deserialize(deserializer)?;
    Ok(text.map(|text| text.trim().to_owned()))
}

/// A conversation as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationBody {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub id: ConversationId,
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub bot_id: BotId,
    #[schema(value_type = crate::openapi::schemas::Platform)]
    pub platform: PlatformKind,
    pub external_chat_id: String,
    #[schema(value_type = crate::openapi::schemas::ConversationStatus)]
    pub status: ConversationStatus,
    #[schema(value_type = crate::openapi::schemas::ConversationMode)]
    pub mode: ConversationMode,
    /// When a person last took the conversation over.
    pub handed_off_at: Option<DateTime<Utc>>,
    /// The name of the API key that has it, while it is handed off.
    pub assigned_to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The model's replies in this conversation, their tokens and costs; shown when the
    /// conversation is read by its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageBody>,
}

impl ConversationBody {
    /// The conversation with its model usage.
    pub fn with_usage(conversation: Conversation, usage: Usage) -> Self {
        Self {
            usage: Some(usage.into()),
            ..conversation.into()
        }
    }
}

impl From<Conversation> for ConversationBody {
    fn from(c: Conversation) -> Self {
        Self {
            id: c.id,
            bot_id: c.bot_id,
            platform: c.platform,
            external_chat_id: c.external_chat_id.as_str().to_owned(),
            status: c.status,
            mode: c.mode,
            handed_off_at: c.handed_off_at,
            assigned_to: c.assigned_to,
            created_at: c.created_at,
            updated_at: c.updated_at,
            usage: None,
        }
    }
}

/// A message as the API shows it: `text` is a one-line summary, `content` the full value.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageBody {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub id: MessageId,
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub conversation_id: ConversationId,
    #[schema(value_type = crate::openapi::schemas::Direction)]
    pub direction: Direction,
    pub text: String,
    #[schema(value_type = crate::openapi::schemas::MessageContent)]
    pub content: MessageContent,
    #[schema(value_type = crate::openapi::schemas::MessageStatus)]
    pub status: MessageStatus,
    #[schema(value_type = Option<crate::openapi::schemas::Id>)]
    pub reply_to: Option<MessageId>,
    /// Why delivery failed, for a `failed` outbound message (`131047: Re-engagement message`).
    pub error: Option<String>,
    /// For a model reply: its tokens, and its cost when the provider prices the model.
    pub usage: Option<ReplyUsageBody>,
    /// The moderation categories that flagged it (`blocked_term`, `violence`, …): a message
    /// the model was not asked about, or a reply whose answer was replaced.
    pub flagged: Option<Vec<String>>,
    /// For a model reply, the tool calls its model made on the way, in order; empty, none
    /// (always empty in the web chat's frames: visitors are not shown what tools returned).
    pub tool_uses: Vec<ToolUseBody>,
    /// The kept picture of a photo message, with a signed link; empty for anything else (and
    /// in the web chat's frames).
    pub attachments: Vec<AttachmentBody>,
    pub created_at: DateTime<Utc>,
}

impl MessageBody {
    /// `message` as a web chat visitor sees it: without the tool calls behind a reply.
    pub fn for_visitor(message: Message) -> Self {
        Self {
            tool_uses: Vec::new(),
            ..Self::from(message)
        }
    }
}

impl From<Message> for MessageBody {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            conversation_id: m.conversation_id,
            direction: m.direction,
            text: m.content.summary(),
            content: m.content,
            status: m.status,
            error: m.error,
            reply_to: m.reply_to,
            usage: m.usage.map(|usage| ReplyUsageBody::new(usage, m.cost)),
            flagged: m.flagged,
            tool_uses: m.tool_uses.into_iter().map(ToolUseBody::from).collect(),
            attachments: Vec::new(),
            created_at: m.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{ExternalChatId, ExternalMessageId, MessageContent, PlatformKind, ToolUse};

    #[test]
    fn the_api_lists_a_replys_tool_calls_and_a_visitor_never_sees_them() {
        let chat = ExternalChatId::parse("v").unwrap();
        let conversation = Conversation::start(
            domain::BotId::new(),
            PlatformKind::WebChat,
            chat,
            Utc::now(),
        );
        let external = ExternalMessageId::parse("1").unwrap();
        let question = Message::inbound(
            conversation.id,
            conversation.bot_id,
            PlatformKind::WebChat,
            external,
            MessageContent::text("2+40?"),
            Utc::now(),
        );
        let used = ToolUse {
            server: "calc".into(),
            tool: "add".into(),
            arguments: "{}".into(),
            result: "internal: 42".into(),
            is_error: false,
        };
        let reply = Message::reply(&question, "42", Utc::now()).with_tool_uses(vec![used]);

        let shown = serde_json::to_value(MessageBody::from(reply.clone())).unwrap();
        assert_eq!(shown["tool_uses"][0]["result"], "internal: 42");
        let visitor = serde_json::to_value(MessageBody::for_visitor(reply)).unwrap();
        assert_eq!(visitor["tool_uses"], serde_json::json!([]));
        assert_eq!(visitor["text"], "42");
    }
}
