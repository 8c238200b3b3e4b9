//! The ledger: inbound messages (deduplicated), replies under a lease, operator messages.

use crate::support::RecordOne;
use crate::support::{at, claim_at, count, new_bot, receive, received, record, text, LEASE};
use application::ports::{JobPayload, JobQueue, Ledger, Recorded, ReplyStored};
use database::testing::fresh_databases;
use domain::repositories::{ConversationRepository, MessageRepository};
use domain::{Conversation, Direction, ExternalMessageId, Message, MessageStatus};

#[tokio::test]
async fn an_inbound_message_starts_a_conversation_and_a_reply_job() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let (conversation_id, message_id) = received(&store, bot, "chat", "m1").await;
        let conversation = ConversationRepository::get(&store, conversation_id)
            .await
            .unwrap()
            .unwrap();
        assert!(conversation.is_active(), "{}", db.backend());
        assert_eq!(conversation.bot_id, bot);
        let message = MessageRepository::get(&store, message_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(message.conversation_id, conversation_id);
        assert_eq!(message.external_id.unwrap().as_str(), "m1");

        let job = claim_at(&store, 1).await.unwrap();
        assert_eq!(job.lane, conversation_id.to_string());
        assert_eq!(job.payload, JobPayload::Reply { message_id });
        assert_eq!(job.attempts, 1);
        let kind = text(&store, "SELECT kind FROM jobs").await;
        assert_eq!(kind.as_deref(), Some("reply"));
    }
}

#[tokio::test]
async fn a_duplicate_delivery_is_a_no_op() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        receive(&store, bot, "chat", "m1").await;
        let again = store
            .record_inbound(&record(bot, "chat", "m1", 5))
            .await
            .unwrap();
        assert_eq!(again, Recorded::Duplicate, "{}", db.backend());
        for table in ["conversations", "messages", "jobs"] {
            let rows = count(&store, &format!("SELECT COUNT(*) FROM {table}")).await;
            assert_eq!(rows, 1, "{table}");
        }
        let updated = count(&store, "SELECT updated_at FROM conversations").await;
        assert_eq!(
            updated,
            at(0).timestamp_millis(),
            "the duplicate's touch was rolled back"
        );
    }
}

#[tokio::test]
async fn a_chat_continues_its_conversation_until_it_ends() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let first = receive(&store, bot, "chat", "m1").await;
        let second = store
            .record_inbound(&record(bot, "chat", "m2", 30))
            .await
            .unwrap();
        let conversation = |r: &Recorded| match r {
            Recorded::New {
                conversation_id, ..
            } => *conversation_id,
            Recorded::Duplicate => panic!("unexpected duplicate"),
        };
        assert_eq!(
            conversation(&first),
            conversation(&second),
            "{}",
            db.backend()
        );
        let touched = ConversationRepository::get(&store, conversation(&first))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(touched.updated_at, at(30));
        let other_chat = receive(&store, bot, "elsewhere", "m3").await;
        assert_ne!(conversation(&other_chat), conversation(&first));

        store.end(conversation(&first), at(40)).await.unwrap();
        let third = store
            .record_inbound(&record(bot, "chat", "m4", 50))
            .await
            .unwrap();
        assert_ne!(conversation(&third), conversation(&first));
        assert!(ConversationRepository::get(&store, conversation(&third))
            .await
            .unwrap()
            .unwrap()
            .is_active());
    }
}

#[tokio::test]
async fn a_reply_turns_its_job_into_its_delivery_still_held() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let FirstTurn {
            job,
            inbound,
            reply,
            stored,
        } = first_turn(&store, bot, &[]).await;
        let delivering = job.delivering(reply.id);
        assert_eq!(
            stored,
            ReplyStored::Delivering(delivering),
            "{}",
            db.backend()
        );

        let stored = MessageRepository::get(&store, reply.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored, reply);
        assert_eq!(stored.direction, Direction::Outbound);
        assert_eq!(stored.status, MessageStatus::Pending);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 1);
        let conversation = ConversationRepository::get(&store, reply.conversation_id).await;
        assert_eq!(
            conversation.unwrap().unwrap().updated_at,
            at(2),
            "touched by the reply"
        );
        assert_eq!(claim_at(&store, 3).await, None, "the delivery is held");
        let lease_secs = i64::try_from(LEASE.as_secs()).unwrap();
        // Once the lease has run out (a crash), the row is claimed again as the delivery.
        let reclaimed = claim_at(&store, 3 + lease_secs).await.unwrap();
        assert_eq!(reclaimed.id, job.id);
        assert_eq!(reclaimed.payload, delivery(reply.id));
        assert_eq!(reclaimed.attempts, 2, "the delivery's second attempt");

        let twice = Message::reply(&inbound, "hello again", at(3));
        assert_eq!(
            store.store_reply(&reclaimed, &twice).await.unwrap(),
            ReplyStored::AlreadyAnswered
        );
        assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, 2);
        assert_eq!(
            claim_at(&store, 4 + 2 * lease_secs).await.unwrap().payload,
            delivery(reply.id)
        );
    }
}

