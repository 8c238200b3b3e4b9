//! The Message entity: what a user sent or what the bot answered, with its delivery status.

use crate::{
    BotId, Conversation, ConversationId, Cost, MessageId, PlatformKind, Secret, Template, TextRule,
    ToolUse, ValidationError,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The platform's id of a message, unique per bot and platform; duplicates are detected by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExternalMessageId(String);

impl ExternalMessageId {
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        crate::conversation::platform_id("message_id", value.into()).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who wrote the message: the platform user (inbound) or the bot/operator (outbound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Self::Inbound, Self::Outbound];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }
}

impl FromStr for Direction {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "inbound" => Ok(Self::Inbound),
            "outbound" => Ok(Self::Outbound),
            other => Err(ValidationError::new(
                "direction",
                format!("unknown direction `{other}`"),
            )),
        }
    }
}

/// What a message carries. Non-text kinds are kept by name so they can be answered politely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageContent {
    Text {
        text: String,
    },
    /// A photo, sticker, voice note… that Switchboard does not interpret; `kind` names it.
    Unsupported {
        kind: String,
    },
    /// A photo a user sent: `media` is the platform's reference to fetch it with (a Telegram
    /// `file_id`), `caption` what they wrote with it.
    Image {
        media: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
    },
    /// A WhatsApp template the bot sends (outside the 24-hour window).
    Template(Template),
}

impl MessageContent {
    /// A text, its control characters other than line breaks and tabs replaced by U+FFFD: what
    /// a platform or a model sends is kept, never refused, and never holds a NUL (input from
    /// operators and visitors is refused before it gets here).
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text {
            text: TextRule::MultiLine.scrub(text.into()),
        }
    }

    /// A kind Switchboard does not read, named by the platform (`photo`), control characters
    /// replaced.
    pub fn unsupported(kind: &str) -> Self {
        Self::Unsupported {
            kind: TextRule::SingleLine.scrub(kind.to_owned()),
        }
    }

    /// A photo with its caption (control characters replaced, as a text's are).
    pub fn image(media: &str, caption: Option<String>) -> Self {
        Self::Image {
            media: TextRule::SingleLine.scrub(media.to_owned()),
            caption: caption.map(|c| TextRule::MultiLine.scrub(c)),
        }
    }

    /// The text, or `None` for a photo, a kind Switchboard does not read, or a template.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text { text } => Some(text),
            Self::Unsupported { .. } | Self::Image { .. } | Self::Template(_) => None,
        }
    }

    /// A one-line rendering for lists and logs: the text, `[photo]` (with its caption), or
    /// `[template name]`.
    pub fn summary(&self) -> String {
        match self {
            Self::Text { text } => text.clone(),
            Self::Unsupported { kind } => format!("[{kind}]"),
            Self::Image { caption: None, .. } => "[photo]".to_owned(),
            Self::Image {
                caption: Some(caption),
                ..
            } => format!("[photo] {caption}"),
            Self::Template(template) => template.summary(),
        }
    }
}

/// Where a message stands: inbound ones are `received`, or `rate_limited` when they came over
/// the bot's rate limit (stored, not answered by the model); outbound ones go `pending` →
/// `sent` → `delivered` → `read` where the platform reports it, or end `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Received,
    RateLimited,
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 7] = [
        Self::Received,
        Self::RateLimited,
        Self::Pending,
        Self::Sent,
        Self::Delivered,
        Self::Read,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::RateLimited => "rate_limited",
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }

    /// The outbound statuses a message may move from to reach `self`: statuses only move
    /// forward, so a late "delivered" never hides a "read", and `failed` is final.
    pub fn reachable_from(self) -> &'static [MessageStatus] {
        match self {
            Self::Sent => &[Self::Pending],
            Self::Delivered => &[Self::Pending, Self::Sent],
            Self::Read => &[Self::Pending, Self::Sent, Self::Delivered],
            Self::Failed => &[Self::Pending, Self::Sent, Self::Delivered],
            Self::Received | Self::RateLimited | Self::Pending => &[],
        }
    }
}

