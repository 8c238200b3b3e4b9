//! Conversations: newest-first listing with filters (time windows too) and cursors, and ending.

use crate::support::RecordOne;
use crate::support::{at, new_bot, receive, record};
use application::ports::Recorded;
use database::testing::fresh_databases;
use database::SeaStore;
use domain::repositories::{ConversationFilter, ConversationRepository};
use domain::{
    BotId, ConversationId, ConversationStatus, Cursor, ExternalChatId, PageRequest, PlatformKind,
};

async fn start(store: &SeaStore, bot: BotId, chat: &str) -> ConversationId {
    match receive(store, bot, chat, &format!("{chat}-1")).await {
        Recorded::New {
            conversation_id, ..
        } => conversation_id,
        Recorded::Duplicate => unreachable!(),
    }
}

/// Starts a conversation in `chat` created at `at(secs)`.
async fn start_at(store: &SeaStore, bot: BotId, chat: &str, secs: i64) -> ConversationId {
    let recorded = store
        .record_inbound(&record(bot, chat, &format!("{chat}-1"), secs))
        .await
        .unwrap();
    match recorded {
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
    pages_after(store, filter, limit, None).await
}

/// Every id listed after `cursor`, read `limit` at a time.
async fn pages_after(
    store: &SeaStore,
    filter: &ConversationFilter,
    limit: u32,
    cursor: Option<Cursor>,
) -> Vec<ConversationId> {
    let mut ids = Vec::new();
    let mut request = PageRequest::new(cursor, Some(limit));
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

#[tokio::test]
async fn a_chat_s_active_conversation_is_found_until_it_ends() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let chat = ExternalChatId::parse("visitor").unwrap();
        let find = || store.find_active(bot, PlatformKind::Telegram, &chat);
        assert_eq!(find().await.unwrap(), None, "{}", db.backend());
        let id = start(&store, bot, "visitor").await;
        start(&store, bot, "someone-else").await;
        assert_eq!(find().await.unwrap().map(|c| c.id), Some(id));
        let other_platform = store
            .find_active(bot, PlatformKind::WebChat, &chat)
            .await
            .unwrap();
        assert_eq!(other_platform, None);
        store.end(id, at(60)).await.unwrap();
        assert_eq!(
            find().await.unwrap(),
            None,
            "an ended conversation is not active"
        );
    }
}

/// A window of creation times: at or after `from`, before `until` (in seconds from `at(0)`).
fn created(from: i64, until: i64) -> ConversationFilter {
    ConversationFilter {
        created_after: Some(at(from)),
        created_before: Some(at(until)),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_time_window_pages_stably_while_conversations_arrive() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let mut ids = Vec::new();
        for n in 0..10 {
            ids.push(start_at(&store, bot, &format!("c{n}"), n * 10).await);
        }
        let window = created(20, 70);
        let first = store
            .list(&window, &PageRequest::new(None, Some(2)))
            .await
            .unwrap();
        let first_ids: Vec<_> = first.items.iter().map(|c| c.id).collect();
        assert_eq!(first_ids, [ids[6], ids[5]], "{}", db.backend());

        // Newer conversations arrive between two pages, inside and outside the window.
        let late_inside = start_at(&store, bot, "late-in", 30).await;
        start_at(&store, bot, "late-out", 80).await;
        let rest = pages_after(&store, &window, 2, first.next_cursor).await;
        assert_eq!(rest, [ids[4], ids[3], ids[2]], "no skip, no repeat");

        let fresh = all_pages(&store, &window, 2).await;
        assert_eq!(fresh, [late_inside, ids[6], ids[5], ids[4], ids[3], ids[2]]);
    }
}

#[tokio::test]
async fn a_time_window_includes_its_start_excludes_its_end_and_combines() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let ada = new_bot(&store, "Ada").await.id;
        let bob = new_bot(&store, "Bob").await.id;
        let early = start_at(&store, ada, "early", 10).await;
        let edge = start_at(&store, ada, "edge", 20).await;
        let of_bob = start_at(&store, bob, "bob", 20).await;
        start_at(&store, ada, "late", 30).await;

        assert_eq!(
            all_pages(&store, &created(20, 30), 10).await,
            [of_bob, edge],
            "{}",
            db.backend()
        );
        let ada_until_edge = ConversationFilter {
            bot_id: Some(ada),
            created_before: Some(at(20)),
            ..Default::default()
        };
        assert_eq!(all_pages(&store, &ada_until_edge, 10).await, [early]);
        let from_edge = ConversationFilter {
            bot_id: Some(ada),
            created_after: Some(at(20)),
            ..Default::default()
        };
        assert_eq!(all_pages(&store, &from_edge, 10).await.len(), 2);
        assert!(all_pages(&store, &created(20, 20), 10).await.is_empty());
    }
}
