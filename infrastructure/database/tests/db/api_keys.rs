//! API keys: insert, lookup by prefix, paged listing, revocation, last use, and the expiry migration.

use crate::support::{all_pages, at, count, migrate_down_to};
use chrono::{DateTime, Utc};
use database::testing::{fresh_databases, TestDatabase};
use database::{connect, SeaStore};
use domain::repositories::ApiKeyRepository;
use domain::{ApiKey, ApiKeyId, RepoError, Role};
use migrations::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;

fn key(name: &str, hash: &str, prefix: &str) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        name: name.into(),
        role: Role::Operator,
        key_hash: hash.into(),
        prefix: prefix.into(),
        created_at: at(0),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    }
}

/// A migrated store holding one key, `ops`, under the prefix `sb_1234567`.
async fn with_ops(db: &TestDatabase) -> (SeaStore, ApiKey) {
    let store = db.store().await;
    let ops = key("ops", "aa11", "sb_1234567");
    store.insert(&ops).await.unwrap();
    (store, ops)
}

async fn find(store: &SeaStore, prefix: &str) -> Vec<ApiKey> {
    store.find_by_prefix(prefix).await.unwrap()
}

#[tokio::test]
async fn api_keys_round_trip_and_are_found_by_prefix() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let mut ops = key("ops", "aa11", "sb_1234567");
        ops.expires_at = Some(at(3600));
        ops.last_used_at = Some(at(7));
        let twin = key("twin", "bb22", "sb_1234567");
        let other = key("other", "cc33", "sb_7654321");
        for k in [&ops, &twin, &other] {
            store.insert(k).await.unwrap();
        }
        let clash = store
            .insert(&key("clash", "aa11", "sb_0000000"))
            .await
            .unwrap_err();
        assert!(
            matches!(clash, RepoError::Duplicate(_)),
            "{}: {clash:?}",
            db.backend()
        );

        assert_eq!(find(&store, "sb_1234567").await, vec![ops, twin]);
        assert_eq!(find(&store, "sb_7654321").await, vec![other]);
        assert!(
            find(&store, "sb_").await.is_empty(),
            "a prefix matches exactly"
        );
    }
}

#[tokio::test]
async fn api_keys_are_listed_in_pages_oldest_first() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let mut ids = Vec::new();
        for n in 0..5 {
            let k = key(&format!("key {n}"), &format!("hash {n}"), "sb_0000000");
            store.insert(&k).await.unwrap();
            ids.push(k.id);
        }
        let (keys, pages) = all_pages(2, |request| {
            let store = &store;
            async move { store.list(&request).await }
        })
        .await;
        let seen: Vec<ApiKeyId> = keys.iter().map(|k| k.id).collect();
        assert_eq!(seen, ids, "{}", db.backend());
        assert_eq!(pages, 3);
    }
}

#[tokio::test]
async fn api_keys_are_revoked_once() {
    for db in fresh_databases().await {
        let (store, ops) = with_ops(&db).await;
        assert!(store.revoke(ops.id, at(5)).await.unwrap());
        assert!(
            store.revoke(ops.id, at(9)).await.unwrap(),
            "revoking again is harmless"
        );
        let revoked = find(&store, "sb_1234567").await.remove(0);
        assert_eq!(
            revoked.revoked_at,
            Some(at(5)),
            "the first revocation counts: {}",
            db.backend()
        );
        assert!(!revoked.is_active(at(6)));
        assert!(!store.revoke(ApiKeyId::new(), at(5)).await.unwrap());
    }
}

/// The last use of each key with prefix `sb_1234567`, in id order.
async fn last_uses(store: &SeaStore) -> Vec<Option<DateTime<Utc>>> {
    let keys = find(store, "sb_1234567").await;
    keys.iter().map(|k| k.last_used_at).collect()
}

#[tokio::test]
async fn the_last_use_only_moves_forward() {
    for db in fresh_databases().await {
        let (store, ops) = with_ops(&db).await;
        store
            .insert(&key("idle", "bb22", "sb_1234567"))
            .await
            .unwrap();

        store.touch_last_used(ops.id, at(10)).await.unwrap();
        assert_eq!(
            last_uses(&store).await,
            [Some(at(10)), None],
            "{}",
            db.backend()
        );
        store.touch_last_used(ops.id, at(5)).await.unwrap();
        assert_eq!(
            last_uses(&store).await,
            [Some(at(10)), None],
            "never backwards"
        );
        store.touch_last_used(ops.id, at(70)).await.unwrap();
        assert_eq!(last_uses(&store).await, [Some(at(70)), None]);
        store.touch_last_used(ApiKeyId::new(), at(5)).await.unwrap();
    }
}

/// How many indexes named `api_keys_prefix` exist.
async fn prefix_indexes(store: &SeaStore) -> i64 {
    let sql = match store.connection().get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'api_keys_prefix'"
        }
        _ => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'api_keys_prefix'",
    };
    count(store, sql).await
}

#[tokio::test]
async fn the_expiry_migration_keeps_existing_keys_and_goes_down_again() {
    for db in fresh_databases().await {
        let store = SeaStore::new(connect(db.url()).await.unwrap());
        Migrator::up(store.connection(), Some(2)).await.unwrap();
        let id = ApiKeyId::new();
        let old_key = format!(
            "INSERT INTO api_keys (id, name, role, key_hash, prefix, created_at) \
             VALUES ('{id}', 'old', 'viewer', 'dd44', 'sb_abcdefa', 0)"
        );
        store
            .connection()
            .execute_unprepared(&old_key)
            .await
            .unwrap();

        Migrator::up(store.connection(), None).await.unwrap();
        let found = find(&store, "sb_abcdefa").await;
        assert_eq!(found.len(), 1, "{}", db.backend());
        assert_eq!((found[0].id, found[0].expires_at), (id, None));
        assert_eq!(found[0].last_used_at, None);
        assert_eq!(prefix_indexes(&store).await, 1);

        migrate_down_to(&store, 2).await;
        assert_eq!(prefix_indexes(&store).await, 0);
        let kept = "SELECT COUNT(*) FROM api_keys WHERE name = 'old'";
        assert_eq!(count(&store, kept).await, 1, "{}", db.backend());
    }
}
