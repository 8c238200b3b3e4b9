//! The event ports: announce stored facts, follow them (in-process, or across replicas), and
//! keep the announced ones for a few minutes so that a client can catch up.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{BotId, ConversationId, DomainEvent, EventId, PublishedEvent, RepoError};
use futures::stream::BoxStream;

#[cfg_attr(test, mockall::automock)]
pub trait EventPublisher: Send + Sync {
    /// Fire and forget: publishing never fails the pipeline.
    fn publish(&self, event: DomainEvent);
}

/// Carries this process's events to the other replicas (Redis), in order; fire and forget.
pub trait EventRelay: Send + Sync {
    fn relay(&self, event: &PublishedEvent);
}

/// Follows the events published from now on, by this process and, when fan-out is configured,
/// by the other replicas. Events are announcements: a subscriber too slow to keep up misses
/// some rather than holding the publishers back, so what matters is re-read from storage.
pub trait EventSubscriber: Send + Sync {
    /// The events as they come; a subscriber that fell behind gets a `Lagged` with how many it
    /// missed, then the newest ones.
    fn follow(&self) -> BoxStream<'static, Followed>;

    /// The events as they come, skipping (and counting) what a slow subscriber missed.
    fn subscribe(&self) -> BoxStream<'static, DomainEvent>;
}

/// One step of following the events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followed {
    Event(PublishedEvent),
    /// The subscriber fell this many events behind: they are lost to it.
    Lagged(u64),
}

/// Which events a reader wants: those of any of these bots or conversations, and hand-offs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventScope {
    pub bots: Vec<BotId>,
    pub conversations: Vec<ConversationId>,
    /// Conversations handed to a person or given back, of every bot.
    pub handoffs: bool,
}

impl EventScope {
    pub fn is_empty(&self) -> bool {
        self.bots.is_empty() && self.conversations.is_empty() && !self.handoffs
    }

    pub fn covers(&self, event: &DomainEvent) -> bool {
        self.bots.contains(&event.bot_id())
            || self.conversations.contains(&event.conversation_id())
            || (self.handoffs && event.is_handoff())
    }
}

/// The announced events of the last minutes, stored so that a client that reconnects, to any
/// replica, gets what it missed. Only events with a public name are kept.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Stores the events in one statement; an id stored already is skipped.
    async fn append(&self, events: &[PublishedEvent]) -> Result<(), RepoError>;

    /// The stored events after `after` in id order that `scope` covers, at most `limit`.
    async fn after(
        &self,
        after: EventId,
        scope: &EventScope,
        limit: u64,
    ) -> Result<Vec<PublishedEvent>, RepoError>;

    /// Deletes the events stored before `before`; answers how many.
    async fn forget_before(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
}
