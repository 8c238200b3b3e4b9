//! `Idempotency-Key` on admin API POSTs: replay, reuse, requests in flight, scopes and secrets.

use crate::support::{api_key, assert_invalid_field, assert_problem, Reply, TestApp, OPERATOR_KEY};
use actix_web::http::header::HeaderValue;
use actix_web::test::TestRequest;
use application::idempotency::fingerprint;
use application::ports::{Claim, ClaimTimes, IdempotencyStore, IdempotentRequest};
use application::Principal;
use chrono::{Duration, Utc};
use domain::Role;
use serde_json::{json, Value};

const CREATE_BOT: &str = r#"{"name":"Ada","system_prompt":"be brief"}"#;

/// `POST /api/v1/bots` with this exact body and key.
fn create_bot(body: &str, key: &str) -> TestRequest {
    TestRequest::post()
        .uri("/api/v1/bots")
        .insert_header(("content-type", "application/json"))
        .insert_header(("Idempotency-Key", key))
        .set_payload(body.to_owned())
}

async fn bots(app: &TestApp) -> usize {
    app.stored_bots().await.len()
}

fn replayed(reply: &Reply) -> bool {
    reply.header("idempotency-replayed") == Some("true")
}

#[actix_web::test]
async fn a_retry_replays_the_first_answer_and_the_bot_is_created_once() {
    let app = TestApp::new().await;
    let first = app.admin(create_bot(CREATE_BOT, "k-1")).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    assert!(!replayed(&first));

    let retry = app.admin(create_bot(CREATE_BOT, "k-1")).await;
    assert_eq!(retry.status, 201, "{}", retry.raw);
    assert!(replayed(&retry));
    assert_eq!(retry.raw, first.raw);
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(retry.header("content-type"), Some("application/json"));
    assert_ne!(retry.header("x-request-id"), first.header("x-request-id"));
    assert_eq!(bots(&app).await, 1);
}

#[actix_web::test]
async fn the_same_key_for_another_request_is_422() {
    let app = TestApp::new().await;
    assert_eq!(app.admin(create_bot(CREATE_BOT, "k-1")).await.status, 201);
    let other_body = r#"{"name":"Bob","system_prompt":"be brief"}"#;
    let reply = app.admin(create_bot(other_body, "k-1")).await;
    assert_problem(&reply, 422, "idempotency_key_reused");
    let other_path = TestRequest::post()
        .uri("/api/v1/api-keys")
        .insert_header(("Idempotency-Key", "k-1"))
        .set_json(json!({"name": "ci", "role": "viewer"}));
    assert_problem(&app.admin(other_path).await, 422, "idempotency_key_reused");
    assert_eq!(bots(&app).await, 1);
    assert_eq!(app.stored_keys().await.len(), 3, "no key was issued");
}

/// The admin key's record of `key` for a bot creation with `body`.
async fn admins_request(app: &TestApp, key: &str, body: &str) -> IdempotentRequest {
    admins(app, key, "POST", "/api/v1/bots", body.as_bytes()).await
}

