//! The event ports: announce stored facts, and follow them (in-process, or across replicas).

use domain::DomainEvent;
use futures::stream::BoxStream;

#[cfg_attr(test, mockall::automock)]
pub trait EventPublisher: Send + Sync {
    /// Fire and forget: publishing never fails the pipeline.
    fn publish(&self, event: DomainEvent);
}

/// Follows the events published from now on, by this process and, when fan-out is configured,
/// by the other replicas. Events are announcements: a subscriber too slow to keep up misses
/// some rather than holding the publishers back, so what matters is re-read from storage.
pub trait EventSubscriber: Send + Sync {
    fn subscribe(&self) -> BoxStream<'static, DomainEvent>;
}
