//! Use case: an operator writes into an active conversation; the message is delivered in order.

use crate::ports::{Clock, EventPublisher, Ledger};
use domain::repositories::{BindingRepository, ConversationRepository};
use domain::{
    BotId, Conversation, ConversationId, DomainEvent, Message, PlatformKind, RepoError, TextRule,
    ValidationError,
};
use std::sync::Arc;
use thiserror::Error;

/// The longest operator message, in characters after trimming.
pub const MAX_TEXT_CHARS: usize = 4096;

#[derive(Debug, Error)]
pub enum OperatorMessageError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("conversation {0} not found")]
    NotFound(ConversationId),
    #[error("conversation {0} has ended")]
    Ended(ConversationId),
    #[error("bot {bot_id} is no longer bound to {platform}")]
    NotBound {
        bot_id: BotId,
        platform: PlatformKind,
    },
    #[error(transparent)]
    Storage(#[from] RepoError),
}

/// The trimmed text, or why it cannot be sent: an operator's, a visitor's or a REST caller's
/// message is 1-[`MAX_TEXT_CHARS`] characters without control characters but line breaks and
/// tabs.
pub(crate) fn valid_text(text: &str) -> Result<&str, ValidationError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(ValidationError::new(
            "text",
            format!("must be 1-{MAX_TEXT_CHARS} characters"),
        ));
    }
    TextRule::MultiLine.check("text", text)?;
    Ok(text)
}

pub struct SendOperatorMessage {
    conversations: Arc<dyn ConversationRepository>,
    bindings: Arc<dyn BindingRepository>,
    ledger: Arc<dyn Ledger>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
}