/// A platform's report on an outbound message it knows by its own id (WhatsApp `statuses[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub external_id: ExternalMessageId,
    pub status: MessageStatus,
    /// Why it failed, as the platform put it (`131047: Re-engagement message`).
    pub error: Option<String>,
}

impl FromStr for MessageStatus {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| ValidationError::new("status", format!("unknown status `{s}`")))
    }
}

/// What a model answer cost, as the model's API reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// One stored message of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub bot_id: BotId,
    pub platform: PlatformKind,
    pub direction: Direction,
    pub content: MessageContent,
    /// The platform's id: set on inbound messages, and on outbound ones once sent if known.
    pub external_id: Option<ExternalMessageId>,
    /// For a bot's reply, the inbound message it answers.
    pub reply_to: Option<MessageId>,
    pub status: MessageStatus,
    pub created_at: DateTime<Utc>,
    /// For a reply the model wrote, the tokens it took; `None` for anything else.
    pub usage: Option<TokenUsage>,
    /// For a reply the model wrote, what it cost when its provider prices the model.
    pub cost: Option<Cost>,
    /// The moderation categories that flagged it (`blocked_term`, `violence`, …): an inbound
    /// message not sent to the model, or a reply whose answer was replaced.
    pub flagged: Option<Vec<String>>,
    /// Why delivery failed, for a `failed` outbound message.
    pub error: Option<String>,
    /// What the platform needs to answer an inbound message in place (a Discord interaction
    /// token, valid for 15 minutes), kept on its reply too; secret, never shown.
    pub reply_handle: Option<Secret>,
    /// For a reply the model wrote, the tools it called on the way, in order.
    pub tool_uses: Vec<ToolUse>,
}

impl Message {
    /// Why a bot's answer did not go out: a person took the conversation over while the model
    /// was answering.
    pub const HANDED_OFF: &'static str = "the conversation was handed off before it was sent";

