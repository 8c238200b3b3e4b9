//! Races: simultaneous duplicate deliveries and many claimers. Meaningful on PostgreSQL; on
//! SQLite the single connection serialises them, and the same assertions hold.

use crate::support::RecordOne;
use crate::support::{at, count, new_bot, record, LEASE};
use application::ports::{JobQueue, Recorded};
use database::testing::fresh_databases;
use database::SeaStore;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_duplicates_are_recorded_once() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let attempts = (0..8).map(|_| {
            let store = store.clone();
            let delivery = record(bot, "chat", "m1", 0);
            tokio::spawn(async move { store.record_inbound(&delivery).await })
        });
        let results: Vec<Recorded> = futures::future::join_all(attempts)
            .await
            .into_iter()
            .map(|joined| joined.unwrap().unwrap())
            .collect();
        let new = results
            .iter()
            .filter(|r| matches!(r, Recorded::New { .. }))
            .count();
        assert_eq!(new, 1, "{}: {results:?}", db.backend());
        for table in ["conversations", "messages", "jobs"] {
            let rows = count(&store, &format!("SELECT COUNT(*) FROM {table}")).await;
            assert_eq!(rows, 1, "{table}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_messages_of_a_new_chat_share_one_conversation() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let deliveries = (0..8).map(|n| {
            let store = store.clone();
            let delivery = record(bot, "chat", &n.to_string(), 0);
            tokio::spawn(async move { store.record_inbound(&delivery).await })
        });
        let mut conversations = HashSet::new();
        for joined in futures::future::join_all(deliveries).await {
            match joined.unwrap().unwrap() {
                Recorded::New {
                    conversation_id, ..
                } => conversations.insert(conversation_id),
                Recorded::Duplicate => panic!("{}: distinct messages", db.backend()),
            };
        }
        assert_eq!(conversations.len(), 1, "{}", db.backend());
        assert_eq!(
            count(&store, "SELECT COUNT(DISTINCT lane) FROM jobs").await,
            1
        );
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 8);
    }
}

/// What the claimers saw: lanes running now, every job claimed, and each lane's order.
#[derive(Default)]
struct Observed {
    running_lanes: HashSet<String>,
    claimed: HashSet<i64>,
    order: HashMap<String, Vec<i64>>,
}

/// Claims (up to three at a time) and completes jobs until `total` have been completed by all
/// claimers together.
async fn work(store: SeaStore, seen: Arc<Mutex<Observed>>, total: usize) {
    loop {
        if seen.lock().unwrap().claimed.len() >= total {
            return;
        }
        let jobs = store.claim(at(1), LEASE, 3).await.unwrap();
        if jobs.is_empty() {
            tokio::task::yield_now().await;
            continue;
        }
        for job in &jobs {
            let mut seen = seen.lock().unwrap();
            assert!(seen.claimed.insert(job.id), "job {} claimed twice", job.id);
            assert!(
                seen.running_lanes.insert(job.lane.clone()),
                "lane {} ran twice at once",
                job.lane
            );
            seen.order.entry(job.lane.clone()).or_default().push(job.id);
        }
        // Hold the lanes across a real pause, so that another claimer of one would be seen;
        // leave each just before completing (until then the database still holds it).
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        for job in jobs {
            seen.lock().unwrap().running_lanes.remove(&job.lane);
            assert!(store.complete(&job).await.unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claimers_never_share_a_job_or_a_lane() {
    const LANES: usize = 20;
    const JOBS: usize = 100;
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        for n in 0..JOBS {
            let delivery = record(bot, &format!("chat-{}", n % LANES), &n.to_string(), 0);
            store.record_inbound(&delivery).await.unwrap();
        }
        let seen = Arc::new(Mutex::new(Observed::default()));
        let claimers = (0..8).map(|_| tokio::spawn(work(store.clone(), seen.clone(), JOBS)));
        for claimer in futures::future::join_all(claimers).await {
            claimer.unwrap();
        }
        let seen = Arc::into_inner(seen).unwrap().into_inner().unwrap();
        assert_eq!(seen.claimed.len(), JOBS, "{}", db.backend());
        assert_eq!(seen.order.len(), LANES);
        for ids in seen.order.values() {
            assert!(ids.is_sorted(), "lane order: {ids:?}");
        }
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 0);
    }
}
