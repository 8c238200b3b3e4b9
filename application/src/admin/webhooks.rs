//! Use cases: the outgoing webhooks operators subscribe — their targets checked (no private address unless allowed), their secrets generated or taken and shown once — and their deliveries listed and sent again.

use crate::ports::{Clock, Requeued, WebhookDeliveries};
use crate::webhooks::signature::secret_key;
use domain::repositories::WebhookRepository;
use domain::{
    DeliveryId, Page, PageRequest, RepoError, Secret, ValidationError, Webhook, WebhookDelivery,
    WebhookDraft, WebhookId,
};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WebhookError {
    #[error("webhook {0} not found")]
    NotFound(WebhookId),
    #[error("delivery {0} not found")]
    DeliveryNotFound(DeliveryId),
    #[error("delivery {0} is pending: it will be sent")]
    DeliveryPending(DeliveryId),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

/// A webhook with the secret it was given, which the answer shows this once.
#[derive(Debug, Clone)]
pub struct Subscribed {
    pub webhook: Webhook,
    /// Set when the secret was made or changed by this request.
    pub secret: Option<Secret>,
}

/// What a create or an update asks for; a secret left out is generated (create) or kept.
pub struct WebhookRequest {
    pub draft: WebhookDraft,
    pub secret_given: bool,
    /// `Some` to enable or disable it.
    pub enabled: Option<bool>,
}

pub struct WebhookAdmin {
    webhooks: Arc<dyn WebhookRepository>,
    deliveries: Arc<dyn WebhookDeliveries>,
    clock: Arc<dyn Clock>,
    /// `webhooks.allow_private_targets`.
    allow_private: bool,
}

impl WebhookAdmin {
    pub fn new(
        webhooks: Arc<dyn WebhookRepository>,
        deliveries: Arc<dyn WebhookDeliveries>,
        clock: Arc<dyn Clock>,
        allow_private: bool,
    ) -> Self {
        Self {
            webhooks,
            deliveries,
            clock,
            allow_private,
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn create(&self, request: WebhookRequest) -> Result<Subscribed, WebhookError> {
        let draft = self.checked(request.draft)?;
        let mut webhook = Webhook::create(draft, self.clock.now());
        if request.enabled == Some(false) {
            webhook.set_enabled(false, self.clock.now());
        }
        self.webhooks.insert(&webhook).await?;
        tracing::info!(webhook_id = %webhook.id, "webhook created");
        let secret = Some(webhook.secret.clone());
        Ok(Subscribed { webhook, secret })
    }

    pub async fn get(&self, id: WebhookId) -> Result<Webhook, WebhookError> {
        (self.webhooks.get(id).await?).ok_or(WebhookError::NotFound(id))
    }

    pub async fn list(&self, page: &PageRequest) -> Result<Page<Webhook>, RepoError> {
        self.webhooks.list(page).await
    }

    /// Applies `revise` to the stored webhook's draft and saves the result; enabling it
    /// forgets its failures.
    #[tracing::instrument(skip_all, fields(webhook_id = %id))]
    pub async fn update(
        &self,
        id: WebhookId,
        revise: impl FnOnce(WebhookDraft) -> Result<WebhookRequest, ValidationError> + Send,
    ) -> Result<Subscribed, WebhookError> {
        let mut webhook = self.get(id).await?;
        let request = revise(webhook.draft())?;
        let now = self.clock.now();
        webhook.revise(self.checked(request.draft)?, now);
        if let Some(enabled) = request.enabled {
            webhook.set_enabled(enabled, now);
        }
        if !self.webhooks.update(&webhook).await? {
            return Err(WebhookError::NotFound(id));
        }
        let secret = request.secret_given.then(|| webhook.secret.clone());
        Ok(Subscribed { webhook, secret })
    }

    #[tracing::instrument(skip_all, fields(webhook_id = %id))]
    pub async fn delete(&self, id: WebhookId) -> Result<(), WebhookError> {
        match self.webhooks.delete(id).await? {
            true => Ok(()),
            false => Err(WebhookError::NotFound(id)),
        }
    }

    pub async fn deliveries(
        &self,
        id: WebhookId,
        page: &PageRequest,
    ) -> Result<Page<WebhookDelivery>, WebhookError> {
        self.get(id).await?;
        Ok(self.deliveries.list(id, page).await?)
    }

    /// Sends a delivered or failed delivery again, under the same event id.
    #[tracing::instrument(skip_all, fields(webhook_id = %id, delivery_id = %delivery))]
    pub async fn retry(
        &self,
        id: WebhookId,
        delivery: DeliveryId,
    ) -> Result<WebhookDelivery, WebhookError> {
        self.get(id).await?;
        match self
            .deliveries
            .requeue(id, delivery, self.clock.now())
            .await?
        {
            Requeued::Queued(delivery) => Ok(delivery),
            Requeued::StillPending => Err(WebhookError::DeliveryPending(delivery)),
            Requeued::Missing => Err(WebhookError::DeliveryNotFound(delivery)),
        }
    }

    /// `draft` once its target may be posted to and its secret is well formed.
    fn checked(&self, draft: WebhookDraft) -> Result<WebhookDraft, ValidationError> {
        if !self.allow_private && draft.url.names_a_private_target() {
            return Err(ValidationError::new(
                "url",
                "names a loopback, private or link-local address: refused unless \
                 webhooks.allow_private_targets is set",
            ));
        }
        secret_key(draft.secret.expose())?;
        draft.validated()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockClock;
    use crate::ports::MockWebhookDeliveries;
    use crate::webhooks::signature::generate_secret;
    use domain::repositories::MockWebhookRepository;
    use domain::{EventSelection, WebhookUrl};

    fn admin(webhooks: MockWebhookRepository, allow_private: bool) -> WebhookAdmin {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(crate::fixtures::now());
        WebhookAdmin::new(
            Arc::new(webhooks),
            Arc::new(MockWebhookDeliveries::new()),
            Arc::new(clock),
            allow_private,
        )
    }

    fn request(url: &str, secret: Secret) -> WebhookRequest {
        WebhookRequest {
            draft: WebhookDraft {
                url: WebhookUrl::parse(url).unwrap(),
                events: EventSelection::All,
                bot_ids: None,
                secret,
            },
            secret_given: true,
            enabled: None,
        }
    }

    #[tokio::test]
    async fn a_loopback_target_is_refused_unless_private_targets_are_allowed() {
        let refused = admin(MockWebhookRepository::new(), false)
            .create(request("http://127.0.0.1:9/in", generate_secret()))
            .await;
        assert!(matches!(refused, Err(WebhookError::Invalid(e)) if e.field == "url"));

        let mut webhooks = MockWebhookRepository::new();
        webhooks.expect_insert().times(1).returning(|_| Ok(()));
        let created = admin(webhooks, true)
            .create(request("http://127.0.0.1:9/in", generate_secret()))
            .await
            .unwrap();
        assert_eq!(created.secret, Some(created.webhook.secret.clone()));
    }

    #[tokio::test]
    async fn a_malformed_secret_is_refused_before_anything_is_stored() {
        let refused = admin(MockWebhookRepository::new(), false)
            .create(request("https://example.com/in", Secret::new("hunter2")))
            .await;
        assert!(matches!(refused, Err(WebhookError::Invalid(e)) if e.field == "secret"));
    }
}
