//! `/api/v1/api-keys`: issuing (shown once), listing without secrets, revoking, expiry and roles.

use crate::support::{
    api_key, assert_invalid_field, assert_problem, TestApp, ADMIN_KEY, OPERATOR_KEY, VIEWER_KEY,
};
use actix_web::test::TestRequest;
use chrono::{DateTime, Duration, Utc};
use domain::{ApiKeyId, Role};
use serde_json::{json, Value};

fn post_key(body: Value) -> TestRequest {
    TestRequest::post().uri("/api/v1/api-keys").set_json(body)
}

fn list_keys(query: &str) -> TestRequest {
    TestRequest::get().uri(&format!("/api/v1/api-keys{query}"))
}

fn revoke_key(id: &str) -> TestRequest {
    TestRequest::delete().uri(&format!("/api/v1/api-keys/{id}"))
}

fn read_bots() -> TestRequest {
    TestRequest::get().uri("/api/v1/bots")
}

/// Issues a key through the API; answers the creation body.
async fn issue(app: &TestApp, role: &str) -> Value {
    let reply = app
        .admin(post_key(json!({"name": "ci", "role": role})))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    reply.body
}

/// Every key listed, following the cursor `limit` items at a time.
async fn list_all(app: &TestApp, limit: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let mut query = format!("?limit={limit}");
    loop {
        let reply = app.admin(list_keys(&query)).await;
        assert_eq!(reply.status, 200, "{}", reply.raw);
        items.extend(reply.body["items"].as_array().unwrap().iter().cloned());
        let Some(cursor) = reply.body["next_cursor"].as_str() else {
            return items;
        };
        query = format!("?limit={limit}&cursor={cursor}");
    }
}

#[actix_web::test]
async fn creating_a_key_answers_201_with_the_key_shown_once() {
    let app = TestApp::new().await;
    let expiry = "2999-01-31T12:00:00Z";
    let reply = app
        .admin(post_key(
            json!({"name": " deploy bot ", "role": "operator", "expires_at": expiry}),
        ))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = &reply.body;
    let key = body["key"].as_str().unwrap();
    assert!(key.starts_with("sb_") && key.len() == 67, "{key}");
    assert_eq!(body["prefix"], &key[..10]);
    assert_eq!(body["name"], "deploy bot");
    assert_eq!(body["role"], "operator");
    let expires_at = body["expires_at"].as_str().unwrap();
    assert_eq!(
        DateTime::parse_from_rfc3339(expires_at).unwrap(),
        DateTime::parse_from_rfc3339(expiry).unwrap()
    );
    DateTime::parse_from_rfc3339(body["created_at"].as_str().unwrap()).unwrap();
    let stored = app.stored_keys().await.pop().unwrap();
    assert_eq!(body["id"], stored.id.to_string());
    assert_ne!(stored.key_hash, key, "only the digest is stored");

    assert_eq!(app.as_key(key, read_bots()).await.status, 200);
    let write = TestRequest::post()
        .uri("/api/v1/bots")
        .set_json(json!({"name": "Ada", "system_prompt": "be brief"}));
    assert_problem(&app.as_key(key, write).await, 403, "forbidden");
}

#[actix_web::test]
async fn listing_pages_through_keys_and_never_shows_a_key_or_its_digest() {
    let app = TestApp::new().await;
    let issued = issue(&app, "viewer").await;
    let key = issued["key"].as_str().unwrap();
    assert_eq!(app.as_key(key, read_bots()).await.status, 200);

    let items = list_all(&app, 2).await;
    assert_eq!(items.len(), 4, "three seeded keys and the new one");
    let listed = items.iter().find(|k| k["id"] == issued["id"]).unwrap();
    let mut fields: Vec<&str> = listed
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "created_at",
            "expires_at",
            "id",
            "last_used_at",
            "name",
            "prefix",
            "revoked_at",
            "role"
        ]
    );
    assert!(listed["last_used_at"].is_string(), "its use was recorded");
    assert_eq!(listed["revoked_at"], Value::Null);

    let page = app.admin(list_keys("")).await;
    let secrets = app.stored_keys().await;
    for secret in [key, ADMIN_KEY, OPERATOR_KEY, VIEWER_KEY] {
        assert!(!page.raw.contains(secret), "{}", page.raw);
    }
    for stored in secrets {
        assert!(!page.raw.contains(&stored.key_hash), "{}", page.raw);
    }
}

