//! Erasure: every conversation of one user's chat with a bot, with its messages, jobs, events and broadcast places, removed in one transaction; nothing of anyone else's.

use crate::broadcasts::{broadcast, deliveries};
use crate::support::{count, new_bot, receive, record, RecordOne};
use application::ports::{Broadcasts, Erased, Erasure};
use database::testing::fresh_databases;
use domain::repositories::ConversationRepository;
use domain::{ExternalChatId, PlatformKind};

#[tokio::test]
async fn a_users_chat_goes_whole_and_only_theirs() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let (ada, bob) = (
            new_bot(&store, "Ada").await.id,
            new_bot(&store, "Bob").await.id,
        );
        let first = receive(&store, ada, "4242", "m1").await;
        let application::ports::Recorded::New {
            conversation_id, ..
        } = first
        else {
            panic!("stored")
        };
        store
            .end(conversation_id, crate::support::at(2))
            .await
            .unwrap();
        store
            .record_inbound(&record(ada, "4242", "m2", 3))
            .await
            .unwrap();
        receive(&store, ada, "other", "m3").await;
        receive(&store, bob, "4242", "m4").await;
        let sale = broadcast(ada, 2, 4);
        let to = deliveries(ada, &["4242", "other"], 4);
        store.start_broadcast(&sale, &to).await.unwrap();
        let chat = ExternalChatId::parse("4242").unwrap();

        let erased = store
            .erase_chat(ada, PlatformKind::Telegram, &chat)
            .await
            .unwrap();

        let expected = Erased {
            conversations: 2,
            messages: 3,
            attachments: 0,
        };
        assert_eq!(erased, expected, "{}", db.backend());
        let left = |table: &str| format!("SELECT COUNT(*) FROM {table}");
        assert_eq!(
            count(&store, &left("messages")).await,
            3,
            "m3, m4 and other's sale stay"
        );
        assert_eq!(count(&store, &left("conversations")).await, 2);
        assert_eq!(
            count(&store, &left("jobs")).await,
            3,
            "the others' jobs stay"
        );
        assert_eq!(count(&store, &left("broadcast_messages")).await, 1);
        let (_, progress) = store.broadcast(ada, sale.id).await.unwrap().unwrap();
        assert_eq!(
            progress.queued, 1,
            "the erased user's message is gone from it"
        );
        let none = Erased::default();
        let again = store.erase_chat(ada, PlatformKind::Telegram, &chat).await;
        assert_eq!(again.unwrap(), none, "nothing left the second time");
        let elsewhere = store.erase_chat(ada, PlatformKind::Whatsapp, &chat).await;
        assert_eq!(
            elsewhere.unwrap(),
            none,
            "another platform's chat is another chat"
        );
    }
}
