//! Leases: taken when free or expired, renewed by their holder, refused to others, released, and won by one of many racing claimants.

use crate::support::at;
use application::ports::Leases;
use database::testing::fresh_databases;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_lease_has_one_holder_until_it_expires_or_is_released() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let name = "telegram-poll:bot";
        let acquire = |holder: &'static str, secs: i64| {
            let store = store.clone();
            async move { store.acquire(name, holder, at(secs), TTL).await.unwrap() }
        };
        assert!(acquire("a", 0).await, "{}: free", db.backend());
        assert!(!acquire("b", 10).await, "held by a");
        assert!(acquire("a", 20).await, "a renews until 50 s");
        assert!(!acquire("b", 49).await, "the renewal counts");
        assert!(acquire("b", 50).await, "expired");
        assert!(!acquire("a", 51).await, "b holds it now");

        store.release(name, "a").await.unwrap();
        assert!(!acquire("a", 52).await, "a cannot release b's lease");
        store.release(name, "b").await.unwrap();
        assert!(acquire("a", 53).await, "released");
        assert!(
            store.acquire("another", "b", at(53), TTL).await.unwrap(),
            "names are independent"
        );
    }
}

#[tokio::test]
async fn of_many_racing_claimants_exactly_one_wins() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let claims = (0..8).map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .acquire("gateway:bot", &format!("replica-{n}"), at(0), TTL)
                    .await
                    .unwrap()
            })
        });
        let mut winners = 0;
        for claim in claims.collect::<Vec<_>>() {
            winners += usize::from(claim.await.unwrap());
        }
        assert_eq!(winners, 1, "{}", db.backend());
    }
}
