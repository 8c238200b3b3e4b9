//! Broadcasts: every recipient's message queued in one transaction, progress counted by status, the unsent rest cancelled.

use crate::support::{at, claim_at, count, exec, new_bot, receive};
use application::ports::{Broadcasts, Delivery, JobPayload, JobQueue, Ledger};
use database::testing::fresh_databases;
use database::SeaStore;
use domain::repositories::MessageRepository;
use domain::{
    BotId, Broadcast, BroadcastId, BroadcastProgress, BroadcastState, Conversation, ExternalChatId,
    Message, MessageContent, MessageStatus, PlatformKind,
};

pub(crate) fn broadcast(bot_id: BotId, total: u32, secs: i64) -> Broadcast {
    Broadcast {
        id: BroadcastId::new(),
        bot_id,
        platform: PlatformKind::Telegram,
        content: MessageContent::Text {
            text: "Sale today".into(),
        },
        total,
        created_at: at(secs),
        cancelled_at: None,
    }
}

pub(crate) fn deliveries(bot_id: BotId, chats: &[&str], secs: i64) -> Vec<Delivery> {
    chats
        .iter()
        .map(|chat| {
            let chat = ExternalChatId::parse(*chat).unwrap();
            let conversation = Conversation::start(bot_id, PlatformKind::Telegram, chat, at(secs));
            let message = Message::operator(&conversation, "Sale today", at(secs));
            Delivery {
                conversation,
                message,
            }
        })
        .collect()
}

async fn progress_of(
    store: &SeaStore,
    broadcast: &Broadcast,
) -> (BroadcastProgress, BroadcastState) {
    let (read, progress) = store
        .broadcast(broadcast.bot_id, broadcast.id)
        .await
        .unwrap()
        .expect("the broadcast is there");
    (progress, read.state(&progress))
}

#[tokio::test]
async fn a_broadcast_is_queued_whole_counted_by_status_and_its_unsent_rest_cancelled() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        receive(&store, bot, "a", "m1").await;
        let asked = broadcast(bot, 3, 5);
        let stored = store
            .start_broadcast(&asked, &deliveries(bot, &["a", "b", "c"], 5))
            .await
            .unwrap();
        assert_eq!(stored.len(), 3, "{}", db.backend());
        let conversations = "SELECT COUNT(*) FROM conversations";
        assert_eq!(
            count(&store, conversations).await,
            3,
            "a's active one reused"
        );
        let queued = BroadcastProgress {
            queued: 3,
            ..Default::default()
        };
        assert_eq!(
            progress_of(&store, &asked).await,
            (queued, BroadcastState::Sending)
        );

        // a's reply job first (its lane's head), then the deliveries.
        let reply = claim_at(&store, 6).await.unwrap();
        assert!(matches!(reply.payload, JobPayload::Reply { .. }));
        assert!(store.complete(&reply).await.unwrap());
        let job = claim_at(&store, 7).await.unwrap();
        let JobPayload::Deliver { message_id, .. } = job.payload else {
            panic!("a delivery, got {:?}", job.payload);
        };
        assert!(store.finish_delivery(&job, message_id, None).await.unwrap());
        // Another is going out when the cancellation comes; the third was refused.
        let going = claim_at(&store, 8).await.unwrap();
        let JobPayload::Deliver {
            message_id: going_id,
            ..
        } = going.payload
        else {
            panic!("a delivery, got {:?}", going.payload);
        };
        let refused = stored
            .iter()
            .find(|m| m.id != message_id && m.id != going_id)
            .unwrap()
            .id;
        exec(
            &store,
            &format!("UPDATE messages SET status = 'failed', error = 'chat not found' WHERE id = '{refused}'"),
        )
        .await;
        let midway = BroadcastProgress {
            queued: 1,
            sent: 1,
            failed: 1,
            cancelled: 0,
        };
        assert_eq!(progress_of(&store, &asked).await.0, midway);

        let (cancelled, progress) = store
            .cancel_broadcast(bot, asked.id, at(8))
            .await
            .unwrap()
            .unwrap();
        let after = BroadcastProgress {
            queued: 0,
            cancelled: 1,
            ..midway
        };
        assert_eq!((progress, cancelled.cancelled_at), (after, Some(at(8))));
        assert_eq!(cancelled.state(&progress), BroadcastState::Cancelled);
        let stopped = MessageRepository::get(&store, going_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stopped.status, MessageStatus::Failed);
        assert_eq!(stopped.error.as_deref(), Some(Broadcast::CANCELLED));
        assert!(store.finish_delivery(&going, going_id, None).await.unwrap());
        let went = BroadcastProgress {
            sent: 2,
            cancelled: 0,
            ..after
        };
        assert_eq!(
            progress_of(&store, &asked).await,
            (went, BroadcastState::Cancelled),
            "it went all the same"
        );

        let again = store.cancel_broadcast(bot, asked.id, at(9)).await.unwrap();
        assert_eq!(again.unwrap().0.cancelled_at, Some(at(8)), "cancelled once");
        let stranger = BotId::new();
        assert_eq!(store.broadcast(stranger, asked.id).await.unwrap(), None);
        let astray = store.cancel_broadcast(stranger, asked.id, at(9)).await;
        assert_eq!(astray.unwrap(), None);
    }
}

#[tokio::test]
async fn a_broadcast_with_nothing_queued_is_not_cancelled() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let done = broadcast(bot, 1, 5);
        store
            .start_broadcast(&done, &deliveries(bot, &["z"], 5))
            .await
            .unwrap();
        exec(&store, "UPDATE messages SET status = 'sent'").await;

        let (read, progress) = store
            .cancel_broadcast(bot, done.id, at(6))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.cancelled_at, None, "{}", db.backend());
        assert_eq!(read.state(&progress), BroadcastState::Completed);
        assert_eq!(read.content, done.content);
    }
}
