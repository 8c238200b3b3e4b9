//! `POST /api/v1/conversations/{id}/messages`: an operator writes into a conversation.

use crate::support::{assert_invalid_field, assert_problem, TestApp, OPERATOR_KEY, VIEWER_KEY};
use actix_web::test::TestRequest;
use domain::{Conversation, ConversationId};
use serde_json::{json, Value};

fn messages_uri(id: ConversationId) -> String {
    format!("/api/v1/conversations/{id}/messages")
}

fn post_text(id: ConversationId, body: Value) -> TestRequest {
    TestRequest::post().uri(&messages_uri(id)).set_json(body)
}

/// A conversation of a bot bound to Telegram.
async fn bound_conversation(app: &TestApp) -> Conversation {
    let bot = app.seed_bound_bot().await;
    app.seed_conversation(&bot).await
}

#[actix_web::test]
async fn an_operator_message_is_accepted_stored_pending_and_readable_at_its_location() {
    let app = TestApp::new().await;
    let conversation = bound_conversation(&app).await;
    let reply = app
        .as_key(
            OPERATOR_KEY,
            post_text(conversation.id, json!({"text": "  a human here\n"})),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.raw);
    let message = &reply.body;
    assert_eq!(message["text"], "a human here");
    assert_eq!(message["direction"], "outbound");
    assert_eq!(message["status"], "pending");
    assert_eq!(message["reply_to"], Value::Null);
    assert_eq!(message["conversation_id"], conversation.id.to_string());
    let id = message["id"].as_str().unwrap();
    let location = format!("{}/{id}", messages_uri(conversation.id));
    assert_eq!(reply.header("location"), Some(location.as_str()));
    assert_eq!(app.ledger_calls(), 1);

    let read = app
        .as_key(VIEWER_KEY, TestRequest::get().uri(&location))
        .await;
    assert_eq!(read.status, 200, "{}", read.raw);
    assert_eq!(&read.body, message);
    let listed = app
        .as_key(
            VIEWER_KEY,
            TestRequest::get().uri(&messages_uri(conversation.id)),
        )
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 4);
}

#[actix_web::test]
async fn a_viewer_may_not_send() {
    let app = TestApp::new().await;
    let conversation = bound_conversation(&app).await;
    let reply = app
        .as_key(
            VIEWER_KEY,
            post_text(conversation.id, json!({"text": "hi"})),
        )
        .await;
    assert_problem(&reply, 403, "forbidden");
    assert_eq!(app.ledger_calls(), 0);
}

#[actix_web::test]
async fn text_must_be_present_and_1_to_4096_characters_after_trimming() {
    let app = TestApp::new().await;
    let conversation = bound_conversation(&app).await;
    let longest = "é".repeat(4096);
    let accepted = app
        .admin(post_text(
            conversation.id,
            json!({"text": format!(" {longest} ")}),
        ))
        .await;
    assert_eq!(
        accepted.status, 202,
        "4096 characters fit: {}",
        accepted.raw
    );
    for body in [
        json!({}),
        json!({"text": null}),
        json!({"text": ""}),
        json!({"text": " \n\t "}),
        json!({"text": format!("{longest}é")}),
    ] {
        let reply = app.admin(post_text(conversation.id, body.clone())).await;
        assert_invalid_field(&reply, "text");
    }
    assert_eq!(app.ledger_calls(), 1, "only the valid message was written");
}

#[actix_web::test]
async fn unknown_fields_and_wrong_types_are_400() {
    let app = TestApp::new().await;
    let conversation = bound_conversation(&app).await;
    for body in [json!({"text": "hi", "reply_to": "x"}), json!({"text": 42})] {
        let reply = app.admin(post_text(conversation.id, body)).await;
        assert_problem(&reply, 400, "malformed_json");
    }
    assert_eq!(app.ledger_calls(), 0);
}

#[actix_web::test]
async fn unknown_ended_or_unbound_conversations_are_refused() {
    let app = TestApp::new().await;
    let hi = json!({"text": "hi"});
    let unknown = app
        .admin(post_text(ConversationId::new(), hi.clone()))
        .await;
    assert_problem(&unknown, 404, "not_found");

    let ended = bound_conversation(&app).await;
    let end = format!("/api/v1/conversations/{}/end", ended.id);
    assert_eq!(app.admin(TestRequest::post().uri(&end)).await.status, 200);
    let reply = app.admin(post_text(ended.id, hi.clone())).await;
    assert_problem(&reply, 409, "conversation_ended");

    let unbound = app.seed_conversation(&app.seed_bot("unbound").await).await;
    let reply = app.admin(post_text(unbound.id, hi)).await;
    assert_problem(&reply, 409, "platform_not_bound");
    assert!(reply.body["detail"].as_str().unwrap().contains("telegram"));
    assert_eq!(app.ledger_calls(), 0);
}

#[actix_web::test]
async fn a_message_is_read_only_through_its_own_conversation() {
    let app = TestApp::new().await;
    let conversation = bound_conversation(&app).await;
    let other = bound_conversation(&app).await;
    let sent = app
        .admin(post_text(conversation.id, json!({"text": "hi"})))
        .await;
    let id = sent.body["id"].as_str().unwrap();
    let elsewhere = format!("{}/{id}", messages_uri(other.id));
    let reply = app.admin(TestRequest::get().uri(&elsewhere)).await;
    assert_problem(&reply, 404, "not_found");
    let unknown = format!(
        "{}/{}",
        messages_uri(conversation.id),
        ConversationId::new()
    );
    let reply = app.admin(TestRequest::get().uri(&unknown)).await;
    assert_problem(&reply, 404, "not_found");
}

#[actix_web::test]
async fn storage_down_is_503() {
    let app = TestApp::new().await;
    let conversation = bound_conversation(&app).await;
    app.ledger.unavailable.set(true);
    let reply = app
        .admin(post_text(conversation.id, json!({"text": "hi"})))
        .await;
    assert_problem(&reply, 503, "service_unavailable");
}
