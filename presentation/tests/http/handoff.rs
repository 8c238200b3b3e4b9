//! Handing a conversation to a person and back: `POST …/handoff` and `…/release`, the inbox
//! filter, and their refusals.

use crate::support::{
    assert_invalid_field, assert_problem, Reply, TestApp, OPERATOR_KEY, VIEWER_KEY,
};
use actix_web::test::TestRequest;
use domain::{Conversation, ConversationId};
use serde_json::{json, Value};

fn action(conversation: ConversationId, action: &str) -> String {
    format!("/api/v1/conversations/{conversation}/{action}")
}

/// `action` as the operator, with `body` as JSON when given.
async fn operate(
    app: &TestApp,
    conversation: &Conversation,
    what: &str,
    body: Option<Value>,
) -> Reply {
    let request = TestRequest::post().uri(&action(conversation.id, what));
    let request = match body {
        Some(body) => request.set_json(body),
        None => request,
    };
    app.as_key(OPERATOR_KEY, request).await
}

async fn waiting(app: &TestApp) -> Vec<Value> {
    let uri = "/api/v1/conversations?mode=human";
    let reply = app.as_key(VIEWER_KEY, TestRequest::get().uri(uri)).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    reply.body["items"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn an_operator_takes_a_conversation_over_and_gives_it_back() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    let conversation = app.seed_conversation(&bot).await;
    assert!(waiting(&app).await.is_empty());

    let taken = operate(&app, &conversation, "handoff", None).await;
    assert_eq!(taken.status, 200, "{}", taken.raw);
    assert_eq!(taken.body["mode"], "human");
    assert_eq!(taken.body["assigned_to"], "operator", "the key's name");
    let since = taken.body["handed_off_at"].clone();
    assert!(since.is_string(), "{}", taken.raw);
    let again = operate(&app, &conversation, "handoff", Some(json!({"note": "VIP"}))).await;
    assert_eq!(again.status, 200, "{}", again.raw);
    assert_eq!(
        again.body["handed_off_at"], since,
        "the first handoff is kept"
    );
    let inbox = waiting(&app).await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["id"], conversation.id.to_string());

    let released = operate(
        &app,
        &conversation,
        "release",
        Some(json!({"answer_pending": false})),
    )
    .await;
    assert_eq!(released.status, 200, "{}", released.raw);
    assert_eq!(released.body["mode"], "bot");
    assert_eq!(released.body["assigned_to"], Value::Null);
    assert_eq!(
        released.body["handed_off_at"], since,
        "when it last was handed off"
    );
    assert!(waiting(&app).await.is_empty());
    let stored = app.stored_conversation(conversation.id).await;
    assert!(!stored.is_handed_off());
    let again = operate(&app, &conversation, "release", None).await;
    assert_eq!(again.status, 200, "{}", again.raw);
    assert_eq!(
        again.body["mode"], "bot",
        "releasing a bot conversation changes nothing"
    );
}

#[actix_web::test]
async fn a_viewer_may_not_and_an_ended_or_missing_conversation_is_refused() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    let conversation = app.seed_conversation(&bot).await;
    for what in ["handoff", "release"] {
        let uri = action(conversation.id, what);
        let refused = app.as_key(VIEWER_KEY, TestRequest::post().uri(&uri)).await;
        assert_problem(&refused, 403, "forbidden");
        let missing = action(ConversationId::new(), what);
        let reply = app
            .as_key(OPERATOR_KEY, TestRequest::post().uri(&missing))
            .await;
        assert_problem(&reply, 404, "not_found");
    }
    assert!(!app
        .stored_conversation(conversation.id)
        .await
        .is_handed_off());

    let ended = operate(&app, &conversation, "end", None).await;
    assert_eq!(ended.status, 200, "{}", ended.raw);
    for what in ["handoff", "release"] {
        let reply = operate(&app, &conversation, what, None).await;
        assert_problem(&reply, 409, "conversation_ended");
    }
}

#[actix_web::test]
async fn a_bad_body_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    let conversation = app.seed_conversation(&bot).await;
    let long = operate(
        &app,
        &conversation,
        "handoff",
        Some(json!({"note": "x".repeat(501)})),
    )
    .await;
    assert_invalid_field(&long, "note");
    let unknown = operate(
        &app,
        &conversation,
        "handoff",
        Some(json!({"notes": "typo"})),
    )
    .await;
    assert_problem(&unknown, 400, "malformed_json");
    let request = TestRequest::post()
        .uri(&action(conversation.id, "release"))
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"answer_pending\":");
    let broken = app.as_key(OPERATOR_KEY, request).await;
    assert_problem(&broken, 400, "malformed_json");
    assert!(!app
        .stored_conversation(conversation.id)
        .await
        .is_handed_off());
}