#[tokio::test]
async fn a_reply_under_a_lost_lease_writes_nothing() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let Recorded::New { message_id, .. } = receive(&store, bot, "chat", "m1").await else {
            unreachable!()
        };
        let stale = claim_at(&store, 1).await.unwrap();
        let lease_secs = i64::try_from(LEASE.as_secs()).unwrap();
        let current = claim_at(&store, 2 + lease_secs).await.unwrap();
        assert_eq!(current.id, stale.id);

        let inbound = MessageRepository::get(&store, message_id)
            .await
            .unwrap()
            .unwrap();
        let reply = Message::reply(&inbound, "late", at(40));
        assert_eq!(
            store.store_reply(&stale, &reply).await.unwrap(),
            ReplyStored::LeaseLost,
            "{}",
            db.backend()
        );
        assert_eq!(
            MessageRepository::get(&store, reply.id).await.unwrap(),
            None
        );
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 1);
        assert_eq!(
            store.store_reply(&current, &reply).await.unwrap(),
            ReplyStored::Delivering(current.delivering(reply.id))
        );
    }
}

#[tokio::test]
async fn a_finished_delivery_is_marked_sent_and_lets_the_next_turn_of_its_chat_go() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let first = first_turn(&store, bot, &["m2"]).await;
        let ReplyStored::Delivering(delivery) = first.stored else {
            panic!("{:?}", first.stored)
        };
        assert_eq!(
            claim_at(&store, 3).await,
            None,
            "m2's turn waits for the delivery"
        );

        let sent_as = ExternalMessageId::parse("tg-1").unwrap();
        let finished = store.finish_delivery(&delivery, first.reply.id, Some(sent_as.clone()));
        assert!(finished.await.unwrap(), "{}", db.backend());
        let sent = MessageRepository::get(&store, first.reply.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (sent.status, sent.external_id),
            (MessageStatus::Sent, Some(sent_as))
        );
        let left = format!("SELECT COUNT(*) FROM jobs WHERE id = {}", delivery.id);
        assert_eq!(count(&store, &left).await, 0);
        let second_turn = claim_at(&store, 3).await.unwrap();
        assert_eq!(second_turn.payload.kind(), "reply");
        assert_eq!(second_turn.lane, first.job.lane);
    }
}

#[tokio::test]
async fn a_delivery_finished_under_a_lost_lease_still_marks_its_message_sent() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        // Another of the bot's messages already goes by the id the platform gives this one.
        let earlier = first_turn(&store, bot, &[]).await;
        let ReplyStored::Delivering(earlier_delivery) = earlier.stored else {
            panic!("{:?}", earlier.stored)
        };
        let reused = ExternalMessageId::parse("tg-7").unwrap();
        let finished =
            store.finish_delivery(&earlier_delivery, earlier.reply.id, Some(reused.clone()));
        assert!(finished.await.unwrap());

        let Recorded::New { message_id, .. } = receive(&store, bot, "chat", "m2").await else {
            unreachable!()
        };
        let turn = claim_at(&store, 3).await.unwrap();
        let inbound = MessageRepository::get(&store, message_id)
            .await
            .unwrap()
            .unwrap();
        let reply = Message::reply(&inbound, "again", at(3));
        let ReplyStored::Delivering(delivery) = store.store_reply(&turn, &reply).await.unwrap()
        else {
            panic!("not stored")
        };
        let lease_secs = i64::try_from(LEASE.as_secs()).unwrap();
        let heir = claim_at(&store, 4 + lease_secs).await.unwrap();
        assert_eq!(heir.id, delivery.id);

        let finished = store.finish_delivery(&delivery, reply.id, Some(reused));
        assert!(
            !finished.await.unwrap(),
            "the lease was lost: {}",
            db.backend()
        );
        let sent = MessageRepository::get(&store, reply.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sent.status, MessageStatus::Sent, "it was sent all the same");
        assert_eq!(
            sent.external_id, None,
            "an id another message has is not kept"
        );
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM jobs").await,
            1,
            "the heir's job is left alone"
        );
        assert!(store.complete(&heir).await.unwrap());
    }
}

