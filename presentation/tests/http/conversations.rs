//! `/api/v1/conversations`: filters, reads, ending, and message transcripts.

use crate::support::{assert_invalid_field, assert_problem, TestApp, OPERATOR_KEY, VIEWER_KEY};
use actix_web::test::TestRequest;
use chrono::{DateTime, Utc};
use domain::ConversationId;
use serde_json::{json, Value};

#[actix_web::test]
async fn conversations_are_listed_and_filtered() {
    let app = TestApp::new().await;
    let ada = app.seed_bot("Ada").await;
    let bob = app.seed_bot("Bob").await;
    let conversation = app.seed_conversation(&ada).await;
    app.seed_conversation(&bob).await;

    let all = app
        .as_key(VIEWER_KEY, TestRequest::get().uri("/api/v1/conversations"))
        .await;
    assert_eq!(all.status, 200, "{}", all.raw);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(all.body["next_cursor"], Value::Null);

    let uri = format!(
        "/api/v1/conversations?bot_id={}&platform=telegram&status=active",
        ada.id
    );
    let filtered = app.as_key(VIEWER_KEY, TestRequest::get().uri(&uri)).await;
    let items = filtered.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0],
        json!({
            "id": conversation.id.to_string(),
            "bot_id": ada.id.to_string(),
            "platform": "telegram",
            "external_chat_id": "777",
            "status": "active",
            "mode": "bot",
            "handed_off_at": null,
            "assigned_to": null,
            "created_at": items[0]["created_at"],
            "updated_at": items[0]["updated_at"],
        })
    );

    let ended = app
        .as_key(
            VIEWER_KEY,
            TestRequest::get().uri("/api/v1/conversations?status=ended"),
        )
        .await;
    assert!(ended.body["items"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn invalid_filters_are_400() {
    let app = TestApp::new().await;
    for query in [
        "status=sleeping",
        "platform=myspace",
        "bot_id=42",
        "limit=-1",
        "created_after=yesterday",
        "created_after=2025-01-01",
        "created_before=2025-01-01T00:00:00",
        "created_before=2025-13-01T00:00:00Z",
    ] {
        let reply = app
            .as_key(
                VIEWER_KEY,
                TestRequest::get().uri(&format!("/api/v1/conversations?{query}")),
            )
            .await;
        assert_problem(&reply, 400, "invalid_query");
    }
}

#[actix_web::test]
async fn a_conversation_is_read_by_id_or_404() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    let conversation = app.seed_conversation(&bot).await;
    let reply = app
        .as_key(
            VIEWER_KEY,
            TestRequest::get().uri(&format!("/api/v1/conversations/{}", conversation.id)),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["id"], conversation.id.to_string());

    let missing = format!("/api/v1/conversations/{}", domain::ConversationId::new());
    for uri in [missing.as_str(), "/api/v1/conversations/xyz"] {
        let reply = app.as_key(VIEWER_KEY, TestRequest::get().uri(uri)).await;
        assert_problem(&reply, 404, "not_found");
    }
}

#[actix_web::test]
async fn an_operator_ends_a_conversation_and_a_viewer_may_not() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    let conversation = app.seed_conversation(&bot).await;
    let uri = format!("/api/v1/conversations/{}/end", conversation.id);

    let refused = app.as_key(VIEWER_KEY, TestRequest::post().uri(&uri)).await;
    assert_problem(&refused, 403, "forbidden");

    let reply = app
        .as_key(OPERATOR_KEY, TestRequest::post().uri(&uri))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(reply.body["status"], "ended");

    let missing = format!(
        "/api/v1/conversations/{}/end",
        domain::ConversationId::new()
    );
    let reply = app.admin(TestRequest::post().uri(&missing)).await;
    assert_problem(&reply, 404, "not_found");
}

#[actix_web::test]
async fn messages_carry_direction_text_content_and_status() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    let conversation = app.seed_conversation(&bot).await;
    let uri = format!("/api/v1/conversations/{}/messages", conversation.id);
    let reply = app.as_key(VIEWER_KEY, TestRequest::get().uri(&uri)).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let items = reply.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let question = &items[0];
    assert_eq!(question["direction"], "inbound");
    assert_eq!(question["text"], "hello");
    assert_eq!(
        question["content"],
        json!({"type": "text", "text": "hello"})
    );
    assert_eq!(question["status"], "received");
    assert_eq!(question["reply_to"], Value::Null);
    assert_eq!(question["conversation_id"], conversation.id.to_string());
    let answer = &items[1];
    assert_eq!(answer["direction"], "outbound");
    assert_eq!(answer["status"], "pending");
    assert_eq!(answer["reply_to"], question["id"]);
    let photo = &items[2];
    assert_eq!(photo["text"], "[photo]");
    assert_eq!(
        photo["content"],
        json!({"type": "unsupported", "kind": "photo"})
    );

    let paged = app
        .as_key(
            VIEWER_KEY,
            TestRequest::get().uri(&format!("{uri}?limit=2")),
        )
        .await;
    assert_eq!(paged.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(paged.body["next_cursor"], items[1]["id"]);

    let missing = format!(
        "/api/v1/conversations/{}/messages",
        domain::ConversationId::new()
    );
    let reply = app
        .as_key(VIEWER_KEY, TestRequest::get().uri(&missing))
        .await;
    assert_problem(&reply, 404, "not_found");
}

/// The ids listed by `GET /api/v1/conversations?{query}`.
async fn listed(app: &TestApp, query: &str) -> Vec<String> {
    let uri = format!("/api/v1/conversations?{query}");
    let reply = app.as_key(VIEWER_KEY, TestRequest::get().uri(&uri)).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.raw);
    let items = reply.body["items"].as_array().unwrap();
    items
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Seeds a conversation of a new bot, created at `at` (RFC 3339).
async fn conversation_created(app: &TestApp, at: &str) -> ConversationId {
    let created: DateTime<Utc> = at.parse().unwrap();
    let bot = app.seed_bot("Ada").await;
    app.seed_conversation_at(&bot, created).await.id
}

#[actix_web::test]
async fn conversations_are_filtered_by_creation_time() {
    let app = TestApp::new().await;
    let january = conversation_created(&app, "2025-01-01T00:00:00Z")
        .await
        .to_string();
    let june = conversation_created(&app, "2025-06-01T00:00:00Z")
        .await
        .to_string();

    assert_eq!(
        listed(&app, "created_after=2025-03-01T00:00:00Z").await,
        [june]
    );
    // `+` must be percent-encoded in a query string.
    assert_eq!(
        listed(&app, "created_before=2025-03-01T00:00:00%2B01:00").await,
        [january.as_str()]
    );
    let window = "created_after=2025-01-01T00:00:00Z&created_before=2025-06-01T00:00:00Z";
    assert_eq!(listed(&app, window).await, [january], "start in, end out");
    let instant = "created_after=2025-06-01T00:00:00Z&created_before=2025-06-01T00:00:00Z";
    assert!(listed(&app, instant).await.is_empty());
}

#[actix_web::test]
async fn a_window_ending_before_it_starts_is_422_naming_created_after() {
    let app = TestApp::new().await;
    let uri = "/api/v1/conversations?created_after=2025-02-01T00:00:00Z&created_before=2025-01-01T00:00:00Z";
    let reply = app.as_key(VIEWER_KEY, TestRequest::get().uri(uri)).await;
    assert_invalid_field(&reply, "created_after");
}
