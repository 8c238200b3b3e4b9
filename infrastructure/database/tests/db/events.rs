//! The event log: appended once per id, public events only, read back after a cursor in id
//! order within a scope and a limit, and pruned by age.

use crate::support::{at, count, exec, text};
use application::ports::{EventLog, EventScope};
use database::testing::fresh_databases;
use database::SeaStore;
use domain::{BotId, ConversationId, DomainEvent, EventId, MessageId, PublishedEvent, RepoError};

/// A fixed event id that sorts by `n` (lowercase hex: `…09` before `…0a`).
fn id(n: u32) -> EventId {
    format!("0190a1b2-c3d4-7e5f-8a9b-{n:012x}").parse().unwrap()
}

fn event(n: u32, secs: i64, event: DomainEvent) -> PublishedEvent {
    PublishedEvent {
        id: id(n),
        at: at(secs),
        event,
    }
}

fn received(bot_id: BotId, conversation_id: ConversationId) -> DomainEvent {
    DomainEvent::MessageReceived {
        bot_id,
        conversation_id,
        message_id: MessageId::new(),
        platform: domain::PlatformKind::Telegram,
    }
}

/// `count` events of one bot and conversation, numbered 1 to `count`, a second apart.
fn a_chats_events(count: u32) -> Vec<PublishedEvent> {
    let (bot, chat) = (BotId::new(), ConversationId::new());
    (1..=count)
        .map(|n| event(n, n.into(), received(bot, chat)))
        .collect()
}

/// The ids of the events after `after` that `scope` covers, at most `limit`.
async fn ids_after(store: &SeaStore, after: u32, scope: &EventScope, limit: u64) -> Vec<EventId> {
    let events = store.after(id(after), scope, limit).await.unwrap();
    events.into_iter().map(|event| event.id).collect()
}

fn ids(numbers: &[u32]) -> Vec<EventId> {
    numbers.iter().copied().map(id).collect()
}

fn bots(bots: &[BotId]) -> EventScope {
    EventScope {
        bots: bots.to_vec(),
        ..Default::default()
    }
}

#[tokio::test]
async fn events_are_read_after_a_cursor_in_id_order_within_the_scope() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let (a, b) = (BotId::new(), BotId::new());
        let (a1, b2, b3) = (
            ConversationId::new(),
            ConversationId::new(),
            ConversationId::new(),
        );
        let handoff = |conversation_id| DomainEvent::ConversationHandedOff {
            bot_id: b,
            conversation_id,
        };
        let released = |conversation_id| DomainEvent::ConversationReleased {
            bot_id: b,
            conversation_id,
        };
        let ended = |conversation_id| DomainEvent::ConversationEnded {
            bot_id: a,
            conversation_id,
        };
        let started = |conversation_id| DomainEvent::ReplyStarted {
            bot_id: b,
            conversation_id,
            message_id: MessageId::new(),
        };
        // Appended out of order: they are read in id order.
        let all = [
            event(10, 10, ended(a1)),
            event(2, 2, handoff(b2)),
            event(11, 11, started(b3)),
            event(1, 1, received(a, a1)),
            event(9, 9, released(b2)),
            event(3, 3, received(b, b3)),
        ];
        store.append(&all).await.unwrap();

        let backend = db.backend();
        assert_eq!(
            ids_after(&store, 0, &bots(&[a]), 10).await,
            ids(&[1, 10]),
            "{backend}"
        );
        let chat = EventScope {
            conversations: vec![b3],
            ..Default::default()
        };
        assert_eq!(ids_after(&store, 0, &chat, 10).await, ids(&[3, 11]));
        let handoffs = EventScope {
            handoffs: true,
            ..Default::default()
        };
        assert_eq!(ids_after(&store, 0, &handoffs, 10).await, ids(&[2, 9]));
        let mixed = EventScope {
            bots: vec![a],
            conversations: vec![b3],
            handoffs: true,
        };
        let every = ids(&[1, 2, 3, 9, 10, 11]);
        assert_eq!(ids_after(&store, 0, &mixed, 10).await, every);
        assert_eq!(ids_after(&store, 2, &mixed, 10).await, ids(&[3, 9, 10, 11]));
        assert_eq!(ids_after(&store, 0, &bots(&[a, b]), 10).await, every);
        let none = ids_after(&store, 0, &EventScope::default(), 10).await;
        assert!(none.is_empty(), "an empty scope covers nothing");
        assert!(ids_after(&store, 0, &bots(&[BotId::new()]), 10)
            .await
            .is_empty());

        let read = store.after(id(9), &mixed, 10).await.unwrap();
        assert_eq!(read, [all[0].clone(), all[2].clone()], "read back whole");
    }
}

