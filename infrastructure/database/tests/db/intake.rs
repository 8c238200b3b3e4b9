//! Batched intake: many inbound messages in one transaction, deduplicated, all or nothing, and
//! racing batches that keep one active conversation per chat and one head per lane.

use crate::support::{at, claim_at, count, new_bot, receive, record, text, RecordOne};
use application::ports::{InboundRecord, JobPayload, JobQueue, Ledger, Recorded};
use database::testing::{fresh_databases, fresh_postgres, TestDatabase};
use database::SeaStore;
use domain::repositories::{ConversationRepository, MessageRepository};
use domain::{BotId, ConversationId, MessageId, Secret};
use sea_orm::{ConnectionTrait, Statement};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Every job as `(lane, state, payload)`, in id order.
async fn jobs(store: &SeaStore) -> Vec<(String, String, String)> {
    let db = store.connection();
    let sql = "SELECT lane, state, payload FROM jobs ORDER BY id";
    let rows = db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    rows.into_iter()
        .map(|row| {
            let text = |column| row.try_get::<String>("", column).unwrap();
            (text("lane"), text("state"), text("payload"))
        })
        .collect()
}

/// The states of `lane`'s jobs and the messages they answer, in id order.
fn lane(jobs: &[(String, String, String)], lane: ConversationId) -> Vec<(String, MessageId)> {
    jobs.iter()
        .filter(|(l, _, _)| *l == lane.to_string())
        .map(|(_, state, payload)| {
            let JobPayload::Reply { message_id } = serde_json::from_str(payload).unwrap() else {
                panic!("not a reply job: {payload}")
            };
            (state.clone(), message_id)
        })
        .collect()
}

fn new(recorded: &Recorded) -> (ConversationId, MessageId) {
    match recorded {
        Recorded::New {
            conversation_id,
            message_id,
            ..
        } => (*conversation_id, *message_id),
        Recorded::Duplicate => panic!("unexpected duplicate"),
    }
}

/// Whether each record's message started its conversation (`None`: a duplicate).
fn started(recorded: &[Recorded]) -> Vec<Option<bool>> {
    let started = |r: &Recorded| match r {
        Recorded::New { started, .. } => Some(*started),
        Recorded::Duplicate => None,
    };
    recorded.iter().map(started).collect()
}

fn states(lane: &[(String, MessageId)]) -> Vec<&str> {
    lane.iter().map(|(state, _)| state.as_str()).collect()
}

fn answered(lane: &[(String, MessageId)]) -> Vec<MessageId> {
    lane.iter().map(|(_, id)| *id).collect()
}

#[tokio::test]
async fn a_batch_starts_one_conversation_per_chat_and_queues_one_head_per_lane() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        // Chat `a` already has a conversation whose head is queued; chat `b` is new.
        let first = receive(&store, bot, "a", "a0").await;
        assert_eq!(
            started(std::slice::from_ref(&first)),
            [Some(true)],
            "{}",
            db.backend()
        );
        let (a, a0) = new(&first);
        let batch = [
            record(bot, "a", "a1", 1),
            record(bot, "b", "b1", 2),
            record(bot, "a", "a2", 3),
            record(bot, "b", "b2", 4),
            record(bot, "a", "a3", 5),
        ];
        let recorded = store.record_inbound_batch(&batch).await.unwrap();
        assert_eq!(recorded.len(), batch.len(), "{}", db.backend());
        let only_b1 = [false, true, false, false, false].map(Some);
        assert_eq!(started(&recorded), only_b1, "b1 started chat b");
        let recorded: Vec<_> = recorded.iter().map(new).collect();
        let [a1, b1, a2, b2, a3] = recorded.as_slice() else {
            unreachable!()
        };
        for (conversation, _) in [a1, a2, a3] {
            assert_eq!(*conversation, a, "chat a continues its conversation");
        }
        let b = b1.0;
        assert_eq!(b2.0, b);
        assert_ne!(a, b);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM conversations").await, 2);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, 6);

        let jobs = jobs(&store).await;
        let a_lane = lane(&jobs, a);
        assert_eq!(states(&a_lane), ["queued", "waiting", "waiting", "waiting"]);
        assert_eq!(answered(&a_lane), [a0, a1.1, a2.1, a3.1], "arrival order");
        let b_lane = lane(&jobs, b);
        assert_eq!(states(&b_lane), ["queued", "waiting"]);
        assert_eq!(answered(&b_lane), [b1.1, b2.1]);

        let touched = |id| ConversationRepository::get(&store, id);
        assert_eq!(touched(a).await.unwrap().unwrap().updated_at, at(5));
        let started_b = touched(b).await.unwrap().unwrap();
        assert_eq!((started_b.created_at, started_b.updated_at), (at(2), at(4)));

        store.end(b, at(6)).await.unwrap();
        let again = [record(bot, "b", "b2", 7), record(bot, "b", "b3", 7)];
        let recorded = store.record_inbound_batch(&again).await.unwrap();
        assert_eq!(started(&recorded), [None, Some(true)], "b3 starts anew");
        assert_ne!(new(&recorded[1]).0, b);
        let later = store.record_inbound(&record(bot, "b", "b4", 8)).await;
        assert_eq!(started(&[later.unwrap()]), [Some(false)]);
    }
}

