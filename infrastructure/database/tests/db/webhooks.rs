//! Outgoing webhooks on both engines: the secret sealed at rest and resealed by a rotation; deliveries queued in their lanes, in order; attempts recorded, failures counted until the webhook is disabled; a settled delivery requeued.

use crate::support::{count, new_bot, now, sealer, text, MASTER_KEY, OTHER_MASTER_KEY};
use application::ports::{JobPayload, JobQueue, Requeued, WebhookDeliveries};
use database::testing::fresh_databases;
use database::SeaStore;
use domain::repositories::WebhookRepository;
use domain::{
    BotId, ConversationId, DeliveryAttempt, DeliveryId, DeliveryState, EventId, EventSelection,
    PageRequest, Secret, Webhook, WebhookDelivery, WebhookDraft, WebhookUrl,
};
use std::time::Duration;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn new_webhook(store: &SeaStore) -> Webhook {
    let draft = WebhookDraft {
        url: WebhookUrl::parse("https://hooks.example.com/in").unwrap(),
        events: EventSelection::All,
        bot_ids: Some(vec![BotId::new()]),
        secret: Secret::new(SECRET),
    };
    let webhook = Webhook::create(draft, now());
    WebhookRepository::insert(store, &webhook).await.unwrap();
    webhook
}

fn pending(
    webhook: &Webhook,
    (bot_id, conversation_id): (BotId, ConversationId),
    kind: &str,
) -> WebhookDelivery {
    WebhookDelivery {
        id: DeliveryId::new(),
        webhook_id: webhook.id,
        event_id: EventId::new(),
        event_type: kind.into(),
        bot_id,
        conversation_id,
        body: format!("{{\"type\":\"{kind}\"}}"),
        state: DeliveryState::Pending,
        attempts: Vec::new(),
        created_at: now(),
        updated_at: now(),
    }
}

fn failed(status: u16) -> DeliveryAttempt {
    DeliveryAttempt {
        at: now(),
        status: Some(status),
        error: Some(format!("answered {status}")),
        duration_ms: 3,
    }
}

#[tokio::test]
async fn a_webhooks_secret_is_sealed_at_rest_and_resealed_by_a_rotation() {
    for db in fresh_databases().await {
        let old = db.store().await.sealed_with(Some(sealer(OTHER_MASTER_KEY)));
        let webhook = new_webhook(&old).await;
        let sql = format!("SELECT secret FROM webhooks WHERE id = '{}'", webhook.id);
        let stored = text(&old, &sql).await.unwrap();
        assert!(
            stored.starts_with("sealed:v1:") && !stored.contains("MfKQ9r8"),
            "{stored}"
        );
        let read = WebhookRepository::get(&old, webhook.id).await.unwrap();
        assert_eq!(read.as_ref(), Some(&webhook), "{}", db.backend());

        let rotating = sealer(MASTER_KEY).opening_also(&sealer(OTHER_MASTER_KEY));
        let rotating = db.store().await.sealed_with(Some(rotating));
        let resealed = rotating.reseal_all().await.unwrap();
        assert_eq!((resealed.webhook_secrets, resealed.unchanged), (1, 0));
        let new = db.store().await.sealed_with(Some(sealer(MASTER_KEY)));
        let read = WebhookRepository::get(&new, webhook.id).await.unwrap();
        assert_eq!(read.unwrap().secret.expose(), SECRET);
        assert!(WebhookRepository::get(&old, webhook.id).await.is_err());
    }
}

