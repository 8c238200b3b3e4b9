//! Conversations: newest-first listing with filters and cursors, and ending.

use crate::support::{at, new_bot, receive};
use application::ports::Recorded;
use database::testing::fresh_databases;
use database::SeaStore;
use domain::repositories::{ConversationFilter, ConversationRepository};
use domain::{BotId, ConversationId, ConversationStatus, PageRequest, PlatformKind};

async fn start(store: &SeaStore, bot: BotId, chat: &str) -> ConversationId {
    match receive(store, bot, chat, &format!("{chat}-1")).await {
        Recorded::New {
            conversation_id, ..
        } => conversation_id,
        Recorded::Duplicate => unreachable!(),
    }
}

async fn all_pages(
    store: &SeaStore,
    filter: &ConversationFilter,
    limit: u32,
) -> Vec<ConversationId> {
    let mut ids = Vec::new();
    let mut request = PageRequest::new(None, Some(limit));
    loop {
        let page = store.list(filter, &request).await.unwrap();
        ids.extend(page.items.iter().map(|c| c.id));
        let Some(cursor) = page.next_cursor else {
            return ids;
        };
        request = PageRequest::new(Some(cursor), Some(limit));
    }
}

#[tokio::test]
async fn conversations_are_listed_newest_first_with_filters() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let ada = new_bot(&store, "Ada").await.id;
        let bob = new_bot(&store, "Bob").await.id;
        let a1 = start(&store, ada, "a1").await;
        let b1 = start(&store, bob, "b1").await;
        let a2 = start(&store, ada, "a2").await;
        let a3 = start(&store, ada, "a3").await;

        let everything = ConversationFilter::default();
        assert_eq!(
            all_pages(&store, &everything, 3).await,
            vec![a3, a2, b1, a1]
        );
        let of_ada = ConversationFilter {
            bot_id: Some(ada),
            ..Default::default()
        };
        assert_eq!(
            all_pages(&store, &of_ada, 2).await,
            vec![a3, a2, a1],
            "{}",
            db.backend()
        );

        store.end(a2, at(60)).await.unwrap();
        let ended = ConversationFilter {
            status: Some(ConversationStatus::Ended),
            platform: Some(PlatformKind::Telegram),
            ..Default::default()
        };
        assert_eq!(all_pages(&store, &ended, 10).await, vec![a2]);
        let on_discord = ConversationFilter {
            platform: Some(PlatformKind::Discord),
            ..Default::default()
        };
        assert!(all_pages(&store, &on_discord, 10).await.is_empty());
    }
}

#[tokio::test]
async fn ending_is_idempotent() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let id = start(&store, bot, "chat").await;
        let active = store.get(id).await.unwrap().unwrap();
        assert!(active.is_active());
        assert_eq!(active.external_chat_id.as_str(), "chat");

        let ended = store.end(id, at(60)).await.unwrap().unwrap();
        assert_eq!(ended.status, ConversationStatus::Ended, "{}", db.backend());
        assert_eq!(ended.updated_at, at(60));
        let again = store.end(id, at(90)).await.unwrap().unwrap();
        assert_eq!(again.updated_at, at(60), "ending twice keeps the first end");
        assert_eq!(
            store.end(ConversationId::new(), at(60)).await.unwrap(),
            None
        );
    }
}