#[tokio::test]
async fn a_lane_of_a_batch_goes_in_arrival_order() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let batch: Vec<_> = (0..6)
            .map(|n| record(bot, ["a", "b"][n % 2], &format!("m{n}"), 0))
            .collect();
        let recorded = store.record_inbound_batch(&batch).await.unwrap();
        let mut claimed = Vec::new();
        while let Some(job) = claim_at(&store, 1).await {
            let JobPayload::Reply { message_id } = job.payload else {
                unreachable!()
            };
            claimed.push(message_id);
            assert!(store.complete(&job).await.unwrap());
        }
        let expected: Vec<_> = recorded.iter().map(|r| new(r).1).collect();
        assert_eq!(claimed, expected, "{}", db.backend());
    }
}

#[tokio::test]
async fn duplicates_in_the_batch_or_already_stored_are_stored_once() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        receive(&store, bot, "chat", "m1").await;
        let batch = [
            record(bot, "chat", "m1", 1),
            record(bot, "chat", "m2", 2),
            record(bot, "chat", "m2", 3),
            record(bot, "chat", "m3", 4),
        ];
        let recorded = store.record_inbound_batch(&batch).await.unwrap();
        let duplicates: Vec<_> = recorded.iter().map(|r| *r == Recorded::Duplicate).collect();
        assert_eq!(duplicates, [true, false, true, false], "{}", db.backend());
        assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, 3);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 3);
        let stored_text = count(
            &store,
            "SELECT COUNT(*) FROM messages WHERE content LIKE '%message m2%'",
        )
        .await;
        assert_eq!(stored_text, 1, "m2 stored once");

        let again = store.record_inbound_batch(&batch[..2]).await.unwrap();
        assert_eq!(again, [Recorded::Duplicate, Recorded::Duplicate]);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 3);
        let updated = count(&store, "SELECT updated_at FROM conversations").await;
        assert_eq!(
            updated,
            at(4).timestamp_millis(),
            "a duplicate touches nothing"
        );
    }
}

#[tokio::test]
async fn a_redelivery_after_the_conversation_ended_starts_none() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let (ended, _) = new(&receive(&store, bot, "chat", "m1").await);
        store.end(ended, at(1)).await.unwrap();
        let batch = [record(bot, "chat", "m1", 2), record(bot, "other", "o1", 2)];
        let recorded = store.record_inbound_batch(&batch).await.unwrap();
        assert_eq!(recorded[0], Recorded::Duplicate, "{}", db.backend());
        new(&recorded[1]);
        let active = "SELECT COUNT(*) FROM conversations WHERE status = 'active'";
        assert_eq!(count(&store, active).await, 1, "only the other chat's");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM conversations").await, 2);
    }
}

#[tokio::test]
async fn a_batch_with_a_record_that_cannot_be_written_stores_nothing() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let batch = [
            record(bot, "a", "a1", 0),
            record(BotId::new(), "b", "b1", 0), // no such bot: a foreign key violation
            record(bot, "c", "c1", 0),
        ];
        let failed = store.record_inbound_batch(&batch).await;
        assert!(failed.is_err(), "{}: {failed:?}", db.backend());
        for table in ["conversations", "messages", "jobs"] {
            let rows = count(&store, &format!("SELECT COUNT(*) FROM {table}")).await;
            assert_eq!(rows, 0, "{table}");
        }
        let retried = store.record_inbound_batch(&[batch[0].clone()]).await;
        new(&retried.unwrap()[0]);
    }
}

