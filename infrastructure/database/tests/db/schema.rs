//! Connections and schema: readiness, migrations down and up, and unavailability.

use crate::support::{answered_turn, count, migrate_down_to, new_bot, now, text};
use database::testing::{connect_migrated, fresh_databases, fresh_sqlite};
use database::{connect, SeaStore};
use domain::repositories::BotRepository;
use domain::{RepoError, TokenUsage};
use migrations::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;
use std::time::{Duration, Instant};

#[tokio::test]
async fn ping_answers_while_connected() {
    for db in fresh_databases().await {
        let store = db.store().await;
        store.ping().await.unwrap();
        store.connection().close_by_ref().await.unwrap();
        let err = store.ping().await.unwrap_err();
        assert!(
            matches!(err, RepoError::Unavailable(_)),
            "{}: {err:?}",
            db.backend()
        );
        let err = store.list(&Default::default()).await.unwrap_err();
        assert!(matches!(err, RepoError::Unavailable(_)), "{err:?}");
    }
}

#[tokio::test]
async fn migrations_go_down_and_up_again() {
    for db in fresh_databases().await {
        let store = db.store().await;
        new_bot(&store, "Ada").await;
        Migrator::down(store.connection(), None).await.unwrap();
        let err = store.list(&Default::default()).await.unwrap_err();
        assert!(
            matches!(err, RepoError::Other(_)),
            "{}: {err:?}",
            db.backend()
        );

        let store = SeaStore::new(connect_migrated(db.url()).await);
        assert!(store
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty());
        new_bot(&store, "Ada").await;
        Migrator::up(store.connection(), None).await.unwrap();
    }
}

#[tokio::test]
async fn an_unreachable_server_fails_fast() {
    let started = Instant::now();
    let err = connect("postgres://postgres@127.0.0.1:1/nowhere")
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}: {err}",
        started.elapsed()
    );
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys() {
    let db = fresh_sqlite();
    let store = db.store().await;
    assert_eq!(
        text(&store, "PRAGMA journal_mode").await.as_deref(),
        Some("wal")
    );
    assert_eq!(count(&store, "PRAGMA foreign_keys").await, 1);
    assert_eq!(count(&store, "PRAGMA busy_timeout").await, 5000);
}

#[tokio::test]
async fn sqlite_in_memory_keeps_its_data_on_its_one_connection() {
    let store = SeaStore::new(connect_migrated("sqlite::memory:").await);
    let bot = new_bot(&store, "Ada").await;
    assert_eq!(store.get(bot.id).await.unwrap(), Some(bot));
}

/// Inserts a queued reply job into `lane` with raw SQL, as the first schema stored them.
async fn queued_job(store: &SeaStore, lane: &str) {
    let sql = format!(
        "INSERT INTO jobs (lane, kind, payload, state, attempts, run_at, created_at, updated_at) \
         VALUES ('{lane}', 'reply', '{{}}', 'queued', 0, 0, 0, 0)"
    );
    store.connection().execute_unprepared(&sql).await.unwrap();
}

#[tokio::test]
async fn upgrading_puts_jobs_behind_their_lane_head_in_waiting_and_back() {
    for db in fresh_databases().await {
        let store = SeaStore::new(connect(db.url()).await.unwrap());
        Migrator::up(store.connection(), Some(1)).await.unwrap();
        for lane in ["a", "a", "b", "a"] {
            queued_job(&store, lane).await;
        }

        Migrator::up(store.connection(), None).await.unwrap();
        let states = "SELECT COUNT(*) FROM jobs WHERE state = 'waiting'";
        assert_eq!(count(&store, states).await, 2, "{}", db.backend());
        let heads = "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND id IN (1, 3)";
        assert_eq!(count(&store, heads).await, 2);

        migrate_down_to(&store, 1).await;
        let queued = "SELECT COUNT(*) FROM jobs WHERE state = 'queued'";
        assert_eq!(
            count(&store, queued).await,
            4,
            "every job kept: {}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn pauses_and_token_counts_go_down_and_up_with_their_rows_kept() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let mut bot = new_bot(&store, "Ada").await;
        bot.pause(now());
        assert!(store.save_pause(&bot).await.unwrap());
        let usage = TokenUsage {
            prompt_tokens: 3,
            completion_tokens: 4,
        };
        let reply = answered_turn(&store, bot.id, "chat", "1", (0, 1), Some(usage)).await;

        migrate_down_to(&store, 3).await;
        let columns = "SELECT paused_at FROM bots";
        let gone = store
            .connection()
            .execute_unprepared(columns)
            .await
            .unwrap_err();
        assert!(gone.to_string().contains("paused_at"), "{gone}");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, 2);

        Migrator::up(store.connection(), None).await.unwrap();
        let bot = store.get(bot.id).await.unwrap().unwrap();
        assert_eq!(bot.paused_at, None, "{}", db.backend());
        let reply = domain::repositories::MessageRepository::get(&store, reply.id).await;
        assert_eq!(reply.unwrap().unwrap().usage, None);
    }
}
