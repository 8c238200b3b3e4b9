//! The outgoing-webhook ports: the deliveries kept and queued for each subscription, and the HTTP client that posts them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    DeliveryAttempt, DeliveryId, DeliveryState, Page, PageRequest, RepoError, Webhook,
    WebhookDelivery, WebhookId,
};

/// The job-queue lane of a delivery: one per webhook and conversation, so that a
/// conversation's events reach each receiver in order while the others' go on.
pub fn delivery_lane(delivery: &WebhookDelivery) -> String {
    format!(
        "webhook:{}:{}",
        delivery.webhook_id, delivery.conversation_id
    )
}

/// What retrying a delivery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requeued {
    /// Pending again, its job queued.
    Queued(WebhookDelivery),
    /// It is pending already: its job will send it.
    StillPending,
    /// No such delivery of that webhook.
    Missing,
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait WebhookDeliveries: Send + Sync {
    /// Stores the deliveries, each pending with a job in its [`delivery_lane`], in one
    /// transaction.
    async fn enqueue(&self, deliveries: &[WebhookDelivery]) -> Result<(), RepoError>;

    /// The pending delivery `id` with its webhook; `None` when either is gone, or the
    /// delivery is not pending (a duplicate job).
    async fn pending(
        &self,
        id: DeliveryId,
    ) -> Result<Option<(WebhookDelivery, Webhook)>, RepoError>;

    /// Records an attempt at `delivery` and leaves it in `state`. A failed attempt counts
    /// against its webhook, which is disabled once it has failed `disable_after` times in a
    /// row (a delivery it leaves pending then fails too); a delivered one clears the count.
    /// Answers whether the webhook is disabled now.
    async fn record(
        &self,
        delivery: &WebhookDelivery,
        attempt: &DeliveryAttempt,
        state: DeliveryState,
        disable_after: u32,
    ) -> Result<bool, RepoError>;

    /// A webhook's deliveries, newest first, each with its attempts.
    async fn list(
        &self,
        webhook: WebhookId,
        page: &PageRequest,
    ) -> Result<Page<WebhookDelivery>, RepoError>;

    /// Sends a delivered or failed delivery again: pending, with a new job due now.
    async fn requeue(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Requeued, RepoError>;
}

/// A delivery ready to post: the headers carry its id, time and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPost {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// What posting came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// The receiver answered with this status (a redirect is an answer: it is not followed).
    Answered(u16),
    /// No answer: refused target, connection, TLS or timeout; the reason.
    Failed(String),
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Posts once, without following redirects, within the sender's timeout.
    async fn post(&self, post: &SignedPost) -> PostOutcome;
}