#[tokio::test]
async fn a_batch_larger_than_one_insert_statement_is_stored_whole() {
    // Messages and conversations take more than one SQLite insert of 30,000 parameters.
    const RECORDS: usize = 5_000;
    const CHATS: usize = 4_500;
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let batch: Vec<_> = (0..RECORDS)
            .map(|n| record(bot, &format!("chat-{}", n % CHATS), &format!("m{n}"), 0))
            .collect();
        let recorded = store.record_inbound_batch(&batch).await.unwrap();
        assert!(recorded.iter().all(|r| matches!(r, Recorded::New { .. })));
        let total = i64::try_from(RECORDS).unwrap();
        assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, total);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, total);
        let heads = "SELECT COUNT(*) FROM jobs WHERE state = 'queued'";
        assert_eq!(count(&store, heads).await, 4500, "{}", db.backend());
        let conversations = "SELECT COUNT(*) FROM conversations";
        assert_eq!(count(&store, conversations).await, 4500);
    }
}

/// Invariants after racing writers: one active conversation per chat, exactly one head per
/// lane, and that head is the lane's first job.
async fn assert_lanes_sound(store: &SeaStore, chats: i64, backend: &str) {
    let doubled = "SELECT COUNT(*) FROM (SELECT external_chat_id FROM conversations
        WHERE status = 'active' GROUP BY external_chat_id HAVING COUNT(*) > 1) AS d";
    assert_eq!(count(store, doubled).await, 0, "{backend}: two active");
    let conversations = "SELECT COUNT(*) FROM conversations";
    assert_eq!(count(store, conversations).await, chats, "{backend}");
    let headed = "SELECT COUNT(DISTINCT lane) FROM jobs WHERE state IN ('queued', 'running')";
    let heads = "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')";
    assert_eq!(
        count(store, headed).await,
        count(store, heads).await,
        "{backend}: two heads"
    );
    let lanes = "SELECT COUNT(DISTINCT lane) FROM jobs";
    assert_eq!(
        count(store, heads).await,
        count(store, lanes).await,
        "{backend}: headless"
    );
    let late_head = "SELECT COUNT(*) FROM jobs j WHERE j.state IN ('queued', 'running')
        AND EXISTS (SELECT 1 FROM jobs e WHERE e.lane = j.lane AND e.id < j.id)";
    assert_eq!(
        count(store, late_head).await,
        0,
        "{backend}: head not first"
    );
}

/// How many chats a racing batch writes its own messages to.
const OWN_CHATS: usize = 3;

/// Batch `round` of `writer`: a message of its own in [`OWN_CHATS`] of the chats and two
/// shared with every other writer, in an order of its own (half the writers reverse it).
fn racing_batch(bot: BotId, writer: usize, round: usize, chats: usize) -> Vec<InboundRecord> {
    let own = |c: usize| {
        record(
            bot,
            &format!("c{c}"),
            &format!("w{writer}-r{round}-c{c}"),
            0,
        )
    };
    let mut batch: Vec<_> = (0..OWN_CHATS)
        .map(|k| own((writer + round + k) % chats))
        .collect();
    for (n, shared) in ["a", "b"].into_iter().enumerate() {
        let chat = format!("c{}", (round + n) % chats);
        let id = format!("shared-{round}-{shared}");
        batch.insert(n * 3, record(bot, &chat, &id, 0));
    }
    if writer % 2 == 1 {
        batch.reverse();
    }
    batch
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_batches_keep_one_conversation_per_chat_and_one_head_per_lane() {
    const WRITERS: usize = 8;
    const ROUNDS: usize = 6;
    const CHATS: usize = 5;
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let writers = (0..WRITERS).map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut new = 0;
                for round in 0..ROUNDS {
                    let batch = racing_batch(bot, writer, round, CHATS);
                    let recorded = store.record_inbound_batch(&batch).await.unwrap();
                    new += recorded
                        .iter()
                        .filter(|r| **r != Recorded::Duplicate)
                        .count();
                }
                new
            })
        });
        // A claimer completes jobs meanwhile, so that heads leave and lanes promote too.
        let claimer = tokio::spawn(drain_some(store.clone(), 40));
        let mut stored = 0;
        for writer in futures::future::join_all(writers).await {
            stored += writer.unwrap();
        }
        let completed = claimer.await.unwrap();
        assert_eq!(
            stored,
            WRITERS * ROUNDS * OWN_CHATS + 2 * ROUNDS,
            "{}",
            db.backend()
        );
        let stored = i64::try_from(stored).unwrap();
        assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, stored);
        assert_lanes_sound(&store, i64::try_from(CHATS).unwrap(), db.backend()).await;

        let left = drain_all(&store).await;
        assert_eq!(
            completed.len() + left.len(),
            usize::try_from(stored).unwrap()
        );
        for order in by_lane(completed.into_iter().chain(left)).values() {
            assert!(order.is_sorted(), "{}: lane order {order:?}", db.backend());
        }
    }
}

