//! Domain events: facts the pipeline announces after they are stored.

use crate::{BotId, ConversationId, EventId, MessageId, PlatformKind, Scope};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Something that happened, for subscribers such as the web chat or metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    /// A chat's first message (or its first after the last conversation ended) started one.
    ConversationStarted {
        bot_id: BotId,
        conversation_id: ConversationId,
        platform: PlatformKind,
    },
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
    /// A piece of the answer to `message_id` as the model writes it (the web chat shows it
    /// growing); an announcement only, never kept: the stored reply is what counts.
    ReplyDelta {
        bot_id: BotId,
        conversation_id: ConversationId,
        message_id: MessageId,
        delta: String,
    },
    /// The answer to `message_id` starts again from nothing: the pieces shown so far are void
    /// (the model's stream broke and is asked for again whole).
    ReplyRestarted {
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
    /// A reply in the conversation took a limit of the bot's budget past `percent` (50, 80 or
    /// 100) of its period.
    BudgetThreshold {
        bot_id: BotId,
        conversation_id: ConversationId,
        scope: Scope,
        percent: u8,
    },
    /// A user's message came over the bot's rate limit: it is stored as `rate_limited` and
    /// not answered by the model (the user is told at most once a window).
    MessageRateLimited {
        bot_id: BotId,
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    /// A message of the conversation was answered with the budget message, not by the model:
    /// a limit of `scope` is spent for the period.
    BudgetRefused {
        bot_id: BotId,
        conversation_id: ConversationId,
        scope: Scope,
    },
}

impl DomainEvent {
    /// Every [`DomainEvent::public_name`].
    pub const PUBLIC_NAMES: [&'static str; 11] = [
        "conversation.started",
        "message.received",
        "reply.started",
        "message.sent",
        "message.failed",
        "conversation.ended",
        "conversation.handoff",
        "conversation.released",
        "budget.threshold",
        "message.rate_limited",
        "budget.refused",
    ];

    pub fn conversation_id(&self) -> ConversationId {
        match self {
            Self::ConversationStarted {
                conversation_id, ..
            }
            | Self::MessageReceived {
                conversation_id, ..
            }
            | Self::ReplyStored {
                conversation_id, ..
            }
            | Self::ReplyStarted {
                conversation_id, ..
            }
            | Self::ReplyDelta {
                conversation_id, ..
            }
            | Self::ReplyRestarted {
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
            }
            | Self::BudgetThreshold {
                conversation_id, ..
            }
            | Self::MessageRateLimited {
                conversation_id, ..
            }
            | Self::BudgetRefused {
                conversation_id, ..
            } => *conversation_id,
        }
    }

    pub fn bot_id(&self) -> BotId {
        match self {
            Self::ConversationStarted { bot_id, .. }
            | Self::MessageReceived { bot_id, .. }
            | Self::ReplyStored { bot_id, .. }
            | Self::ReplyStarted { bot_id, .. }
            | Self::ReplyDelta { bot_id, .. }
            | Self::ReplyRestarted { bot_id, .. }
            | Self::OperatorMessageStored { bot_id, .. }
            | Self::MessageDelivered { bot_id, .. }
            | Self::DeliveryFailed { bot_id, .. }
            | Self::ConversationEnded { bot_id, .. }
            | Self::ConversationHandedOff { bot_id, .. }
            | Self::ConversationReleased { bot_id, .. }
            | Self::BudgetThreshold { bot_id, .. }
            | Self::MessageRateLimited { bot_id, .. }
            | Self::BudgetRefused { bot_id, .. } => *bot_id,
        }
    }

    /// The name operators' clients know the event by (the events stream, the outgoing
    /// webhooks); `None` for the pipeline's inner steps, which are not shown outside.
    pub fn public_name(&self) -> Option<&'static str> {
        Some(match self {
            Self::ConversationStarted { .. } => "conversation.started",
            Self::MessageReceived { .. } => "message.received",
            Self::ReplyStarted { .. } => "reply.started",
            Self::MessageDelivered { .. } => "message.sent",
            Self::DeliveryFailed { .. } => "message.failed",
            Self::ConversationEnded { .. } => "conversation.ended",
            Self::ConversationHandedOff { .. } => "conversation.handoff",
            Self::ConversationReleased { .. } => "conversation.released",
            Self::BudgetThreshold { .. } => "budget.threshold",
            Self::MessageRateLimited { .. } => "message.rate_limited",
            Self::BudgetRefused { .. } => "budget.refused",
            Self::ReplyStored { .. }
            | Self::OperatorMessageStored { .. }
            | Self::ReplyDelta { .. }
            | Self::ReplyRestarted { .. } => return None,
        })
    }

    /// Whether a conversation changed hands (the `handoffs` topic).
    pub fn is_handoff(&self) -> bool {
        matches!(
            self,
            Self::ConversationHandedOff { .. } | Self::ConversationReleased { .. }
        )
    }
}

/// An event as announced: an id unique across the replicas and ordered by time, when, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedEvent {
    pub id: EventId,
    pub at: DateTime<Utc>,
    pub event: DomainEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_names_are_the_named_events_names() {
        let (bot_id, conversation_id, message_id) =
            (BotId::new(), ConversationId::new(), MessageId::new());
        let platform = PlatformKind::Telegram;
        let all = [
            DomainEvent::ConversationStarted {
                bot_id,
                conversation_id,
                platform,
            },
            DomainEvent::MessageReceived {
                bot_id,
                conversation_id,
                message_id,
                platform,
            },
            DomainEvent::ReplyStored {
                bot_id,
                conversation_id,
                message_id,
            },
            DomainEvent::ReplyStarted {
                bot_id,
                conversation_id,
                message_id,
            },
            DomainEvent::OperatorMessageStored {
                bot_id,
                conversation_id,
                message_id,
            },
            DomainEvent::MessageDelivered {
                bot_id,
                conversation_id,
                message_id,
            },
            DomainEvent::DeliveryFailed {
                bot_id,
                conversation_id,
                message_id,
            },
            DomainEvent::ConversationEnded {
                bot_id,
                conversation_id,
            },
            DomainEvent::ConversationHandedOff {
                bot_id,
                conversation_id,
            },
            DomainEvent::ConversationReleased {
                bot_id,
                conversation_id,
            },
            DomainEvent::BudgetThreshold {
                bot_id,
                conversation_id,
                scope: Scope::Bot,
                percent: 80,
            },
            DomainEvent::MessageRateLimited {
                bot_id,
                conversation_id,
                message_id,
            },
            DomainEvent::BudgetRefused {
                bot_id,
                conversation_id,
                scope: Scope::User,
            },
        ];
        let names: Vec<&str> = all.iter().filter_map(DomainEvent::public_name).collect();
        assert_eq!(names, DomainEvent::PUBLIC_NAMES);
    }

    #[test]
    fn only_the_pipelines_inner_steps_have_no_public_name() {
        let (bot_id, conversation_id, message_id) =
            (BotId::new(), ConversationId::new(), MessageId::new());
        let inner = DomainEvent::ReplyStored {
            bot_id,
            conversation_id,
            message_id,
        };
        assert_eq!(inner.public_name(), None);
        let sent = DomainEvent::MessageDelivered {
            bot_id,
            conversation_id,
            message_id,
        };
        assert_eq!(sent.public_name(), Some("message.sent"));
        assert!(DomainEvent::PUBLIC_NAMES.contains(&"message.sent"));
        assert_eq!(sent.bot_id(), bot_id);
        let released = DomainEvent::ConversationReleased {
            bot_id,
            conversation_id,
        };
        assert!(released.is_handoff() && !sent.is_handoff());
    }
}
