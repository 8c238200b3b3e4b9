//! Conversation and message bodies, and the conversation list's filter.

use crate::dto::page::PageQuery;
use chrono::{DateTime, Utc};
use domain::repositories::ConversationFilter;
use domain::{
    BotId, Conversation, ConversationId, ConversationStatus, Direction, Message, MessageContent,
    MessageId, MessageStatus, PageRequest, PlatformKind,
};
use serde::{Deserialize, Serialize};

/// `?bot_id=&platform=&status=&cursor=&limit=` (not flattened: urlencoded numbers do not survive
/// `#[serde(flatten)]`).
#[derive(Debug, Default, Deserialize)]
pub struct ConversationQuery {
    pub bot_id: Option<BotId>,
    pub platform: Option<PlatformKind>,
    pub status: Option<ConversationStatus>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

impl ConversationQuery {
    pub fn filter(&self) -> ConversationFilter {
        ConversationFilter {
            bot_id: self.bot_id,
            platform: self.platform,
            status: self.status,
        }
    }

    pub fn page(&self) -> PageRequest {
        PageQuery {
            cursor: self.cursor.clone(),
            limit: self.limit,
        }
        .page()
    }
}

/// A conversation as the API shows it.
#[derive(Debug, Serialize)]
pub struct ConversationBody {
    pub id: ConversationId,
    pub bot_id: BotId,
    pub platform: PlatformKind,
    pub external_chat_id: String,
    pub status: ConversationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Conversation> for ConversationBody {
    fn from(c: Conversation) -> Self {
        Self {
            id: c.id,
            bot_id: c.bot_id,
            platform: c.platform,
            external_chat_id: c.external_chat_id.as_str().to_owned(),
            status: c.status,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A message as the API shows it: `text` is a one-line summary, `content` the full value.
#[derive(Debug, Serialize)]
pub struct MessageBody {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub direction: Direction,
    pub text: String,
    pub content: MessageContent,
    pub status: MessageStatus,
    pub reply_to: Option<MessageId>,
    pub created_at: DateTime<Utc>,
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
            reply_to: m.reply_to,
            created_at: m.created_at,
        }
    }
}