/// Claims and completes up to `jobs` jobs, pausing while none is runnable; `(lane, id)` each.
async fn drain_some(store: SeaStore, jobs: usize) -> Vec<(String, i64)> {
    let mut done = Vec::new();
    for _ in 0..jobs * 50 {
        if done.len() == jobs {
            break;
        }
        match claim_at(&store, 1).await {
            Some(job) => {
                assert!(store.complete(&job).await.unwrap());
                done.push((job.lane, job.id));
            }
            None => tokio::time::sleep(std::time::Duration::from_millis(2)).await,
        }
    }
    done
}

/// Claims and completes every runnable job; `(lane, id)` each.
async fn drain_all(store: &SeaStore) -> Vec<(String, i64)> {
    let mut done = Vec::new();
    while let Some(job) = claim_at(store, 1).await {
        assert!(store.complete(&job).await.unwrap());
        done.push((job.lane, job.id));
    }
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM jobs").await,
        0,
        "a lane is stuck"
    );
    done
}

fn by_lane(jobs: impl Iterator<Item = (String, i64)>) -> HashMap<String, Vec<i64>> {
    let mut lanes: HashMap<String, Vec<i64>> = HashMap::new();
    for (lane, id) in jobs {
        lanes.entry(lane).or_default().push(id);
    }
    lanes
}

/// A batch of `size` records over `size / 2` new chats, named after `round`.
fn new_chats(bot: BotId, round: usize, size: usize) -> Vec<InboundRecord> {
    (0..size)
        .map(|n| {
            let chat = format!("r{round}-chat-{}", n % (size / 2));
            record(bot, &chat, &format!("r{round}-m{n}"), 0)
        })
        .collect()
}

#[tokio::test]
async fn a_batch_takes_the_same_statements_whatever_its_size() {
    for db in fresh_databases().await {
        let mut connection = db.connect().await;
        let statements = Arc::new(Mutex::new(Vec::new()));
        let seen = statements.clone();
        connection.set_metric_callback(move |info| {
            seen.lock().unwrap().push(info.statement.sql.clone());
        });
        let store = SeaStore::new(connection);
        let bot = new_bot(&store, "Ada").await.id;
        let mut batches = Vec::new();
        for (round, size) in [2, 40, 400].into_iter().enumerate() {
            let batch = new_chats(bot, round, size);
            statements.lock().unwrap().clear();
            let recorded = store.record_inbound_batch(&batch).await.unwrap();
            assert!(recorded.iter().all(|r| matches!(r, Recorded::New { .. })));
            batches.push(std::mem::take(&mut *statements.lock().unwrap()));
        }
        // Upsert (and lock) the conversations, insert messages, touch and read heads (one
        // statement on PostgreSQL), insert jobs (and NOTIFY, on PostgreSQL). Not seen by the
        // callback: BEGIN and COMMIT.
        let counts: Vec<usize> = batches.iter().map(Vec::len).collect();
        let expected = if db.backend() == "postgres" { 4 } else { 5 };
        assert_eq!(counts, [expected; 3], "{}", db.backend());
        if db.backend() == "postgres" {
            // Texts that do not depend on the batch: each is prepared once per connection.
            assert_eq!(batches[1], batches[0]);
            assert_eq!(batches[2], batches[0]);
        }
        assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, 442);
        let heads = "SELECT COUNT(*) FROM jobs WHERE state = 'queued'";
        assert_eq!(count(&store, heads).await, 221, "a head per new chat");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 442);
    }
}

#[tokio::test]
async fn batches_of_different_sizes_store_every_field() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        for (round, size) in [1, 3, 2, 17, 1].into_iter().enumerate() {
            let mut batch = new_chats(bot, round, 2 * size);
            batch[size - 1].reply_handle = Some(Secret::new(format!("handle-{size}")));
            let recorded = store.record_inbound_batch(&batch).await.unwrap();
            for (record, recorded) in batch.iter().zip(&recorded) {
                let stored = MessageRepository::get(&store, new(recorded).1).await;
                let stored = stored.unwrap().unwrap();
                assert_eq!(stored.reply_handle, record.reply_handle, "{}", db.backend());
                assert_eq!(stored.external_id.as_ref(), Some(&record.external_id));
                assert_eq!(stored.content, record.content);
                assert_eq!(stored.created_at, record.received_at);
            }
        }
        assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, 48);
        let handles = "SELECT COUNT(*) FROM messages WHERE reply_handle IS NOT NULL";
        assert_eq!(count(&store, handles).await, 5);
    }
}

