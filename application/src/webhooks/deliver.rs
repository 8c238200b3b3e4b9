//! Use case: post one pending delivery to its webhook, signed, and record the attempt — delivered on a 2xx, else retried with backoff until the attempts run out or the webhook is disabled.

use super::signature::signed_post;
use crate::jobs::Step;
use crate::metrics;
use crate::ports::{ClaimedJob, Clock, PostOutcome, WebhookDeliveries, WebhookSender};
use domain::{DeliveryAttempt, DeliveryId, DeliveryState, RepoError, Webhook, WebhookDelivery};
use std::sync::Arc;
use std::time::Instant;

/// What the configuration decides for deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Failed attempts in a row after which a webhook is disabled
    /// (`webhooks.disable_after_failures`).
    pub disable_after: u32,
    /// Attempts at one delivery before it fails (`worker.max_attempts`).
    pub max_attempts: u32,
}

pub struct DeliverWebhook {
    deliveries: Arc<dyn WebhookDeliveries>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    settings: WebhookSettings,
}

impl DeliverWebhook {
    pub fn new(
        deliveries: Arc<dyn WebhookDeliveries>,
        sender: Arc<dyn WebhookSender>,
        clock: Arc<dyn Clock>,
        settings: WebhookSettings,
    ) -> Self {
        Self {
            deliveries,
            sender,
            clock,
            settings,
        }
    }

    /// Runs the job of delivery `id`. One that is gone or settled already completes the job.
    #[tracing::instrument(skip_all, fields(delivery_id = %id))]
    pub async fn run(&self, job: &ClaimedJob, id: DeliveryId) -> Result<Step, RepoError> {
        let Some((delivery, webhook)) = self.deliveries.pending(id).await? else {
            return Ok(Step::Complete);
        };
        if let Some(disabled) = &webhook.disabled {
            let attempt = self.refusal(format!("not sent: {}", disabled.reason));
            self.settle(&delivery, &attempt, DeliveryState::Failed)
                .await?;
            return Ok(Step::Complete);
        }
        let attempt = self.attempt(&webhook, &delivery).await;
        metrics::webhook_attempt(attempt.error.is_none());
        if attempt.error.is_none() {
            self.settle(&delivery, &attempt, DeliveryState::Delivered)
                .await?;
            return Ok(Step::Complete);
        }
        let last = job.attempts >= self.settings.max_attempts;
        let state = match last {
            true => DeliveryState::Failed,
            false => DeliveryState::Pending,
        };
        let disabled = self.settle(&delivery, &attempt, state).await?;
        let error = attempt.error.unwrap_or_default();
        if disabled {
            tracing::warn!(webhook_id = %webhook.id, %error, "webhook disabled: it kept failing");
        }
        Ok(match last || disabled {
            true => Step::Complete,
            false => Step::Retry {
                payload: job.payload.clone(),
                after: None,
                error,
            },
        })
    }

    /// Posts the delivery once; the attempt as it went.
    async fn attempt(&self, webhook: &Webhook, delivery: &WebhookDelivery) -> DeliveryAttempt {
        let at = self.clock.now();
        let post = match signed_post(webhook, delivery, at.timestamp()) {
            Ok(post) => post,
            Err(error) => return self.refusal(format!("cannot sign: {error}")),
        };
        let started = Instant::now();
        let outcome = self.sender.post(&post).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (status, error) = match outcome {
            PostOutcome::Answered(status) if (200..300).contains(&status) => (Some(status), None),
            PostOutcome::Answered(status) if (300..400).contains(&status) => (
                Some(status),
                Some(format!("answered {status}: redirects are not followed")),
            ),
            PostOutcome::Answered(status) => (Some(status), Some(format!("answered {status}"))),
            PostOutcome::Failed(reason) => (None, Some(reason)),
        };
        DeliveryAttempt {
            at,
            status,
            error,
            duration_ms,
        }
    }

    /// An attempt that posted nothing, and why.
    fn refusal(&self, error: String) -> DeliveryAttempt {
        DeliveryAttempt {
            at: self.clock.now(),
            status: None,
            error: Some(error),
            duration_ms: 0,
        }
    }

