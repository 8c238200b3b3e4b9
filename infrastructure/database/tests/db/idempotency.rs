//! Idempotency records: claims, replays, mismatches, releases, expiry and takeovers.

use crate::support::{at, count};
use application::ports::{
    Claim, ClaimTimes, ClaimToken, IdempotencyStore, IdempotentRequest, StoredResponse,
};
use database::testing::fresh_databases;
use database::SeaStore;
use futures::future::join_all;

const HOLD_SECS: i64 = 300;
const TTL_SECS: i64 = 86_400;

fn request(scope: &str, key: &str, body: &str) -> IdempotentRequest {
    IdempotentRequest {
        scope: scope.into(),
        key: key.into(),
        fingerprint: format!("fingerprint of {body}"),
    }
}

/// A claim at `at(secs)` with the use case's hold and lifetime.
fn times(secs: i64) -> ClaimTimes {
    ClaimTimes {
        now: at(secs),
        held_until: at(secs + HOLD_SECS),
        expires_at: at(secs + TTL_SECS),
    }
}

fn created() -> StoredResponse {
    StoredResponse {
        status: 201,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("location".into(), "/api/v1/bots/1".into()),
        ],
        body: Some(br#"{"id":"1"}"#.to_vec()),
    }
}

async fn claim(store: &SeaStore, request: &IdempotentRequest, secs: i64) -> Claim {
    store.claim(request, times(secs)).await.unwrap()
}

/// Claims a key that must be free; returns the token.
async fn acquire(store: &SeaStore, request: &IdempotentRequest, secs: i64) -> ClaimToken {
    match claim(store, request, secs).await {
        Claim::Acquired(token) => token,
        other => panic!("expected to acquire, found {other:?}"),
    }
}

#[tokio::test]
async fn the_first_answer_is_kept_and_found_by_the_same_request_only() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let first = request("key:a", "k1", "{}");
        let token = acquire(&store, &first, 0).await;
        assert_eq!(
            claim(&store, &first, 1).await,
            Claim::InProgress,
            "{}",
            db.backend()
        );
        let other_body = request("key:a", "k1", "{\"x\":1}");
        assert_eq!(claim(&store, &other_body, 1).await, Claim::Mismatch);

        assert!(store.complete(&first, &token, &created()).await.unwrap());
        assert!(!store.complete(&first, &token, &created()).await.unwrap());
        assert_eq!(claim(&store, &first, 2).await, Claim::Completed(created()));
        assert_eq!(claim(&store, &other_body, 2).await, Claim::Mismatch);
        assert!(!store.release(&first, &token).await.unwrap(), "answered");
    }
}

#[tokio::test]
async fn scopes_keep_callers_apart() {
    for db in fresh_databases().await {
        let store = db.store().await;
        acquire(&store, &request("key:a", "k1", "{}"), 0).await;
        acquire(&store, &request("bootstrap", "k1", "{}"), 0).await;
        acquire(&store, &request("key:a", "k2", "{}"), 0).await;
        let rows = count(&store, "SELECT COUNT(*) FROM idempotency_keys").await;
        assert_eq!(rows, 3, "{}", db.backend());
    }
}

#[tokio::test]
async fn a_released_claim_lets_a_retry_run() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let first = request("key:a", "k1", "{}");
        let token = acquire(&store, &first, 0).await;
        assert!(
            store.release(&first, &token).await.unwrap(),
            "{}",
            db.backend()
        );
        let again = acquire(&store, &first, 1).await;
        assert_ne!(again, token);
        assert!(!store.complete(&first, &token, &created()).await.unwrap());
        assert!(store.complete(&first, &again, &created()).await.unwrap());
    }
}

#[tokio::test]
async fn records_expire_after_their_lifetime_and_are_purged() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let first = request("key:a", "k1", "{}");
        let token = acquire(&store, &first, 0).await;
        assert!(store.complete(&first, &token, &created()).await.unwrap());
        acquire(&store, &request("key:b", "other", "{}"), 10).await;
        assert_eq!(
            claim(&store, &first, TTL_SECS - 1).await,
            Claim::Completed(created()),
            "{}",
            db.backend()
        );

        let reused = request("key:a", "k1", "another body");
        acquire(&store, &reused, TTL_SECS).await;
        let rows = count(&store, "SELECT COUNT(*) FROM idempotency_keys").await;
        assert_eq!(rows, 2, "the expired answer was purged, the other kept");
        acquire(&store, &request("key:c", "k", "{}"), TTL_SECS + 10).await;
        let rows = count(&store, "SELECT COUNT(*) FROM idempotency_keys").await;
        assert_eq!(rows, 2, "purged when another key is claimed");
    }
}

#[tokio::test]
async fn an_abandoned_claim_is_taken_over_after_its_hold() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let first = request("key:a", "k1", "{}");
        let dead = acquire(&store, &first, 0).await;
        assert_eq!(claim(&store, &first, HOLD_SECS).await, Claim::InProgress);
        let heir = acquire(&store, &first, HOLD_SECS + 1).await;
        assert_ne!(heir, dead, "{}", db.backend());
        assert!(!store.complete(&first, &dead, &created()).await.unwrap());
        assert!(!store.release(&first, &dead).await.unwrap());
        assert_eq!(
            claim(&store, &first, HOLD_SECS + 2).await,
            Claim::InProgress
        );
        assert!(store.complete(&first, &heir, &created()).await.unwrap());
    }
}

#[tokio::test]
async fn a_withheld_body_is_kept_as_none() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let first = request("key:a", "k1", "{}");
        let token = acquire(&store, &first, 0).await;
        let withheld = StoredResponse {
            body: None,
            ..created()
        };
        assert!(store.complete(&first, &token, &withheld).await.unwrap());
        assert_eq!(
            claim(&store, &first, 1).await,
            Claim::Completed(withheld),
            "{}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn concurrent_claims_of_one_key_acquire_it_once() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let first = request("key:a", "k1", "{}");
        let claims = (0..8).map(|_| store.claim(&first, times(0)));
        let outcomes = join_all(claims).await;
        let acquired = outcomes
            .iter()
            .filter(|c| matches!(c, Ok(Claim::Acquired(_))))
            .count();
        let running = outcomes
            .iter()
            .filter(|c| matches!(c, Ok(Claim::InProgress)))
            .count();
        assert_eq!(
            (acquired, running),
            (1, 7),
            "{}: {outcomes:?}",
            db.backend()
        );
    }
}