/// How many times PostgreSQL has read the intake's tables whole, once every other client
/// connection to the database has ended (a backend reports its counts when it exits). Autovacuum
/// workers visit a busy new database on their own schedule; they are not clients, so not awaited.
async fn sequential_scans(db: &TestDatabase) -> i64 {
    let store = SeaStore::new(database::connect_with_pool(db.url(), 1).await.unwrap());
    let others = "FROM pg_stat_activity WHERE datname = current_database()
        AND pid <> pg_backend_pid() AND backend_type = 'client backend'";
    let started = std::time::Instant::now();
    while count(&store, &format!("SELECT COUNT(*) {others}")).await > 0 {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            let who = format!("SELECT string_agg(state || ': ' || query, ' | ') {others}");
            let who = text(&store, &who).await;
            panic!("the other connections did not end: {who:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let scans = "SELECT COALESCE(SUM(seq_scan), 0)::bigint FROM pg_stat_user_tables
        WHERE relname IN ('conversations', 'messages', 'jobs')";
    let scans = count(&store, scans).await;
    close(store).await;
    scans
}

/// Closes `store`'s pool and drops it: a connection handed back to the pool while it closes
/// can miss the close, and is only let go with the pool itself.
async fn close(store: SeaStore) {
    store.connection().close_by_ref().await.unwrap();
}

#[tokio::test]
async fn on_postgresql_batches_find_rows_by_key_whatever_plan_was_cached_for_small_tables() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let store = db.store().await;
    let bot = new_bot(&store, "Ada").await.id;
    close(store).await;
    let before = sequential_scans(&db).await;
    // PostgreSQL caches a plan for a statement after its first few runs, made for the tables
    // as they were: small here, where reading a table whole is as cheap as a lookup.
    let store = db.store().await;
    for round in 0..40 {
        let batch: Vec<_> = (0..8)
            .map(|n| {
                record(
                    bot,
                    &format!("c{}", (8 * round + n) % 100),
                    &format!("{round}-{n}"),
                    0,
                )
            })
            .collect();
        store.record_inbound_batch(&batch).await.unwrap();
    }
    close(store).await;
    assert_eq!(sequential_scans(&db).await, before);
}

#[tokio::test]
async fn an_empty_batch_records_nothing() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let recorded = store.record_inbound_batch(&[]).await.unwrap();
        assert!(recorded.is_empty(), "{}", db.backend());
    }
}

#[tokio::test]
async fn a_records_trace_goes_with_its_reply_job_and_then_with_the_delivery() {
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let traced = InboundRecord {
            trace_parent: Some(parent.to_owned()),
            ..record(bot, "a", "a1", 0)
        };
        let batch = [traced, record(bot, "b", "b1", 0)];
        let recorded = store.record_inbound_batch(&batch).await.unwrap();
        let Recorded::New { message_id, .. } = recorded[0] else {
            panic!("{recorded:?}")
        };
        let (first, second) = (claim_at(&store, 1).await, claim_at(&store, 1).await);
        let (first, second) = (first.unwrap(), second.unwrap());
        assert_eq!(
            first.trace_parent.as_deref(),
            Some(parent),
            "{}",
            db.backend()
        );
        assert_eq!(
            second.trace_parent, None,
            "an untraced record's job has none"
        );

        let inbound = MessageRepository::get(&store, message_id).await.unwrap();
        let reply = domain::Message::reply(&inbound.unwrap(), "answer", at(1));
        let stored = store.store_reply(&first, &reply).await.unwrap();
        let application::ports::ReplyStored::Delivering(delivery) = stored else {
            panic!("{stored:?}")
        };
        assert!(store
            .retry(&delivery, &delivery.payload, at(1), "502")
            .await
            .unwrap());
        let again = claim_at(&store, 2).await.unwrap();
        assert_eq!(again.payload.kind(), "deliver");
        assert_eq!(
            again.trace_parent.as_deref(),
            Some(parent),
            "{}",
            db.backend()
        );
    }
}
