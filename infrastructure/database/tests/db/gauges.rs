//! The scrape's figures: jobs by kind and state, the oldest due job, the pool — and their cost over 100k jobs.

use crate::support::{at, claim_at, new_bot, receive, record, RecordOne};
use application::ports::{JobCount, JobQueue, StoreGauges};
use database::testing::fresh_databases;
use database::SeaStore;
use std::time::{Duration, Instant};

fn count(kind: &str, state: &str, count: u64) -> JobCount {
    JobCount {
        kind: kind.into(),
        state: state.into(),
        count,
    }
}

#[tokio::test]
async fn jobs_are_counted_by_kind_and_state_and_only_due_queued_jobs_age() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        receive(&store, bot, "a", "a1").await;
        receive(&store, bot, "a", "a2").await;
        receive(&store, bot, "b", "b1").await;
        claim_at(&store, 0).await.unwrap();
        let b1 = claim_at(&store, 0).await.unwrap();
        assert!(store.bury(&b1, "forbidden").await.unwrap());
        for (chat, secs) in [("c", 100), ("e", 5)] {
            let id = format!("{chat}1");
            store
                .record_inbound(&record(bot, chat, &id, secs))
                .await
                .unwrap();
        }

        let mut reading = store.read(at(10)).await.unwrap();
        reading.jobs.sort_by(|a, b| a.state.cmp(&b.state));

        let expected = vec![
            count("reply", "dead", 1),
            count("reply", "queued", 2),
            count("reply", "running", 1),
            count("reply", "waiting", 1),
        ];
        assert_eq!(reading.jobs, expected, "{}", db.backend());
        assert_eq!(reading.oldest_due, vec![("reply".to_owned(), at(5))]);
        let pool = reading.pool.expect("the pool's figures");
        assert!(pool.in_use + pool.idle >= 1, "{pool:?}");
    }
}

/// Not a pass/fail timing: prints how long a scrape's read takes with 100k jobs queued, on
/// each database. `cargo test -p switchboard-database --test db -- --ignored --nocapture gauges`
#[tokio::test]
#[ignore = "a benchmark: run on demand"]
async fn gauges_over_100k_jobs_benchmark() {
    for db in fresh_databases().await {
        let store = db.store().await;
        fill_jobs(&store, 100_000).await;
        let mut took: Vec<Duration> = Vec::new();
        for _ in 0..21 {
            let started = Instant::now();
            let reading = store.read(at(10)).await.unwrap();
            took.push(started.elapsed());
            assert_eq!(
                reading.jobs.iter().map(|row| row.count).sum::<u64>(),
                100_000
            );
        }
        took.sort();
        println!(
            "{}: gauges over 100k jobs: median {:?}, max {:?}",
            db.backend(),
            took[took.len() / 2],
            took[took.len() - 1]
        );
    }
}

/// `jobs` rows in one statement, with payloads and lanes as wide as real ones: lanes of ten, a
/// tenth dead, the heads queued, the rest waiting.
async fn fill_jobs(store: &SeaStore, jobs: u32) {
    use sea_orm::ConnectionTrait;
    let numbers = match store.connection().get_database_backend() {
        sea_orm::DbBackend::Postgres => format!("SELECT generate_series(1, {jobs}) AS n"),
        _ => format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {jobs}) SELECT n FROM s"
        ),
    };
    let insert = format!(
        "INSERT INTO jobs (lane, kind, payload, state, attempts, run_at, created_at, updated_at)
         SELECT '0193b7e2-5d1c-7cc3-8f4e-' || (n / 10), CASE WHEN n % 3 = 0 THEN 'deliver' ELSE 'reply' END,
                '{{\"kind\":\"reply\",\"message_id\":\"0193b7e2-5d1c-7cc3-8f4e-' || n || '\"}}',
                CASE WHEN n % 10 = 0 THEN 'dead' WHEN n % 10 = 1 THEN 'queued' ELSE 'waiting' END,
                0, n, n, n
         FROM ({numbers}) AS numbers"
    );
    store
        .connection()
        .execute_unprepared(&insert)
        .await
        .unwrap();
}