/// The admin key's record of `key` for `method` on `path` with `body`.
async fn admins(
    app: &TestApp,
    key: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> IdempotentRequest {
    let keys = app.stored_keys().await;
    let admin = keys.iter().find(|k| k.role == Role::Admin).unwrap();
    let principal = Principal {
        key_id: Some(admin.id),
        name: Some(admin.name.clone()),
        role: Role::Admin,
    };
    IdempotentRequest {
        scope: principal.scope(),
        key: key.into(),
        fingerprint: fingerprint(method, path, body),
    }
}

/// A claim held for a minute, kept for a day.
fn claim_times() -> ClaimTimes {
    let now = Utc::now();
    ClaimTimes {
        now,
        held_until: now + Duration::minutes(1),
        expires_at: now + Duration::days(1),
    }
}

/// What the store keeps for `request`, read by claiming it; a claim so taken is released.
async fn kept(app: &TestApp, request: &IdempotentRequest) -> Claim {
    let claim = app.store.claim(request, claim_times()).await.unwrap();
    if let Claim::Acquired(token) = &claim {
        assert!(app.store.release(request, token).await.unwrap());
    }
    claim
}

#[actix_web::test]
async fn a_key_whose_first_request_still_runs_is_409_until_it_is_released() {
    let app = TestApp::new().await;
    let in_flight = admins_request(&app, "k-1", CREATE_BOT).await;
    let claimed = app.store.claim(&in_flight, claim_times()).await.unwrap();
    let Claim::Acquired(token) = claimed else {
        panic!("the key is free");
    };
    let reply = app.admin(create_bot(CREATE_BOT, "k-1")).await;
    assert_problem(&reply, 409, "idempotency_key_in_use");
    assert_eq!(bots(&app).await, 0);

    assert!(app.store.release(&in_flight, &token).await.unwrap());
    let reply = app.admin(create_bot(CREATE_BOT, "k-1")).await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    assert_eq!(bots(&app).await, 1);
}

#[actix_web::test]
async fn server_errors_are_not_kept_so_a_retry_runs() {
    let app = TestApp::new().await;
    let conversation = app.seed_conversation(&app.seed_bound_bot().await).await;
    let path = format!("/api/v1/conversations/{}/messages", conversation.id);
    let body = json!({"text": "hello"});
    let send = || {
        TestRequest::post()
            .uri(&path)
            .insert_header(("Idempotency-Key", "send-1"))
            .set_json(&body)
    };
    app.ledger.unavailable.set(true);
    assert_problem(&app.admin(send()).await, 503, "service_unavailable");
    let bytes = serde_json::to_vec(&body).unwrap();
    let record = admins(&app, "send-1", "POST", &path, &bytes).await;
    assert!(
        matches!(kept(&app, &record).await, Claim::Acquired(_)),
        "released"
    );

    app.ledger.unavailable.set(false);
    let retry = app.admin(send()).await;
    assert_eq!(retry.status, 202, "{}", retry.raw);
    assert!(!replayed(&retry), "the retry ran");
    let again = app.admin(send()).await;
    assert_eq!((again.status.as_u16(), replayed(&again)), (202, true));
    assert_eq!(again.body, retry.body);
    assert_eq!(app.ledger_calls(), 2, "one failed write, one message");
}

#[actix_web::test]
async fn refusals_are_kept_and_replayed_too() {
    let app = TestApp::new().await;
    let blank = r#"{"name":" ","system_prompt":""}"#;
    let first = app.admin(create_bot(blank, "k-1")).await;
    assert_invalid_field(&first, "name");
    let retry = app.admin(create_bot(blank, "k-1")).await;
    assert_eq!((retry.status.as_u16(), replayed(&retry)), (422, true));
    assert_eq!(retry.raw, first.raw);
    assert_eq!(
        retry.header("content-type"),
        Some("application/problem+json")
    );
}

#[actix_web::test]
async fn malformed_keys_are_400_and_nothing_runs() {
    let app = TestApp::new().await;
    let long = "k".repeat(256);
    for key in ["", " ", "a b", "tab\there", "ключ", long.as_str()] {
        let value = HeaderValue::from_bytes(key.as_bytes()).unwrap();
        let request = create_bot(CREATE_BOT, "k").insert_header(("Idempotency-Key", value));
        let reply = app.admin(request).await;
        assert_problem(&reply, 400, "invalid_idempotency_key");
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(detail.starts_with("Idempotency-Key"), "{key:?}: {detail}");
    }
    let twice = create_bot(CREATE_BOT, "k-1").append_header(("Idempotency-Key", "k-2"));
    assert_problem(&app.admin(twice).await, 400, "invalid_idempotency_key");
    let longest = "k".repeat(255);
    assert_eq!(
        app.admin(create_bot(CREATE_BOT, &longest)).await.status,
        201
    );
    assert_eq!(bots(&app).await, 1);
}

#[actix_web::test]
async fn callers_do_not_share_keys() {
    let app = TestApp::new().await;
    let second_admin = "sb_d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3";
    let key = api_key(second_admin, Role::Admin);
    app.seed_key(&key).await;

    let mine = app.admin(create_bot(CREATE_BOT, "shared")).await;
    let theirs = app
        .as_key(second_admin, create_bot(CREATE_BOT, "shared"))
        .await;
    assert_eq!((mine.status.as_u16(), theirs.status.as_u16()), (201, 201));
    assert!(!replayed(&theirs));
    assert_ne!(mine.body["id"], theirs.body["id"]);
    let operator = app
        .as_key(OPERATOR_KEY, create_bot(CREATE_BOT, "shared"))
        .await;
    assert_problem(&operator, 403, "forbidden");
    assert!(!replayed(&operator));
    assert_eq!(bots(&app).await, 2);
}

#[actix_web::test]
async fn an_answer_carrying_a_secret_is_not_kept_and_not_replayed() {
    let app = TestApp::new().await;
    let body = json!({"name": "ci", "role": "viewer"});
    let issue = || {
        TestRequest::post()
            .uri("/api/v1/api-keys")
            .insert_header(("Idempotency-Key", "key-1"))
            .set_json(&body)
    };
    let first = app.admin(issue()).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let secret = first.body["key"].as_str().unwrap().to_owned();
    let bytes = serde_json::to_vec(&body).unwrap();
    let record = admins(&app, "key-1", "POST", "/api/v1/api-keys", &bytes).await;
    let Claim::Completed(answer) = kept(&app, &record).await else {
        panic!("the answer was not kept");
    };
    assert_eq!((answer.status, &answer.body), (201, &None));

    let retry = app.admin(issue()).await;
    assert_problem(&retry, 409, "idempotency_answer_withheld");
    assert!(!retry.raw.contains(&secret));
    assert_eq!(app.stored_keys().await.len(), 4, "issued once");
}

#[actix_web::test]
async fn requests_without_a_key_or_other_than_post_are_untouched() {
    let app = TestApp::new().await;
    for _ in 0..2 {
        let plain = TestRequest::post()
            .uri("/api/v1/bots")
            .set_json(serde_json::from_str::<Value>(CREATE_BOT).unwrap());
        assert_eq!(app.admin(plain).await.status, 201);
    }
    assert_eq!(bots(&app).await, 2, "no key, no deduplication");
    let read = TestRequest::get()
        .uri("/api/v1/bots")
        .insert_header(("Idempotency-Key", "not checked on a GET"));
    assert_eq!(app.admin(read).await.status, 200);
    let record = admins(&app, "not checked on a GET", "GET", "/api/v1/bots", b"").await;
    assert!(matches!(kept(&app, &record).await, Claim::Acquired(_)));
}
