//! Domain events: facts the pipeline announces after they are stored.

use crate::{BotId, ConversationId, MessageId, PlatformKind};
use serde::{Deserialize, Serialize};

/// Something that happened, for subscribers such as the web chat or metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    MessageReceived {
        bot_id: BotId,
        conversation_id: ConversationId,
        message_id: MessageId,
        platform: PlatformKind,
    },
    ReplyStored {
        bot_id: BotId,
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    /// The bot began answering `message_id` with the model: chats may show "typing…".
    ReplyStarted {
        bot_id: BotId,
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    /// An operator's message was stored and its delivery queued.
    OperatorMessageStored {
        bot_id: BotId,
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    MessageDelivered {
        bot_id: BotId,
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    DeliveryFailed {
        bot_id: BotId,
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    ConversationEnded {
        bot_id: BotId,
        conversation_id: ConversationId,
    },
    /// A person took the conversation over: the bot stays silent in it.
    ConversationHandedOff {
        bot_id: BotId,
        conversation_id: ConversationId,
    },
    /// The conversation is the bot's again.
    ConversationReleased {
        bot_id: BotId,
        conversation_id: ConversationId,
    },
}

impl DomainEvent {
    pub fn conversation_id(&self) -> ConversationId {
        match self {
            Self::MessageReceived {
                conversation_id, ..
            }
            | Self::ReplyStored {
                conversation_id, ..
            }
            | Self::ReplyStarted {
                conversation_id, ..
            }
            | Self::OperatorMessageStored {
                conversation_id, ..
            }
            | Self::MessageDelivered {
                conversation_id, ..
            }
            | Self::DeliveryFailed {
                conversation_id, ..
            }
            | Self::ConversationEnded {
                conversation_id, ..
            }
            | Self::ConversationHandedOff {
                conversation_id, ..
            }
            | Self::ConversationReleased {
                conversation_id, ..
            } => *conversation_id,
        }
    }
}
