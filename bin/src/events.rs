//! The in-process event bus: fans domain events out to subscribers and wakes idle workers.

use application::ports::EventPublisher;
use domain::DomainEvent;
use std::sync::Arc;
use tokio::sync::{broadcast, Notify};

pub struct EventBus {
    sender: broadcast::Sender<DomainEvent>,
    wake: Arc<Notify>,
}

impl EventBus {
    pub fn new(wake: Arc<Notify>) -> Self {
        let (sender, _) = broadcast::channel(1024);
        Self { sender, wake }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.sender.subscribe()
    }
}

impl EventPublisher for EventBus {
    fn publish(&self, event: DomainEvent) {
        if matches!(
            event,
            DomainEvent::MessageReceived { .. }
                | DomainEvent::ReplyStored { .. }
                | DomainEvent::OperatorMessageStored { .. }
        ) {
            // A job was just enqueued: no need to wait for the next poll.
            self.wake.notify_one();
        }
        // No subscriber is fine: events are announcements, not work.
        let _ = self.sender.send(event);
    }
}