    async fn settle(
        &self,
        delivery: &WebhookDelivery,
        attempt: &DeliveryAttempt,
        state: DeliveryState,
    ) -> Result<bool, RepoError> {
        let disable_after = self.settings.disable_after;
        (self.deliveries)
            .record(delivery, attempt, state, disable_after)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::now;
    use crate::ports::MockWebhookSender;
    use crate::ports::{JobPayload, LeaseToken, MockClock, MockWebhookDeliveries};
    use domain::{BotId, ConversationId, EventId, EventSelection, WebhookDraft, WebhookUrl};

    const SETTINGS: WebhookSettings = WebhookSettings {
        disable_after: 20,
        max_attempts: 3,
    };

    fn pending() -> (WebhookDelivery, Webhook) {
        let draft = WebhookDraft {
            url: WebhookUrl::parse("https://example.com/in").unwrap(),
            events: EventSelection::All,
            bot_ids: None,
            secret: crate::webhooks::signature::generate_secret(),
        };
        let webhook = Webhook::create(draft, now());
        let delivery = WebhookDelivery {
            id: DeliveryId::new(),
            webhook_id: webhook.id,
            event_id: EventId::new(),
            event_type: "conversation.ended".into(),
            bot_id: BotId::new(),
            conversation_id: ConversationId::new(),
            body: "{}".into(),
            state: DeliveryState::Pending,
            attempts: Vec::new(),
            created_at: now(),
            updated_at: now(),
        };
        (delivery, webhook)
    }

    fn job(delivery: &WebhookDelivery, attempts: u32) -> ClaimedJob {
        ClaimedJob {
            id: 1,
            lane: crate::ports::delivery_lane(delivery),
            payload: JobPayload::Webhook {
                delivery_id: delivery.id,
            },
            attempts,
            lease: LeaseToken("t".into()),
            trace_parent: None,
        }
    }

    /// Runs attempt `attempts` of a delivery the receiver answers `status`; the step and the
    /// state the attempt was recorded with.
    async fn answered(status: u16, attempts: u32, disables: bool) -> (Step, DeliveryState) {
        let (delivery, webhook) = pending();
        let found = (delivery.clone(), webhook);
        let mut deliveries = MockWebhookDeliveries::new();
        deliveries
            .expect_pending()
            .returning(move |_| Ok(Some(found.clone())));
        let recorded = Arc::new(std::sync::Mutex::new(None));
        let seen = recorded.clone();
        deliveries
            .expect_record()
            .times(1)
            .returning(move |_, attempt, state, _| {
                assert_eq!(attempt.status, Some(status));
                *seen.lock().unwrap() = Some(state);
                Ok(disables)
            });
        let mut sender = MockWebhookSender::new();
        sender
            .expect_post()
            .withf(|post| {
                post.headers
                    .iter()
                    .any(|(name, v)| *name == "webhook-signature" && v.starts_with("v1,"))
            })
            .returning(move |_| PostOutcome::Answered(status));
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now());
        let deliver = DeliverWebhook::new(
            Arc::new(deliveries),
            Arc::new(sender),
            Arc::new(clock),
            SETTINGS,
        );
        let step = deliver
            .run(&job(&delivery, attempts), delivery.id)
            .await
            .unwrap();
        let state = recorded.lock().unwrap().take().unwrap();
        (step, state)
    }

    #[tokio::test]
    async fn a_2xx_delivers_and_completes_the_job() {
        assert_eq!(
            answered(204, 1, false).await,
            (Step::Complete, DeliveryState::Delivered)
        );
    }

    #[tokio::test]
    async fn a_500_is_retried_until_the_last_attempt_which_fails_the_delivery() {
        let (step, state) = answered(500, 1, false).await;
        assert!(matches!(step, Step::Retry { after: None, .. }), "{step:?}");
        assert_eq!(state, DeliveryState::Pending);
        assert_eq!(
            answered(500, SETTINGS.max_attempts, false).await,
            (Step::Complete, DeliveryState::Failed)
        );
    }

    #[tokio::test]
    async fn a_redirect_is_a_failure_and_a_webhook_disabled_by_it_stops_retrying() {
        assert_eq!(answered(302, 1, true).await.0, Step::Complete);
        let (step, _) = answered(302, 1, false).await;
        let Step::Retry { error, .. } = step else {
            panic!("{step:?}")
        };
        assert!(error.contains("redirects are not followed"), "{error}");
    }
}