#[tokio::test]
async fn a_turn_answered_already_lets_the_chat_go_on() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let FirstTurn {
            inbound, stored, ..
        } = first_turn(&store, bot, &[]).await;
        let ReplyStored::Delivering(deliver) = stored else {
            panic!("{stored:?}")
        };
        assert!(store.complete(&deliver).await.unwrap());
        // A turn whose reply already exists (reply_to is unique) stores nothing new; the runner
        // completes it, and the chat's next waiting turn must still get its go.
        receive(&store, bot, "chat", "m2").await;
        receive(&store, bot, "chat", "m3").await;
        let m2_turn = claim_at(&store, 4).await.unwrap();
        let duplicate = Message::reply(&inbound, "hello again", at(4));
        assert_eq!(
            store.store_reply(&m2_turn, &duplicate).await.unwrap(),
            ReplyStored::AlreadyAnswered
        );
        assert_eq!(m2_turn.payload.kind(), "reply");
        assert!(store.complete(&m2_turn).await.unwrap());
        let third = claim_at(&store, 5).await;
        assert!(third.is_some(), "the lane is not stuck: {}", db.backend());
    }
}

/// The conversation a new message starts, for an operator to write into.
async fn conversation_of(store: &database::SeaStore, recorded: Recorded) -> Conversation {
    let Recorded::New {
        conversation_id, ..
    } = recorded
    else {
        unreachable!()
    };
    ConversationRepository::get(store, conversation_id)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn an_operator_message_is_delivered_after_the_replies_queued_before_it() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let FirstTurn { reply, stored, .. } = first_turn(&store, bot, &[]).await;
        let ReplyStored::Delivering(first) = stored else {
            panic!("{stored:?}")
        };
        let conversation = ConversationRepository::get(&store, reply.conversation_id)
            .await
            .unwrap()
            .unwrap();
        let note = Message::operator(&conversation, "a human here", at(5));
        assert!(
            store.queue_outbound(&note).await.unwrap(),
            "{}",
            db.backend()
        );

        let stored = MessageRepository::get(&store, note.id).await.unwrap();
        assert_eq!(stored, Some(note.clone()));
        let touched = ConversationRepository::get(&store, conversation.id).await;
        assert_eq!(touched.unwrap().unwrap().updated_at, at(5));
        assert_eq!(first.payload, delivery(reply.id), "the reply goes first");
        assert_eq!(claim_at(&store, 6).await, None, "the note waits its turn");
        assert!(store.complete(&first).await.unwrap());
        let second = claim_at(&store, 6).await.unwrap();
        assert_eq!(second.payload, delivery(note.id));
        assert_eq!(second.lane, first.lane);
    }
}

#[tokio::test]
async fn an_operator_message_in_an_idle_conversation_is_due_at_once() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let conversation = conversation_of(&store, receive(&store, bot, "chat", "m1").await).await;
        let turn = claim_at(&store, 1).await.unwrap();
        assert!(store.complete(&turn).await.unwrap());

        let note = Message::operator(&conversation, "hello", at(2));
        assert!(store.queue_outbound(&note).await.unwrap());
        let job = claim_at(&store, 2).await.unwrap();
        assert_eq!(job.payload, delivery(note.id), "{}", db.backend());
        assert_eq!(job.lane, conversation.id.to_string());
    }
}

#[tokio::test]
async fn an_operator_message_to_an_ended_or_unknown_conversation_writes_nothing() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let conversation = conversation_of(&store, receive(&store, bot, "chat", "m1").await).await;
        store.end(conversation.id, at(3)).await.unwrap();
        let late = Message::operator(&conversation, "too late", at(4));
        assert!(
            !store.queue_outbound(&late).await.unwrap(),
            "{}",
            db.backend()
        );

        let mut unknown = conversation.clone();
        unknown.id = domain::ConversationId::new();
        let astray = Message::operator(&unknown, "nobody", at(4));
        assert!(!store.queue_outbound(&astray).await.unwrap());
        assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, 1);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 1);
        let ended = ConversationRepository::get(&store, conversation.id).await;
        assert_eq!(ended.unwrap().unwrap().updated_at, at(3), "not touched");
    }
}