impl SendOperatorMessage {
    pub fn new(
        conversations: Arc<dyn ConversationRepository>,
        bindings: Arc<dyn BindingRepository>,
        ledger: Arc<dyn Ledger>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            conversations,
            bindings,
            ledger,
            events,
            clock,
        }
    }

    /// Stores `text` as the bot's outbound message in the conversation and queues its delivery
    /// behind the replies already queued there; returns the stored (pending) message.
    #[tracing::instrument(skip_all, fields(conversation_id = %id))]
    pub async fn send(
        &self,
        id: ConversationId,
        text: &str,
    ) -> Result<Message, OperatorMessageError> {
        let text = valid_text(text)?;
        let conversation = self.open_conversation(id).await?;
        let message = Message::operator(&conversation, text, self.clock.now());
        if !self.ledger.queue_outbound(&message).await? {
            // It ended (or went) between the read and the write.
            return Err(self.refusal(id).await?);
        }
        self.events.publish(DomainEvent::OperatorMessageStored {
            bot_id: message.bot_id,
            conversation_id: id,
            message_id: message.id,
        });
        tracing::info!(message_id = %message.id, "operator message queued");
        Ok(message)
    }

    /// The conversation, if it exists, is active, and its bot is still bound to its platform.
    async fn open_conversation(
        &self,
        id: ConversationId,
    ) -> Result<Conversation, OperatorMessageError> {
        let conversation = self
            .conversations
            .get(id)
            .await?
            .ok_or(OperatorMessageError::NotFound(id))?;
        if !conversation.is_active() {
            return Err(OperatorMessageError::Ended(id));
        }
        let (bot_id, platform) = (conversation.bot_id, conversation.platform);
        if self.bindings.get(bot_id, platform).await?.is_none() {
            return Err(OperatorMessageError::NotBound { bot_id, platform });
        }
        Ok(conversation)
    }

    /// Why the ledger refused: the conversation is gone, or it has ended.
    async fn refusal(&self, id: ConversationId) -> Result<OperatorMessageError, RepoError> {
        Ok(match self.conversations.get(id).await? {
            None => OperatorMessageError::NotFound(id),
            Some(_) => OperatorMessageError::Ended(id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, now, World};
    use crate::ports::{MockEventPublisher, MockLedger};
    use domain::repositories::{MockBindingRepository, MockConversationRepository};
    use domain::{ConversationStatus, Direction, MessageStatus};
    use std::sync::Mutex;

    /// The world's conversation as stored (ended when `ended`), and whether its bot is bound.
    struct Setup {
        world: World,
        ended: bool,
        bound: bool,
        /// What the ledger answers; `None` expects no call.
        ledger: Option<bool>,
    }

    struct Outcome {
        result: Result<Message, OperatorMessageError>,
        queued: Vec<Message>,
        events: Vec<DomainEvent>,
    }

    impl Setup {
        fn new() -> Self {
            Self {
                world: World::new(),
                ended: false,
                bound: true,
                ledger: Some(true),
            }
        }

        /// A setup whose ledger must not be called.
        fn unwritten() -> Self {
            Self {
                ledger: None,
                ..Self::new()
            }
        }

        fn conversations(&self) -> MockConversationRepository {
            let mut conversation = self.world.conversation.clone();
            if self.ended {
                conversation.status = ConversationStatus::Ended;
            }
            let mut conversations = MockConversationRepository::new();
            conversations
                .expect_get()
                .returning(move |id| Ok((id == conversation.id).then(|| conversation.clone())));
            conversations
        }

        fn bindings(&self) -> MockBindingRepository {
            let binding = self.bound.then(|| self.world.binding.clone());
            let mut bindings = MockBindingRepository::new();
            bindings
                .expect_get()
                .returning(move |_, _| Ok(binding.clone()));
            bindings
        }

        async fn send(&self, id: ConversationId, text: &str) -> Outcome {
            let queued: Arc<Mutex<Vec<Message>>> = Arc::default();
            let mut ledger = MockLedger::new();
            match self.ledger {
                Some(answer) => {
                    let sink = queued.clone();
                    ledger.expect_queue_outbound().returning(move |message| {
                        sink.lock().unwrap().push(message.clone());
                        Ok(answer)
                    });
                }
                None => {
                    ledger.expect_queue_outbound().never();
                }
            }
            let events: Arc<Mutex<Vec<DomainEvent>>> = Arc::default();
            let mut publisher = MockEventPublisher::new();
            let sink = events.clone();
            publisher
                .expect_publish()
                .returning(move |event| sink.lock().unwrap().push(event));
            let use_case = SendOperatorMessage::new(
                Arc::new(self.conversations()),
                Arc::new(self.bindings()),
                Arc::new(ledger),
                Arc::new(publisher),
                clock(),
            );
            let result = use_case.send(id, text).await;
            let queued = queued.lock().unwrap().clone();
            let events = events.lock().unwrap().clone();
            Outcome {
                result,
                queued,
                events,
            }
        }
    }

    #[tokio::test]
    async fn a_trimmed_message_is_queued_pending_and_announced() {
        let setup = Setup::new();
        let id = setup.world.conversation.id;
        let outcome = setup.send(id, "  a human here \n").await;
        let message = outcome.result.unwrap();
        assert_eq!(message.content.as_text(), Some("a human here"));
        assert_eq!(message.conversation_id, id);
        assert_eq!(message.bot_id, setup.world.bot.id);
        assert_eq!(message.direction, Direction::Outbound);
        assert_eq!(message.status, MessageStatus::Pending);
        assert_eq!(message.reply_to, None);
        assert_eq!(message.created_at, now());
        assert_eq!(outcome.queued, vec![message.clone()]);
        assert_eq!(
            outcome.events,
            vec![DomainEvent::OperatorMessageStored {
                bot_id: message.bot_id,
                conversation_id: id,
                message_id: message.id,
            }]
        );
    }

    #[tokio::test]
    async fn blank_overlong_or_control_text_is_refused_before_anything_is_read() {
        let longest = "é".repeat(MAX_TEXT_CHARS);
        let accepting = Setup::new();
        let sent = accepting
            .send(accepting.world.conversation.id, &longest)
            .await;
        assert!(sent.result.is_ok(), "{MAX_TEXT_CHARS} characters fit");
        let setup = Setup::unwritten();
        let id = setup.world.conversation.id;
        for text in [
            " \n ".to_owned(),
            format!("{longest}é"),
            "nul\0".to_owned(),
            "\u{1b}[2J".to_owned(),
        ] {
            match setup.send(id, &text).await.result {
                Err(OperatorMessageError::Invalid(err)) => assert_eq!(err.field, "text"),
                other => panic!("expected a text error, got {other:?}"),
            }
        }
    }

    /// The error `setup` answers for a message to `id` (its own conversation when `None`),
    /// announcing nothing.
    async fn refusal(setup: Setup, id: Option<ConversationId>) -> OperatorMessageError {
        let id = id.unwrap_or(setup.world.conversation.id);
        let outcome = setup.send(id, "hi").await;
        assert!(outcome.events.is_empty());
        outcome.result.unwrap_err()
    }

    #[tokio::test]
    async fn unknown_or_ended_conversations_and_unbound_bots_are_refused_unwritten() {
        let unknown = refusal(Setup::unwritten(), Some(ConversationId::new())).await;
        assert!(matches!(unknown, OperatorMessageError::NotFound(_)));
        let ended = Setup {
            ended: true,
            ..Setup::unwritten()
        };
        assert!(matches!(
            refusal(ended, None).await,
            OperatorMessageError::Ended(_)
        ));
        let unbound = Setup {
            bound: false,
            ..Setup::unwritten()
        };
        assert!(matches!(
            refusal(unbound, None).await,
            OperatorMessageError::NotBound {
                platform: PlatformKind::Telegram,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn a_conversation_ended_meanwhile_is_refused_and_not_announced() {
        let setup = Setup {
            ledger: Some(false),
            ..Setup::new()
        };
        let outcome = setup.send(setup.world.conversation.id, "hi").await;
        assert!(matches!(
            outcome.result,
            Err(OperatorMessageError::Ended(_))
        ));
        assert_eq!(outcome.queued.len(), 1, "the ledger was asked once");
        assert!(outcome.events.is_empty());
    }
}