#[tokio::test]
async fn deliveries_run_in_order_per_conversation_and_failures_disable_the_webhook() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let webhook = new_webhook(&store).await;
        let bot = new_bot(&store, "Ada").await.id;
        let (one, two) = ((bot, ConversationId::new()), (bot, ConversationId::new()));
        let queued = [
            pending(&webhook, one, "conversation.started"),
            pending(&webhook, one, "message.received"),
            pending(&webhook, two, "conversation.started"),
        ];
        store.enqueue(&queued).await.unwrap();
        // One job per conversation can run: the second of `one` waits for the first.
        let claimed = store
            .claim(now(), Duration::from_secs(30), 10)
            .await
            .unwrap();
        let delivering: Vec<_> = (claimed.iter()).map(|job| job.payload.clone()).collect();
        let head = |d: &WebhookDelivery| JobPayload::Webhook { delivery_id: d.id };
        assert_eq!(
            delivering,
            [head(&queued[0]), head(&queued[2])],
            "{}",
            db.backend()
        );

        let (found, owner) = store.pending(queued[0].id).await.unwrap().unwrap();
        assert_eq!(
            (found.body.as_str(), owner.id),
            (queued[0].body.as_str(), webhook.id)
        );
        let disabled = store
            .record(&queued[0], &failed(500), DeliveryState::Pending, 2)
            .await
            .unwrap();
        assert!(!disabled);
        let disabled = store
            .record(&queued[2], &failed(502), DeliveryState::Pending, 2)
            .await
            .unwrap();
        assert!(disabled, "two failures in a row reach the threshold");
        let read = WebhookRepository::get(&store, webhook.id)
            .await
            .unwrap()
            .unwrap();
        let reason = read.disabled.unwrap().reason;
        assert!(
            reason.contains("failed 2 times in a row") && reason.contains("502"),
            "{reason}"
        );
        assert!(WebhookRepository::enabled(&store).await.unwrap().is_empty());

        let first = PageRequest::default();
        let page = WebhookDeliveries::list(&store, webhook.id, &first);
        let page = page.await.unwrap();
        let states: Vec<_> = page
            .items
            .iter()
            .map(|d| (d.state, d.attempts.len()))
            .collect();
        assert_eq!(
            states,
            [
                (DeliveryState::Failed, 1),
                (DeliveryState::Pending, 0),
                (DeliveryState::Pending, 1),
            ],
            "newest first; the one whose failure disabled the webhook failed"
        );
        assert_eq!(page.items[2].attempts[0].status, Some(500));

        let again = store
            .requeue(webhook.id, queued[2].id, now())
            .await
            .unwrap();
        assert!(matches!(again, Requeued::Queued(ref d) if d.state == DeliveryState::Pending));
        let still = store
            .requeue(webhook.id, queued[2].id, now())
            .await
            .unwrap();
        assert_eq!(still, Requeued::StillPending);
        let other = store
            .requeue(webhook.id, DeliveryId::new(), now())
            .await
            .unwrap();
        assert_eq!(other, Requeued::Missing);

        // An event of a bot deleted meanwhile is queued all the same (its job names no bot).
        let orphan = pending(&webhook, (BotId::new(), one.1), "conversation.ended");
        store.enqueue(&[orphan]).await.unwrap();

        assert!(WebhookRepository::delete(&store, webhook.id).await.unwrap());
        let left = count(&store, "SELECT COUNT(*) FROM webhook_attempts").await;
        assert_eq!(left, 0, "attempts go with their webhook");
    }
}

#[tokio::test]
async fn a_later_batch_waits_behind_the_head_its_lane_already_has() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let webhook = new_webhook(&store).await;
        let bot = new_bot(&store, "Ada").await.id;
        let (one, two) = ((bot, ConversationId::new()), (bot, ConversationId::new()));
        let first = pending(&webhook, one, "conversation.started");
        store.enqueue(std::slice::from_ref(&first)).await.unwrap();
        let later = [
            pending(&webhook, two, "conversation.started"),
            pending(&webhook, one, "message.received"),
        ];
        store.enqueue(&later).await.unwrap();

        let claimed = store
            .claim(now(), Duration::from_secs(30), 10)
            .await
            .unwrap();
        let mut delivering: Vec<_> = (claimed.iter()).map(|job| job.payload.clone()).collect();
        let head = |d: &WebhookDelivery| JobPayload::Webhook { delivery_id: d.id };
        let mut heads = vec![head(&first), head(&later[0])];
        let key = |payload: &JobPayload| format!("{payload:?}");
        delivering.sort_by_key(key);
        heads.sort_by_key(key);
        assert_eq!(delivering, heads, "{}", db.backend());
    }
}
