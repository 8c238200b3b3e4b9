//! Use case: end a conversation (an operator's call or a user's `/reset`) and announce it once.

use crate::ports::{Clock, EventPublisher};
use domain::repositories::ConversationRepository;
use domain::{Conversation, ConversationId, ConversationStatus, DomainEvent, RepoError};
use std::sync::Arc;

pub struct EndConversation {
    conversations: Arc<dyn ConversationRepository>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
}

impl EndConversation {
    pub fn new(
        conversations: Arc<dyn ConversationRepository>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            conversations,
            events,
            clock,
        }
    }

    /// The conversation, ended; `None` when there is no such conversation. Ending one that
    /// has ended already changes nothing and announces nothing.
    #[tracing::instrument(skip_all, fields(conversation_id = %id))]
    pub async fn end(&self, id: ConversationId) -> Result<Option<Conversation>, RepoError> {
        let Some(before) = self.conversations.get(id).await? else {
            return Ok(None);
        };
        if before.status == ConversationStatus::Ended {
            return Ok(Some(before));
        }
        let ended = self.conversations.end(id, self.clock.now()).await?;
        if let Some(conversation) = &ended {
            self.events.publish(DomainEvent::ConversationEnded {
                bot_id: conversation.bot_id,
                conversation_id: conversation.id,
            });
        }
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, now, World};
    use crate::ports::MockEventPublisher;
    use domain::repositories::MockConversationRepository;

    fn use_case(stored: Option<Conversation>, announcements: usize) -> EndConversation {
        let mut conversations = MockConversationRepository::new();
        let found = stored.clone();
        conversations
            .expect_get()
            .returning(move |_| Ok(found.clone()));
        conversations.expect_end().returning(move |_, at| {
            Ok(stored.clone().map(|c| Conversation {
                status: ConversationStatus::Ended,
                updated_at: at,
                ..c
            }))
        });
        let mut events = MockEventPublisher::new();
        events
            .expect_publish()
            .withf(|event| matches!(event, DomainEvent::ConversationEnded { .. }))
            .times(announcements)
            .return_const(());
        EndConversation::new(Arc::new(conversations), Arc::new(events), clock())
    }

    #[tokio::test]
    async fn an_active_conversation_ends_now_and_is_announced() {
        let world = World::new();
        let ended = use_case(Some(world.conversation.clone()), 1)
            .end(world.conversation.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ended.status, ConversationStatus::Ended);
        assert_eq!(ended.updated_at, now());
    }

    #[tokio::test]
    async fn an_ended_or_missing_conversation_is_not_announced() {
        let world = World::new();
        let already = Conversation {
            status: ConversationStatus::Ended,
            ..world.conversation.clone()
        };
        let result = use_case(Some(already.clone()), 0).end(already.id).await;
        assert_eq!(result.unwrap(), Some(already));
        let result = use_case(None, 0).end(world.conversation.id).await;
        assert_eq!(result.unwrap(), None);
    }
}
