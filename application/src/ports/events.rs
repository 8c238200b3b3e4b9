//! The event port: announces stored facts to subscribers (in-process, or across replicas).

use domain::DomainEvent;

#[cfg_attr(test, mockall::automock)]
pub trait EventPublisher: Send + Sync {
    /// Fire and forget: publishing never fails the pipeline.
    fn publish(&self, event: DomainEvent);
}
