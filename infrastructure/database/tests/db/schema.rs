//! Connections and schema: readiness, migrations down and up, and unavailability.

use crate::support::{count, new_bot, text};
use database::testing::{connect_migrated, fresh_databases, fresh_sqlite};
use database::{connect, SeaStore};
use domain::repositories::BotRepository;
use domain::RepoError;
use migrations::{Migrator, MigratorTrait};
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
