//! The in-process event bus: stamps each domain event with its id, fans it out to subscribers,
//! hands it to the journal and wakes idle workers; with Redis configured, it also relays this
//! process's events to the other replicas.

use application::ports::{EventPublisher, EventRelay, EventSubscriber, Followed};
use application::Journal;
use domain::{DomainEvent, EventId, PublishedEvent};
use futures::stream::{self, BoxStream, StreamExt};
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::Notify;

/// Events a slow subscriber may fall behind by before it misses some.
const EVENT_BUFFER: usize = 1024;

pub struct EventBus {
    sender: broadcast::Sender<PublishedEvent>,
    /// Rung when an event means a job was enqueued; `None` when the store announces its jobs
    /// itself (PostgreSQL `NOTIFY`), which would only wake the dispatcher twice.
    wake: Option<Arc<Notify>>,
    /// Where this process's own events also go (Redis), when configured.
    relay: Option<Arc<dyn EventRelay>>,
    /// Keeps this process's events for clients that reconnect.
    journal: Journal,
}

impl EventBus {
    pub fn new(
        wake: Option<Arc<Notify>>,
        relay: Option<Arc<dyn EventRelay>>,
        journal: Journal,
    ) -> Self {
        let (sender, _) = broadcast::channel(EVENT_BUFFER);
        Self {
            sender,
            wake,
            relay,
            journal,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<PublishedEvent> {
        self.sender.subscribe()
    }

    /// An event from another replica: announced here, not relayed or journaled again.
    pub fn publish_local(&self, event: PublishedEvent) {
        let enqueued = matches!(
            event.event,
            DomainEvent::MessageReceived { .. } | DomainEvent::OperatorMessageStored { .. }
        );
        if let (true, Some(wake)) = (enqueued, &self.wake) {
            // A job was just enqueued: no need to wait for the next poll. (A stored reply
            // enqueues nothing: its job delivers it at once.)
            wake.notify_one();
        }
        // No subscriber is fine: events are announcements, not work.
        let _ = self.sender.send(event);
    }
}

impl EventPublisher for EventBus {
    fn publish(&self, event: DomainEvent) {
        application::metrics::event_published();
        let id = EventId::new();
        let at = id.created_at().unwrap_or_else(chrono::Utc::now);
        let event = PublishedEvent { id, at, event };
        if let Some(relay) = &self.relay {
            relay.relay(&event);
        }
        self.journal.keep(&event);
        self.publish_local(event);
    }
}

impl EventSubscriber for EventBus {
    fn follow(&self) -> BoxStream<'static, Followed> {
        Box::pin(stream::unfold(
            self.sender.subscribe(),
            |mut receiver| async move {
                let next = match receiver.recv().await {
                    Ok(event) => Followed::Event(event),
                    Err(RecvError::Lagged(missed)) => Followed::Lagged(missed),
                    Err(RecvError::Closed) => return None,
                };
                Some((next, receiver))
            },
        ))
    }

    /// A subscriber that lags behind skips what it missed (logged) and goes on.
    fn subscribe(&self) -> BoxStream<'static, DomainEvent> {
        Box::pin(self.follow().filter_map(|followed| async move {
            match followed {
                Followed::Event(event) => Some(event.event),
                Followed::Lagged(missed) => {
                    application::metrics::events_dropped(missed);
                    tracing::warn!(missed, "an event subscriber fell behind");
                    None
                }
            }
        }))
    }
}