#[tokio::test]
async fn a_message_the_bot_starts_goes_into_the_active_conversation_or_a_new_one() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let active = conversation_of(&store, receive(&store, bot, "chat", "m1").await).await;
        let chat = active.external_chat_id.clone();
        let proposed = Conversation::start(bot, active.platform, chat.clone(), at(5));

        let first = Message::operator(&proposed, "news", at(5));
        let stored = store.start_outbound(&proposed, &first).await.unwrap();
        assert_eq!(stored.conversation_id, active.id, "{}", db.backend());
        let read = MessageRepository::get(&store, first.id).await.unwrap();
        assert_eq!(read, Some(stored));
        let conversations = "SELECT COUNT(*) FROM conversations";
        assert_eq!(count(&store, conversations).await, 1, "none started");

        store.end(active.id, at(6)).await.unwrap();
        let fresh = Conversation::start(bot, active.platform, chat, at(7));
        let second = Message::operator(&fresh, "more news", at(7));
        let stored = store.start_outbound(&fresh, &second).await.unwrap();
        assert_eq!(stored.conversation_id, fresh.id);
        let started = ConversationRepository::get(&store, fresh.id).await.unwrap();
        assert!(started.unwrap().is_active());
        let reply = claim_at(&store, 8).await.unwrap();
        assert_eq!(
            reply.payload,
            JobPayload::Reply {
                message_id: message_id_of(&store, "m1").await
            }
        );
        assert!(store.complete(&reply).await.unwrap());
        let mut lanes = Vec::new();
        while let Some(job) = claim_at(&store, 8).await {
            lanes.push((job.payload.clone(), job.lane.clone()));
            assert!(store.complete(&job).await.unwrap());
        }
        assert_eq!(
            lanes,
            vec![
                (delivery(first.id), active.id.to_string()),
                (delivery(second.id), fresh.id.to_string()),
            ],
            "each delivered in its conversation's lane"
        );
    }
}

#[tokio::test]
async fn the_last_inbound_message_of_a_chat_is_found_across_its_conversations() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let chat = domain::ExternalChatId::parse("chat").unwrap();
        let telegram = domain::PlatformKind::Telegram;
        let never = store.last_inbound_at(bot, telegram, &chat).await.unwrap();
        assert_eq!(never, None, "{}", db.backend());

        store
            .record_inbound(&record(bot, "chat", "m1", 10))
            .await
            .unwrap();
        let later = store.record_inbound(&record(bot, "chat", "m2", 20)).await;
        let ended = conversation_of(&store, later.unwrap()).await;
        store.end(ended.id, at(21)).await.unwrap();
        let proposed = Conversation::start(bot, telegram, chat.clone(), at(30));
        let note = Message::operator(&proposed, "the bot writing is not the chat", at(30));
        store.start_outbound(&proposed, &note).await.unwrap();
        let other_chat = record(bot, "other", "m3", 40);
        store.record_inbound(&other_chat).await.unwrap();

        let last = store.last_inbound_at(bot, telegram, &chat).await.unwrap();
        assert_eq!(last, Some(at(20)), "{}", db.backend());
        let elsewhere = store
            .last_inbound_at(bot, domain::PlatformKind::Whatsapp, &chat)
            .await;
        assert_eq!(elsewhere.unwrap(), None);
    }
}

async fn message_id_of(store: &database::SeaStore, external_id: &str) -> domain::MessageId {
    let sql = format!("SELECT id FROM messages WHERE external_id = '{external_id}'");
    text(store, &sql).await.unwrap().parse().unwrap()
}

fn delivery(message_id: domain::MessageId) -> JobPayload {
    JobPayload::Deliver {
        message_id,
        parts_sent: 0,
    }
}

/// The first turn of a chat: `m1` received, its job claimed and answered with "hello" at 2 s.
/// `then` names chat messages received after `m1` and before the claim.
struct FirstTurn {
    job: application::ports::ClaimedJob,
    inbound: Message,
    reply: Message,
    stored: ReplyStored,
}

async fn first_turn(store: &database::SeaStore, bot: domain::BotId, then: &[&str]) -> FirstTurn {
    let Recorded::New { message_id, .. } = receive(store, bot, "chat", "m1").await else {
        unreachable!()
    };
    for external_id in then {
        receive(store, bot, "chat", external_id).await;
    }
    let job = claim_at(store, 1).await.unwrap();
    let inbound = MessageRepository::get(store, message_id)
        .await
        .unwrap()
        .unwrap();
    let reply = Message::reply(&inbound, "hello", at(2));
    let stored = store.store_reply(&job, &reply).await.unwrap();
    FirstTurn {
        job,
        inbound,
        reply,
        stored,
    }
}
