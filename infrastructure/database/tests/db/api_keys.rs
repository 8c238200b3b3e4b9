//! API keys: insert, lookup by digest, listing and revocation.

use crate::support::at;
use database::testing::fresh_databases;
use domain::repositories::ApiKeyRepository;
use domain::{ApiKey, ApiKeyId, RepoError, Role};

fn key(name: &str, hash: &str) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        name: name.into(),
        role: Role::Operator,
        key_hash: hash.into(),
        prefix: "sb_abcd".into(),
        created_at: at(0),
        revoked_at: None,
    }
}

#[tokio::test]
async fn api_keys_are_found_by_hash_and_revoked_once() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let ops = key("ops", "aa11");
        let ci = key("ci", "bb22");
        store.insert(&ops).await.unwrap();
        store.insert(&ci).await.unwrap();
        let clash = store.insert(&key("clash", "aa11")).await.unwrap_err();
        assert!(
            matches!(clash, RepoError::Duplicate(_)),
            "{}: {clash:?}",
            db.backend()
        );

        assert_eq!(store.find_by_hash("aa11").await.unwrap(), Some(ops.clone()));
        assert_eq!(store.find_by_hash("zz").await.unwrap(), None);
        assert_eq!(store.list().await.unwrap(), vec![ops.clone(), ci.clone()]);

        assert!(store.revoke(ops.id, at(5)).await.unwrap());
        assert!(
            store.revoke(ops.id, at(9)).await.unwrap(),
            "revoking again is harmless"
        );
        let revoked = store.find_by_hash("aa11").await.unwrap().unwrap();
        assert_eq!(
            revoked.revoked_at,
            Some(at(5)),
            "the first revocation counts"
        );
        assert!(!revoked.is_active());
        assert!(!store.revoke(ApiKeyId::new(), at(5)).await.unwrap());
    }
}
