//! Handing conversations to a person and back: the first handoff is kept, the inbox lists the
//! longest waiting first, and a release may queue the answer the bot owes.

use crate::support::{answered_turn, at, claim_at, new_bot, received, record, text, RecordOne};
use application::ports::{JobPayload, JobQueue, Ledger, Recorded, ReplyStored};
use database::testing::fresh_databases;
use database::SeaStore;
use domain::repositories::{ConversationFilter, ConversationRepository};
use domain::{
    BotId, ConversationId, ConversationMode, Message, MessageId, MessageStatus, PageRequest,
};

/// The conversation `chat` starts with its first message, whose reply job is then done, as a
/// handed-off conversation's job is.
async fn quiet_chat(store: &SeaStore, bot: BotId, chat: &str) -> (ConversationId, MessageId) {
    let (conversation_id, message_id) = received(store, bot, chat, &format!("{chat}-1")).await;
    let job = claim_at(store, 1).await.unwrap();
    assert!(store.complete(&job).await.unwrap());
    (conversation_id, message_id)
}

fn humans() -> ConversationFilter {
    ConversationFilter {
        mode: Some(ConversationMode::Human),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_handoff_keeps_its_first_time_and_person() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let (id, _) = quiet_chat(&store, bot, "chat").await;

        assert!(store
            .hand_off(id, Some("ops".into()), at(10))
            .await
            .unwrap());
        assert!(!store
            .hand_off(id, Some("night".into()), at(20))
            .await
            .unwrap());
        let human = store.get(id).await.unwrap().unwrap();
        assert_eq!(human.mode, ConversationMode::Human, "{}", db.backend());
        assert_eq!(human.handed_off_at, Some(at(10)));
        assert_eq!(human.assigned_to.as_deref(), Some("ops"));

        store.end(id, at(30)).await.unwrap();
        let (other, _) = quiet_chat(&store, bot, "other").await;
        store.end(other, at(30)).await.unwrap();
        assert!(!store.hand_off(other, None, at(40)).await.unwrap(), "ended");
        let absent = ConversationId::new();
        assert!(!store.hand_off(absent, None, at(40)).await.unwrap());
    }
}

#[tokio::test]
async fn the_inbox_lists_the_longest_waiting_first_page_by_page() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let mut ids = Vec::new();
        for chat in ["c1", "c2", "c3", "c4"] {
            let recorded = store.record_inbound(&record(bot, chat, chat, 0)).await;
            let Recorded::New {
                conversation_id, ..
            } = recorded.unwrap()
            else {
                unreachable!()
            };
            ids.push(conversation_id);
        }
        let [c1, c2, c3, c4] = ids[..] else {
            unreachable!()
        };
        store.hand_off(c3, None, at(10)).await.unwrap();
        store.hand_off(c2, None, at(20)).await.unwrap();
        store.hand_off(c1, None, at(20)).await.unwrap();

        let mut listed = Vec::new();
        let mut request = PageRequest::new(None, Some(1));
        loop {
            let page = store.list(&humans(), &request).await.unwrap();
            listed.extend(page.items.iter().map(|c| c.id));
            let Some(cursor) = page.next_cursor else {
                break;
            };
            request = PageRequest::new(Some(cursor), Some(1));
        }
        assert_eq!(listed, [c3, c1, c2], "{}", db.backend());
        assert!(!listed.contains(&c4), "a bot conversation is not waiting");
    }
}