#[tokio::test]
async fn after_reads_at_most_the_limit_and_never_the_cursor_itself() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let events = a_chats_events(5);
        let scope = bots(&[events[0].event.bot_id()]);
        store.append(&events).await.unwrap();

        let backend = db.backend();
        assert_eq!(
            ids_after(&store, 0, &scope, 2).await,
            ids(&[1, 2]),
            "{backend}"
        );
        assert_eq!(ids_after(&store, 2, &scope, 2).await, ids(&[3, 4]));
        assert_eq!(ids_after(&store, 4, &scope, 2).await, ids(&[5]));
        assert!(ids_after(&store, 5, &scope, 2).await.is_empty());
        assert!(ids_after(&store, 0, &scope, 0).await.is_empty());
        let unbounded = ids_after(&store, 0, &scope, u64::MAX).await;
        assert_eq!(unbounded, ids(&[1, 2, 3, 4, 5]));
    }
}

#[tokio::test]
async fn fresh_ids_are_read_in_the_order_they_were_made() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let (bot, chat) = (BotId::new(), ConversationId::new());
        let made: Vec<PublishedEvent> = (0..300)
            .map(|_| PublishedEvent {
                id: EventId::new(),
                at: at(0),
                event: received(bot, chat),
            })
            .collect();
        let reversed: Vec<PublishedEvent> = made.iter().rev().cloned().collect();
        store.append(&reversed).await.unwrap();

        let first: EventId = "00000000-0000-0000-0000-000000000000".parse().unwrap();
        let read = store.after(first, &bots(&[bot]), 1000).await.unwrap();
        assert_eq!(read, made, "{}", db.backend());
    }
}

#[tokio::test]
async fn an_id_appended_twice_is_stored_once_as_first_appended() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let events = a_chats_events(3);
        let scope = bots(&[events[0].event.bot_id()]);
        store.append(&events[..1]).await.unwrap();
        let mut changed = events[0].clone();
        changed.at = at(60);
        store.append(&[changed, events[1].clone()]).await.unwrap();
        store
            .append(&[events[2].clone(), events[2].clone()])
            .await
            .unwrap();

        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM events").await,
            3,
            "{}",
            db.backend()
        );
        let read = store.after(id(0), &scope, 10).await.unwrap();
        assert_eq!(read, events, "each once, the first version kept");
    }
}

#[tokio::test]
async fn only_events_with_a_public_name_are_stored() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let (bot_id, conversation_id) = (BotId::new(), ConversationId::new());
        let message_id = MessageId::new();
        let events = [
            event(
                1,
                1,
                DomainEvent::ReplyStored {
                    bot_id,
                    conversation_id,
                    message_id,
                },
            ),
            event(2, 2, received(bot_id, conversation_id)),
            event(
                3,
                3,
                DomainEvent::OperatorMessageStored {
                    bot_id,
                    conversation_id,
                    message_id,
                },
            ),
        ];
        store.append(&[]).await.unwrap();
        store.append(&[events[0].clone()]).await.unwrap();
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM events").await,
            0,
            "{}",
            db.backend()
        );
        store.append(&events).await.unwrap();

        assert_eq!(count(&store, "SELECT COUNT(*) FROM events").await, 1);
        let read = ids_after(&store, 0, &bots(&[bot_id]), 10).await;
        assert_eq!(read, ids(&[2]));
        let stored = format!("SELECT kind FROM events WHERE id = '{}'", id(2));
        assert_eq!(
            text(&store, &stored).await.as_deref(),
            Some("message.received")
        );
        let at = format!("SELECT created_at FROM events WHERE id = '{}'", id(2));
        assert_eq!(count(&store, &at).await, events[1].at.timestamp_millis());
    }
}

#[tokio::test]
async fn forget_before_deletes_only_older_events() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let events = a_chats_events(3);
        let scope = bots(&[events[0].event.bot_id()]);
        store.append(&events).await.unwrap();

        assert_eq!(
            store.forget_before(at(2)).await.unwrap(),
            1,
            "{}",
            db.backend()
        );
        assert_eq!(ids_after(&store, 0, &scope, 10).await, ids(&[2, 3]));
        assert_eq!(store.forget_before(at(2)).await.unwrap(), 0);
        assert_eq!(store.forget_before(at(4)).await.unwrap(), 2);
        assert!(ids_after(&store, 0, &scope, 10).await.is_empty());
    }
}

#[tokio::test]
async fn a_body_that_does_not_decode_is_corrupt() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let events = a_chats_events(2);
        let scope = bots(&[events[0].event.bot_id()]);
        store.append(&events).await.unwrap();
        exec(
            &store,
            &format!("UPDATE events SET body = '{{}}' WHERE id = '{}'", id(2)),
        )
        .await;

        let err = store.after(id(0), &scope, 10).await.unwrap_err();
        assert!(
            matches!(err, RepoError::Corrupt(_)),
            "{}: {err:?}",
            db.backend()
        );
        assert_eq!(ids_after(&store, 0, &scope, 1).await, ids(&[1]));
    }
}
