//! Outgoing webhook bodies: create and partial-update requests, the webhook as shown (its secret only in the answer that set it), and its deliveries with their attempts.

use crate::errors::ApiError;
use actix_web::http::header::{CacheControl, CacheDirective, LOCATION};
use actix_web::HttpResponse;
use application::webhooks::signature::generate_secret;
use application::{Subscribed, WebhookRequest};
use chrono::{DateTime, Utc};
use domain::{
    BotId, DeliveryAttempt, DeliveryId, EventId, EventSelection, Secret, ValidationError,
    WebhookDelivery, WebhookDraft, WebhookId, WebhookUrl,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

/// `POST /api/v1/webhooks`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `http://` or `https://` with a host; no credentials or fragment. Loopback, private
    /// and link-local targets are refused unless `webhooks.allow_private_targets` is set.
    #[validate(required, length(min = 1, max = 2048))]
    #[schema(value_type = String, required = true, max_length = 2048)]
    pub url: Option<String>,
    /// Event names (`message.received`, `reply.started`, `message.sent`, `message.failed`,
    /// `conversation.started`, `conversation.ended`, `conversation.handoff`,
    /// `conversation.released`, `budget.threshold`, `message.rate_limited`,
    /// `budget.refused`), or `["*"]` for all.
    #[validate(required, length(min = 1, max = 20))]
    #[schema(value_type = Vec<String>, required = true, min_items = 1, max_items = 20)]
    pub events: Option<Vec<String>>,
    /// Only these bots' events (1 to 100); absent: every bot's.
    #[validate(length(min = 1, max = 100))]
    #[schema(value_type = Option<Vec<crate::openapi::schemas::Id>>, min_items = 1, max_items = 100)]
    pub bot_ids: Option<Vec<BotId>>,
    /// `whsec_` and the base64 of 24 to 64 random bytes; absent, one is generated. Sealed at
    /// rest; shown in this answer only.
    #[validate(length(min = 1, max = 200))]
    #[schema(write_only, max_length = 200)]
    pub secret: Option<String>,
    /// `false` creates it disabled.
    pub enabled: Option<bool>,
}

impl CreateWebhook {
    pub fn into_request(self) -> Result<WebhookRequest, ApiError> {
        self.validate()?;
        let secret = self.secret.map(Secret::new);
        let draft = WebhookDraft {
            url: WebhookUrl::parse(&self.url.unwrap_or_default())?,
            events: EventSelection::parse(&self.events.unwrap_or_default())?,
            bot_ids: self.bot_ids,
            secret: secret.unwrap_or_else(generate_secret),
        };
        Ok(WebhookRequest {
            draft,
            secret_given: true,
            enabled: self.enabled,
        })
    }
}

/// `PATCH /api/v1/webhooks/{id}`: an absent field stays; `bot_ids: null` means every bot;
/// `enabled: true` enables a disabled webhook and forgets its failures.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    #[validate(length(min = 1, max = 2048))]
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    #[validate(length(min = 1, max = 20))]
    #[schema(min_items = 1, max_items = 20)]
    pub events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::patch::present")]
    #[schema(value_type = Option<Vec<crate::openapi::schemas::Id>>)]
    pub bot_ids: Option<Option<Vec<BotId>>>,
    /// A new secret (shown in this answer only); absent, the stored one is kept.
    #[validate(length(min = 1, max = 200))]
    #[schema(write_only, max_length = 200)]
    pub secret: Option<String>,
    pub enabled: Option<bool>,
}

/// What applies a PATCH to a webhook's draft.
pub type WebhookPatch =
    Box<dyn FnOnce(WebhookDraft) -> Result<WebhookRequest, ValidationError> + Send>;

impl UpdateWebhook {
    pub fn into_patch(self) -> Result<WebhookPatch, ApiError> {
        self.validate()?;
        let url = self.url.as_deref().map(WebhookUrl::parse).transpose()?;
        let events = self
            .events
            .as_deref()
            .map(EventSelection::parse)
            .transpose()?;
        let secret = self.secret.map(Secret::new);
        let (bot_ids, enabled) = (self.bot_ids, self.enabled);
        Ok(Box::new(move |draft: WebhookDraft| {
            Ok(WebhookRequest {
                secret_given: secret.is_some(),
                draft: WebhookDraft {
                    url: url.unwrap_or(draft.url),
                    events: events.unwrap_or(draft.events),
                    bot_ids: bot_ids.unwrap_or(draft.bot_ids),
                    secret: secret.unwrap_or(draft.secret),
                },
                enabled,
            })
        }))
    }
}

/// A webhook as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookBody {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<String>,
    /// `null`: every bot's events.
    #[schema(value_type = Option<Vec<crate::openapi::schemas::Id>>)]
    pub bot_ids: Option<Vec<BotId>>,
    /// Only in the answer that created or changed it; never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// `false` once disabled (by an operator, or after failing too often): nothing is sent.
    pub enabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    /// Failed attempts since the last delivered one.
    pub failures: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<domain::Webhook> for WebhookBody {
    fn from(webhook: domain::Webhook) -> Self {
        let disabled = webhook.disabled;
        Self {
            id: webhook.id,
            url: webhook.url.as_str().to_owned(),
            events: webhook.events.names(),
            bot_ids: webhook.bot_ids,
            secret: None,
            enabled: disabled.is_none(),
            disabled_at: disabled.as_ref().map(|d| d.at),
            disabled_reason: disabled.map(|d| d.reason),
            failures: webhook.failures,
            created_at: webhook.created_at,
            updated_at: webhook.updated_at,
        }
    }
}

impl WebhookBody {
    /// The answer to a create (`201`, `Location`) or an update (`200`); one that shows the
    /// secret is `Cache-Control: no-store`, so that it is kept nowhere, not even for an
    /// `Idempotency-Key` replay.
    pub fn answer(subscribed: Subscribed, created: bool) -> HttpResponse {
        let secret = subscribed.secret.map(|s| s.expose().to_owned());
        let body = Self {
            secret,
            ..subscribed.webhook.into()
        };
        let mut response = match created {
            true => HttpResponse::Created(),
            false => HttpResponse::Ok(),
        };
        if created {
            response.insert_header((LOCATION, format!("/api/v1/webhooks/{}", body.id)));
        }
        if body.secret.is_some() {
            response.insert_header(CacheControl(vec![CacheDirective::NoStore]));
        }
        response.json(body)
    }
}

/// One event's delivery to a webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryBody {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub id: DeliveryId,
    /// The event's id: the `webhook-id` header of every attempt.
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub event_id: EventId,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    #[schema(example = "delivered")]
    pub state: String,
    pub attempts: Vec<AttemptBody>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One post of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptBody {
    pub at: DateTime<Utc>,
    /// The receiver's status code; `null` when it did not answer.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl From<DeliveryAttempt> for AttemptBody {
    fn from(attempt: DeliveryAttempt) -> Self {
        Self {
            at: attempt.at,
            status: attempt.status,
            error: attempt.error,
            duration_ms: attempt.duration_ms,
        }
    }
}

impl From<WebhookDelivery> for DeliveryBody {
    fn from(delivery: WebhookDelivery) -> Self {
        Self {
            id: delivery.id,
            event_id: delivery.event_id,
            event_type: delivery.event_type,
            state: delivery.state.as_str().to_owned(),
            attempts: delivery.attempts.into_iter().map(Into::into).collect(),
            created_at: delivery.created_at,
            updated_at: delivery.updated_at,
        }
    }
}