#[tokio::test]
async fn a_release_queues_the_owed_answer_only_when_asked_and_owed() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let (id, first) = quiet_chat(&store, bot, "chat").await;
        assert!(
            !store.hand_back(id, true, at(5)).await.unwrap(),
            "not handed off"
        );

        store
            .hand_off(id, Some("ops".into()), at(10))
            .await
            .unwrap();
        assert!(store.hand_back(id, true, at(20)).await.unwrap());
        let released = store.get(id).await.unwrap().unwrap();
        assert_eq!(released.mode, ConversationMode::Bot, "{}", db.backend());
        assert_eq!(released.assigned_to, None);
        assert_eq!(released.handed_off_at, Some(at(10)), "when it last was");
        let owed = claim_at(&store, 21).await.expect("a reply job");
        assert_eq!(owed.payload, JobPayload::Reply { message_id: first });
        assert!(store.complete(&owed).await.unwrap());

        store.hand_off(id, None, at(30)).await.unwrap();
        assert!(store.hand_back(id, false, at(40)).await.unwrap());
        assert!(claim_at(&store, 41).await.is_none(), "not asked");
    }
}

#[tokio::test]
async fn a_release_owes_nothing_for_an_answered_message() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let reply = answered_turn(&store, bot, "chat", "m1", (0, 1), None).await;
        let id = reply.conversation_id;
        store.hand_off(id, None, at(10)).await.unwrap();
        assert!(store.hand_back(id, true, at(20)).await.unwrap());
        assert!(claim_at(&store, 21).await.is_none(), "{}", db.backend());
    }
}

#[tokio::test]
async fn an_operator_message_notes_the_person_only_in_a_handed_off_conversation() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let (id, _) = quiet_chat(&store, bot, "chat").await;
        let bot_conversation = store.get(id).await.unwrap().unwrap();
        let note = Message::operator(&bot_conversation, "from a person", at(5));
        assert!(store.queue_outbound(&note).await.unwrap());
        let untouched = store.get(id).await.unwrap().unwrap();
        assert_eq!(untouched.operator_active_at, None, "{}", db.backend());

        store.hand_off(id, None, at(10)).await.unwrap();
        let human = store.get(id).await.unwrap().unwrap();
        let note = Message::operator(&human, "still here", at(50));
        assert!(store.queue_outbound(&note).await.unwrap());
        let heard = store.get(id).await.unwrap().unwrap();
        assert_eq!(heard.operator_active_at, Some(at(50)), "{}", db.backend());
        assert_eq!(heard.person_last_heard(), Some(at(50)));
    }
}

#[tokio::test]
async fn an_answer_stored_after_a_handoff_is_kept_failed_and_not_delivered() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let (conversation_id, message_id) = received(&store, bot, "chat", "m1").await;
        let job = claim_at(&store, 1).await.unwrap();
        // A person takes the chat over while the model is answering.
        assert!(store.hand_off(conversation_id, None, at(2)).await.unwrap());

        let store = &store;
        let message = |id| async move {
            let found = domain::repositories::MessageRepository::get(store, id).await;
            found.unwrap().unwrap()
        };
        let inbound = message(message_id).await;
        let reply = Message::reply(&inbound, "too late", at(3));
        assert_eq!(
            store.store_reply(&job, &reply).await.unwrap(),
            ReplyStored::HandedOff,
            "{}",
            db.backend()
        );
        let kept = message(reply.id).await;
        assert_eq!(kept.status, MessageStatus::Failed);
        assert_eq!(kept.error.as_deref(), Some(Message::HANDED_OFF));
        assert_eq!(kept.content, reply.content, "kept for the transcript");
        assert_eq!(kept.usage, reply.usage, "and the budgets");
        assert_eq!(kept.reply_to, None, "answering no message");
        assert_eq!(
            text(store, "SELECT kind FROM jobs").await.as_deref(),
            Some("reply"),
            "the job did not turn into a delivery"
        );

        // Released with the pending message answered: it still is owed its answer.
        assert!(store.complete(&job).await.unwrap());
        assert!(store.hand_back(conversation_id, true, at(5)).await.unwrap());
        let owed = claim_at(store, 6).await.expect("a reply job");
        assert_eq!(owed.payload, JobPayload::Reply { message_id });
        let answer = Message::reply(&inbound, "now", at(7));
        assert_eq!(
            store.store_reply(&owed, &answer).await.unwrap(),
            ReplyStored::Delivering(owed.delivering(answer.id))
        );
    }
}