#[actix_web::test]
async fn a_revoked_key_is_refused_from_then_on() {
    let app = TestApp::new().await;
    let issued = issue(&app, "admin").await;
    let (id, key) = (
        issued["id"].as_str().unwrap(),
        issued["key"].as_str().unwrap(),
    );
    assert_eq!(app.as_key(key, read_bots()).await.status, 200);

    let reply = app.admin(revoke_key(id)).await;
    assert_eq!(reply.status, 204, "{}", reply.raw);
    assert!(reply.raw.is_empty());
    assert_problem(&app.as_key(key, read_bots()).await, 401, "unauthenticated");
    let again = app.admin(revoke_key(id)).await;
    assert_eq!(again.status, 204, "revoking twice is harmless");

    let listed = list_all(&app, 50).await;
    let revoked = listed.iter().find(|k| k["id"] == id).unwrap();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
}

#[actix_web::test]
async fn revoking_an_unknown_key_is_404() {
    let app = TestApp::new().await;
    let unknown = app.admin(revoke_key(&ApiKeyId::new().to_string())).await;
    assert_problem(&unknown, 404, "not_found");
    let malformed = app.admin(revoke_key("not-an-id")).await;
    assert_problem(&malformed, 404, "not_found");
}

#[actix_web::test]
async fn an_expired_key_is_401() {
    let app = TestApp::new().await;
    let secret = format!("sb_{}", "d3".repeat(32));
    let mut expired = api_key(&secret, Role::Admin);
    expired.expires_at = Some(Utc::now() - Duration::seconds(1));
    app.seed_key(&expired).await;
    assert_problem(
        &app.as_key(&secret, read_bots()).await,
        401,
        "unauthenticated",
    );
    assert_problem(
        &app.as_key(&secret, list_keys("")).await,
        401,
        "unauthenticated",
    );
}

#[actix_web::test]
async fn only_admins_manage_keys() {
    let app = TestApp::new().await;
    let id = app.stored_keys().await[0].id.to_string();
    let routes = || {
        [
            post_key(json!({"name": "x", "role": "admin"})),
            list_keys(""),
            revoke_key(&id),
        ]
    };
    for key in [VIEWER_KEY, OPERATOR_KEY] {
        for request in routes() {
            assert_problem(&app.as_key(key, request).await, 403, "forbidden");
        }
    }
    for request in routes() {
        assert_problem(&app.send(request).await, 401, "unauthenticated");
    }
    let keys = app.stored_keys().await;
    assert_eq!(keys.len(), 3, "nothing was issued");
    assert!(
        keys.iter().all(|k| k.revoked_at.is_none()),
        "nothing was revoked"
    );
}

#[actix_web::test]
async fn invalid_fields_are_422_naming_the_field() {
    let app = TestApp::new().await;
    let past = (Utc::now() - Duration::days(1)).to_rfc3339();
    let cases = [
        (json!({"role": "viewer"}), "name"),
        (json!({"name": "   ", "role": "viewer"}), "name"),
        (json!({"name": "x".repeat(101), "role": "viewer"}), "name"),
        (json!({"name": "ci"}), "role"),
        (json!({"name": "ci", "role": "root"}), "role"),
        (
            json!({"name": "ci", "role": "viewer", "expires_at": "soon"}),
            "expires_at",
        ),
        (
            json!({"name": "ci", "role": "viewer", "expires_at": past}),
            "expires_at",
        ),
    ];
    for (body, field) in cases {
        assert_invalid_field(&app.admin(post_key(body)).await, field);
    }
    assert_eq!(app.stored_keys().await.len(), 3, "nothing was issued");
}

#[actix_web::test]
async fn unknown_fields_are_refused() {
    let app = TestApp::new().await;
    let body = json!({"name": "ci", "role": "viewer", "scopes": ["all"]});
    let reply = app.admin(post_key(body)).await;
    assert_problem(&reply, 400, "malformed_json");
    assert!(
        reply.body["detail"].as_str().unwrap().contains("scopes"),
        "{}",
        reply.raw
    );
    assert_eq!(app.stored_keys().await.len(), 3);
}

#[actix_web::test]
async fn a_key_learns_who_it_is() {
    let app = TestApp::new().await;
    let viewer = app
        .as_key(VIEWER_KEY, TestRequest::get().uri("/api/v1/me"))
        .await;
    assert_eq!(viewer.status, 200, "{}", viewer.raw);
    assert_eq!(viewer.body["role"], "viewer");
    assert_eq!(viewer.body["name"], "viewer");
    assert!(viewer.body["key_id"].is_string());
    let anonymous = app.send(TestRequest::get().uri("/api/v1/me")).await;
    assert_problem(&anonymous, 401, "unauthenticated");
}
