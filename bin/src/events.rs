//! The in-process event bus: fans domain events out to subscribers and wakes idle workers; with
//! Redis configured, it also forwards this process's events to the other replicas.

use application::ports::{EventPublisher, EventSubscriber};
use domain::DomainEvent;
use futures::stream::{self, BoxStream};
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::Notify;

/// Events a slow subscriber may fall behind by before it misses some.
const EVENT_BUFFER: usize = 1024;

pub struct EventBus {
    sender: broadcast::Sender<DomainEvent>,
    /// Rung when an event means a job was enqueued; `None` when the store announces its jobs
    /// itself (PostgreSQL `NOTIFY`), which would only wake the dispatcher twice.
    wake: Option<Arc<Notify>>,
    /// Where this process's own events also go (Redis), when configured.
    forward: Option<Arc<dyn EventPublisher>>,
}

impl EventBus {
    pub fn new(wake: Option<Arc<Notify>>, forward: Option<Arc<dyn EventPublisher>>) -> Self {
        let (sender, _) = broadcast::channel(EVENT_BUFFER);
        Self {
            sender,
            wake,
            forward,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.sender.subscribe()
    }

    /// An event from another replica: announced here, not forwarded again.
    pub fn publish_local(&self, event: DomainEvent) {
        let enqueued = matches!(
            event,
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
        if let Some(forward) = &self.forward {
            forward.publish(event.clone());
        }
        self.publish_local(event);
    }
}

impl EventSubscriber for EventBus {
    /// A subscriber that lags behind skips what it missed (logged) and goes on.
    fn subscribe(&self) -> BoxStream<'static, DomainEvent> {
        Box::pin(stream::unfold(
            self.sender.subscribe(),
            |mut receiver| async move {
                loop {
                    match receiver.recv().await {
                        Ok(event) => return Some((event, receiver)),
                        Err(RecvError::Lagged(missed)) => {
                            application::metrics::events_dropped(missed);
                            tracing::warn!(missed, "an event subscriber fell behind");
                        }
                        Err(RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }
}