    /// A message a platform user sent.
    pub fn inbound(
        conversation_id: ConversationId,
        bot_id: BotId,
        platform: PlatformKind,
        external_id: ExternalMessageId,
        content: MessageContent,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: MessageId::new(),
            conversation_id,
            bot_id,
            platform,
            direction: Direction::Inbound,
            content,
            external_id: Some(external_id),
            reply_to: None,
            status: MessageStatus::Received,
            created_at: now,
            usage: None,
            cost: None,
            flagged: None,
            error: None,
            reply_handle: None,
            tool_uses: Vec::new(),
        }
    }

    /// The bot's answer to `inbound`, not yet delivered; it keeps the question's reply handle.
    pub fn reply(inbound: &Message, text: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self {
            reply_to: Some(inbound.id),
            reply_handle: inbound.reply_handle.clone(),
            ..Self::outbound(
                inbound.conversation_id,
                inbound.bot_id,
                inbound.platform,
                text,
                now,
            )
        }
    }

    /// What an operator writes into `conversation` in the bot's name, not yet delivered; it
    /// answers no message in particular.
    pub fn operator(
        conversation: &Conversation,
        text: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self::outbound(
            conversation.id,
            conversation.bot_id,
            conversation.platform,
            text,
            now,
        )
    }

    /// A pending outbound text that answers nothing (yet).
    fn outbound(
        conversation_id: ConversationId,
        bot_id: BotId,
        platform: PlatformKind,
        text: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: MessageId::new(),
            conversation_id,
            bot_id,
            platform,
            direction: Direction::Outbound,
            content: MessageContent::text(text),
            external_id: None,
            reply_to: None,
            status: MessageStatus::Pending,
            created_at: now,
            usage: None,
            cost: None,
            flagged: None,
            error: None,
            reply_handle: None,
            tool_uses: Vec::new(),
        }
    }

    /// This inbound message with the platform's handle for answering it in place.
    pub fn with_reply_handle(self, reply_handle: Option<Secret>) -> Self {
        Self {
            reply_handle,
            ..self
        }
    }

    /// This message flagged by moderation with `categories`.
    pub fn flagged(self, categories: Option<Vec<String>>) -> Self {
        Self {
            flagged: categories,
            ..self
        }
    }

    /// This message with the model's token usage and its cost recorded.
    pub fn with_usage(self, usage: Option<TokenUsage>, cost: Option<Cost>) -> Self {
        Self {
            usage,
            cost,
            ..self
        }
    }

    /// The same, with the tool calls made while it was written.
    pub fn with_tool_uses(self, tool_uses: Vec<ToolUse>) -> Self {
        Self { tool_uses, ..self }
    }

    /// The message this one belongs with in a transcript: a reply sits right after what it answers.
    pub fn thread_anchor(&self) -> MessageId {
        self.reply_to.unwrap_or(self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbound(text: &str) -> Message {
        Message::inbound(
            ConversationId::new(),
            BotId::new(),
            PlatformKind::Telegram,
            ExternalMessageId::parse("1").unwrap(),
            MessageContent::text(text),
            Utc::now(),
        )
    }

    #[test]
    fn a_reply_answers_its_inbound_message() {
        let question = inbound("hi");
        let answer = Message::reply(&question, "hello", Utc::now());
        assert_eq!(answer.reply_to, Some(question.id));
        assert_eq!(answer.thread_anchor(), question.id);
        assert_eq!(answer.status, MessageStatus::Pending);
        assert_eq!(answer.direction, Direction::Outbound);
        assert_eq!(question.thread_anchor(), question.id);
    }

    #[test]
    fn an_operator_message_is_pending_outbound_and_answers_nothing() {
        let question = inbound("hi");
        let conversation = crate::Conversation::start(
            question.bot_id,
            PlatformKind::Telegram,
            crate::ExternalChatId::parse("7").unwrap(),
            Utc::now(),
        );
        let note = Message::operator(&conversation, "a human here", Utc::now());
        assert_eq!(note.conversation_id, conversation.id);
        assert_eq!(note.bot_id, conversation.bot_id);
        assert_eq!(note.direction, Direction::Outbound);
        assert_eq!(note.status, MessageStatus::Pending);
        assert_eq!(note.reply_to, None);
        assert_eq!(note.content.as_text(), Some("a human here"));
        assert_eq!(note.thread_anchor(), note.id);
    }

    #[test]
    fn content_never_holds_a_nul_or_a_terminal_escape() {
        let text = MessageContent::text("hi\0 there\u{1b}[2J\r\n\tok");
        assert_eq!(text.as_text(), Some("hi\u{fffd} there\u{fffd}[2J\r\n\tok"));
        let kind = MessageContent::unsupported("pho\0to\n");
        assert_eq!(kind.summary(), "[pho\u{fffd}to\u{fffd}]");
    }

    #[test]
    fn unsupported_content_is_summarised_by_kind() {
        let photo = MessageContent::Unsupported {
            kind: "photo".into(),
        };
        assert_eq!(photo.as_text(), None);
        assert_eq!(photo.summary(), "[photo]");
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for s in MessageStatus::ALL {
            assert_eq!(s.as_str().parse::<MessageStatus>().unwrap(), s);
        }
    }

    #[test]
    fn statuses_only_move_forward_and_failed_is_final() {
        use MessageStatus::*;
        assert!(Read.reachable_from().contains(&Delivered));
        assert!(!Delivered.reachable_from().contains(&Read));
        assert!(!Sent.reachable_from().contains(&Delivered));
        for status in MessageStatus::ALL {
            assert!(!status.reachable_from().contains(&Failed));
            assert!(!status.reachable_from().contains(&Received));
        }
    }
}
