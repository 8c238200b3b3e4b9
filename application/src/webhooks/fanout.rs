//! The fan-out: each batch of announced events matched against the enabled webhooks, and every match stored as a pending delivery with its job, in one write.

use crate::ports::WebhookDeliveries;
use chrono::SecondsFormat;
use domain::repositories::{MessageRepository, WebhookRepository};
use domain::{DeliveryId, DeliveryState, Message, MessageId, PublishedEvent, RepoError};
use domain::{DomainEvent, Webhook, WebhookDelivery};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub struct WebhookFanout {
    webhooks: Arc<dyn WebhookRepository>,
    messages: Arc<dyn MessageRepository>,
    deliveries: Arc<dyn WebhookDeliveries>,
}

impl WebhookFanout {
    pub fn new(
        webhooks: Arc<dyn WebhookRepository>,
        messages: Arc<dyn MessageRepository>,
        deliveries: Arc<dyn WebhookDeliveries>,
    ) -> Self {
        Self {
            webhooks,
            messages,
            deliveries,
        }
    }

    /// Queues a delivery of each event to each webhook that wants it; answers how many. With
    /// no webhook this is one small read.
    pub async fn fan_out(&self, events: &[PublishedEvent]) -> Result<usize, RepoError> {
        if events.iter().all(|e| e.event.public_name().is_none()) {
            return Ok(0);
        }
        let webhooks = self.webhooks.enabled().await?;
        let matches: Vec<(&Webhook, &PublishedEvent)> = (events.iter())
            .flat_map(|event| {
                let wanting = webhooks.iter().filter(|w| w.wants(&event.event));
                wanting.map(move |webhook| (webhook, event))
            })
            .collect();
        if matches.is_empty() {
            return Ok(0);
        }
        let messages = self
            .messages_of(matches.iter().map(|(_, event)| *event))
            .await?;
        let deliveries: Vec<WebhookDelivery> = (matches.into_iter())
            .map(|(webhook, event)| delivery(webhook, event, &messages))
            .collect::<Result<_, _>>()?;
        self.deliveries.enqueue(&deliveries).await?;
        Ok(deliveries.len())
    }

    /// The messages the events name, read once.
    async fn messages_of(
        &self,
        events: impl Iterator<Item = &PublishedEvent>,
    ) -> Result<HashMap<MessageId, Message>, RepoError> {
        let mut ids: Vec<MessageId> = events.filter_map(|e| message_id(&e.event)).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let found = self.messages.get_many(&ids).await?;
        Ok(found.into_iter().map(|m| (m.id, m)).collect())
    }
}

fn message_id(event: &DomainEvent) -> Option<MessageId> {
    match event {
        DomainEvent::MessageReceived { message_id, .. }
        | DomainEvent::ReplyStarted { message_id, .. }
        | DomainEvent::MessageDelivered { message_id, .. }
        | DomainEvent::DeliveryFailed { message_id, .. }
        | DomainEvent::MessageRateLimited { message_id, .. } => Some(*message_id),
        _ => None,
    }
}

/// The JSON posted for `published`: `id`, `type`, `created_at` and `data` — the event's ids
/// and figures and, when it names a message, that message's platform, direction and text.
pub fn body(published: &PublishedEvent, message: Option<&Message>) -> Result<String, RepoError> {
    let event = &published.event;
    let mut data = match serde_json::to_value(event) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    data.remove("type");
    if let Some(message) = message {
        data.insert("platform".into(), json!(message.platform.as_str()));
        data.insert("direction".into(), json!(message.direction.as_str()));
        data.insert("text".into(), json!(message.content.summary()));
    }
    let body = json!({
        "id": published.id.to_string(),
        "type": event.public_name(),
        "created_at": published.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    });
    serde_json::to_string(&body).map_err(|e| RepoError::Other(format!("event body: {e}")))
}

