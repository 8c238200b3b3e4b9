//! Use case: hand a conversation to a person, and give it back to the bot, announcing each change once.

use crate::ports::{Clock, EventPublisher, Ledger};
use chrono::{DateTime, Utc};
use domain::repositories::ConversationRepository;
use domain::{BotId, Conversation, ConversationId, DomainEvent, RepoError};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HandoffError {
    #[error("conversation {0} not found")]
    NotFound(ConversationId),
    #[error("conversation {0} has ended")]
    Ended(ConversationId),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

pub struct Handoff {
    conversations: Arc<dyn ConversationRepository>,
    ledger: Arc<dyn Ledger>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
}

impl Handoff {
    pub fn new(
        conversations: Arc<dyn ConversationRepository>,
        ledger: Arc<dyn Ledger>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            conversations,
            ledger,
            events,
            clock,
        }
    }

    /// The conversation, in a person's hands (`assigned_to` names them): from now on its
    /// messages are stored but the bot neither answers nor sends anything on its own. Handing
    /// off a conversation handed off already keeps its first time and person.
    #[tracing::instrument(skip_all, fields(conversation_id = %id))]
    pub async fn hand_off(
        &self,
        id: ConversationId,
        assigned_to: Option<&str>,
    ) -> Result<Conversation, HandoffError> {
        let before = self.active(id).await?;
        if before.is_handed_off() {
            return Ok(before);
        }
        let chat = (before.bot_id, id);
        let assigned_to = assigned_to.map(str::to_owned);
        let (conversations, events) = (&*self.conversations, &*self.events);
        hand_over(conversations, events, chat, assigned_to, self.clock.now()).await?;
        self.current(id).await
    }

    /// The conversation, the bot's again: it answers what arrives from now on and, with
    /// `answer_pending`, the latest message when nothing answers it yet. Releasing a
    /// conversation the bot has changes nothing.
    #[tracing::instrument(skip_all, fields(conversation_id = %id))]
    pub async fn release(
        &self,
        id: ConversationId,
        answer_pending: bool,
    ) -> Result<Conversation, HandoffError> {
        let before = self.active(id).await?;
        if !before.is_handed_off() {
            return Ok(before);
        }
        let chat = (before.bot_id, id);
        let (ledger, events) = (&*self.ledger, &*self.events);
        give_back(ledger, events, chat, answer_pending, self.clock.now()).await?;
        self.current(id).await
    }

    /// The conversation, while it is active.
    async fn active(&self, id: ConversationId) -> Result<Conversation, HandoffError> {
        let conversation = self.current(id).await?;
        if !conversation.is_active() {
            return Err(HandoffError::Ended(id));
        }
        Ok(conversation)
    }

    async fn current(&self, id: ConversationId) -> Result<Conversation, HandoffError> {
        let found = self.conversations.get(id).await?;
        found.ok_or(HandoffError::NotFound(id))
    }
}

/// Hands the conversation `(bot, id)` to a person at `at`, announcing it when it changed hands
/// now; `true` then. Shared by an operator's handoff, a user asking for a person, and a person
/// answering from the platform's own app.
pub(crate) async fn hand_over(
    conversations: &dyn ConversationRepository,
    events: &dyn EventPublisher,
    (bot_id, conversation_id): (BotId, ConversationId),
    assigned_to: Option<String>,
    at: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let handed = conversations
        .hand_off(conversation_id, assigned_to, at)
        .await?;
    if handed {
        events.publish(DomainEvent::ConversationHandedOff {
            bot_id,
            conversation_id,
        });
    }
    Ok(handed)
}

/// Gives the conversation `(bot, id)` back to the bot at `at` (with `answer_pending`, queuing
/// the answer it owes), announcing it when it changed hands now; `true` then. Shared by an
/// operator's release and the idle return.
pub(crate) async fn give_back(
    ledger: &dyn Ledger,
    events: &dyn EventPublisher,
    (bot_id, conversation_id): (BotId, ConversationId),
    answer_pending: bool,
    at: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let released = ledger
        .hand_back(conversation_id, answer_pending, at)
        .await?;
    if released {
        events.publish(DomainEvent::ConversationReleased {
            bot_id,
            conversation_id,
        });
    }
    Ok(released)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, now, World};
    use crate::ports::{MockEventPublisher, MockLedger};
    use domain::repositories::MockConversationRepository;
    use domain::{ConversationMode, ConversationStatus};

    /// The use case on a store that holds `stored` and answers the writes with `changes`,
    /// announcing `announced` events.
    fn use_case(stored: Conversation, changes: bool, announced: usize) -> Handoff {
        let mut conversations = MockConversationRepository::new();
        conversations
            .expect_get()
            .returning(move |_| Ok(Some(stored.clone())));
        conversations
            .expect_hand_off()
            .withf(|_, assigned_to, at| assigned_to.as_deref() == Some("ops") && *at == now())
            .returning(move |_, _, _| Ok(changes));
        let mut ledger = MockLedger::new();
        ledger
            .expect_hand_back()
            .withf(|_, answer_pending, at| *answer_pending && *at == now())
            .returning(move |_, _, _| Ok(changes));
        let mut events = MockEventPublisher::new();
        events.expect_publish().times(announced).return_const(());
        Handoff::new(
            Arc::new(conversations),
            Arc::new(ledger),
            Arc::new(events),
            clock(),
        )
    }

    fn handed_off(conversation: &Conversation) -> Conversation {
        Conversation {
            mode: ConversationMode::Human,
            ..conversation.clone()
        }
    }

    #[tokio::test]
    async fn handing_off_a_bot_conversation_is_announced_once() {
        let world = World::new();
        let id = world.conversation.id;
        let handoff = use_case(world.conversation.clone(), true, 1);
        handoff.hand_off(id, Some("ops")).await.unwrap();
    }

    #[tokio::test]
    async fn handing_off_twice_or_releasing_a_bot_conversation_writes_nothing() {
        let world = World::new();
        let id = world.conversation.id;
        let human = handed_off(&world.conversation);
        let again = use_case(human.clone(), true, 0)
            .hand_off(id, Some("ops"))
            .await;
        assert_eq!(again.unwrap(), human);
        let release = use_case(world.conversation.clone(), true, 0)
            .release(id, true)
            .await;
        assert_eq!(release.unwrap(), world.conversation);
    }

    #[tokio::test]
    async fn releasing_a_handed_off_conversation_is_announced_unless_a_rival_did_it() {
        let world = World::new();
        let id = world.conversation.id;
        let human = handed_off(&world.conversation);
        use_case(human.clone(), true, 1)
            .release(id, true)
            .await
            .unwrap();
        use_case(human, false, 0).release(id, true).await.unwrap();
    }

    #[tokio::test]
    async fn an_ended_conversation_is_refused_both_ways() {
        let world = World::new();
        let id = world.conversation.id;
        let ended = Conversation {
            status: ConversationStatus::Ended,
            ..handed_off(&world.conversation)
        };
        let handoff = use_case(ended, true, 0);
        let refused = handoff.hand_off(id, Some("ops")).await;
        assert!(matches!(refused, Err(HandoffError::Ended(_))));
        let refused = handoff.release(id, true).await;
        assert!(matches!(refused, Err(HandoffError::Ended(_))));
    }
}