fn delivery(
    webhook: &Webhook,
    published: &PublishedEvent,
    messages: &HashMap<MessageId, Message>,
) -> Result<WebhookDelivery, RepoError> {
    let event = &published.event;
    let message = message_id(event).and_then(|id| messages.get(&id));
    Ok(WebhookDelivery {
        id: DeliveryId::new(),
        webhook_id: webhook.id,
        event_id: published.id,
        event_type: event.public_name().unwrap_or_default().to_owned(),
        bot_id: event.bot_id(),
        conversation_id: event.conversation_id(),
        body: body(published, message)?,
        state: DeliveryState::Pending,
        attempts: Vec::new(),
        created_at: published.at,
        updated_at: published.at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::now;
    use crate::ports::MockWebhookDeliveries;
    use domain::repositories::{MockMessageRepository, MockWebhookRepository};
    use domain::{
        BotId, ConversationId, EventId, EventSelection, ExternalMessageId, MessageContent,
        PlatformKind, Secret, WebhookDraft, WebhookUrl,
    };

    fn webhook(events: &[&str]) -> Webhook {
        let names: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
        let draft = WebhookDraft {
            url: WebhookUrl::parse("https://example.com/in").unwrap(),
            events: EventSelection::parse(&names).unwrap(),
            bot_ids: None,
            secret: Secret::new("whsec_x"),
        };
        Webhook::create(draft, now())
    }

    fn published(event: DomainEvent) -> PublishedEvent {
        PublishedEvent {
            id: EventId::new(),
            at: now(),
            event,
        }
    }

    #[tokio::test]
    async fn each_event_goes_to_each_webhook_that_wants_it_with_its_messages_text() {
        let (bot_id, conversation_id) = (BotId::new(), ConversationId::new());
        let inbound = Message::inbound(
            conversation_id,
            bot_id,
            PlatformKind::WebChat,
            ExternalMessageId::parse("m1").unwrap(),
            MessageContent::text("hello"),
            now(),
        );
        let message_id = inbound.id;
        let received = published(DomainEvent::MessageReceived {
            bot_id,
            conversation_id,
            message_id,
            platform: PlatformKind::WebChat,
        });
        let ended = published(DomainEvent::ConversationEnded {
            bot_id,
            conversation_id,
        });
        let (all, ends) = (webhook(&["*"]), webhook(&["conversation.ended"]));
        let mut webhooks = MockWebhookRepository::new();
        let enabled = vec![all.clone(), ends.clone()];
        webhooks
            .expect_enabled()
            .returning(move || Ok(enabled.clone()));
        let mut messages = MockMessageRepository::new();
        messages
            .expect_get_many()
            .withf(move |ids| ids == [message_id])
            .returning(move |_| Ok(vec![inbound.clone()]));
        let mut deliveries = MockWebhookDeliveries::new();
        let (all_id, ends_id) = (all.id, ends.id);
        deliveries
            .expect_enqueue()
            .withf(move |queued| {
                let sent: Vec<_> = queued
                    .iter()
                    .map(|d| (d.webhook_id, d.event_type.as_str()))
                    .collect();
                sent == [
                    (all_id, "message.received"),
                    (all_id, "conversation.ended"),
                    (ends_id, "conversation.ended"),
                ]
            })
            .returning(|_| Ok(()));
        let fanout =
            WebhookFanout::new(Arc::new(webhooks), Arc::new(messages), Arc::new(deliveries));
        let queued = fanout.fan_out(&[received.clone(), ended]).await.unwrap();
        assert_eq!(queued, 3);

        let posted: Value = serde_json::from_str(&body(&received, None).unwrap()).unwrap();
        assert_eq!(posted["type"], "message.received");
        assert_eq!(posted["id"], received.id.to_string());
        assert_eq!(posted["data"]["message_id"], message_id.to_string());
        assert!(posted["data"].get("type").is_none());
    }

    #[tokio::test]
    async fn with_no_webhook_wanting_them_nothing_is_read_or_queued() {
        let mut webhooks = MockWebhookRepository::new();
        webhooks
            .expect_enabled()
            .returning(|| Ok(vec![webhook(&["conversation.handoff"])]));
        let fanout = WebhookFanout::new(
            Arc::new(webhooks),
            Arc::new(MockMessageRepository::new()),
            Arc::new(MockWebhookDeliveries::new()),
        );
        let ended = published(DomainEvent::ConversationEnded {
            bot_id: BotId::new(),
            conversation_id: ConversationId::new(),
        });
        assert_eq!(fanout.fan_out(&[ended]).await.unwrap(), 0);
    }
}
