//! Hostile text end to end, on each database: NUL and control characters in what the API
//! stores are refused with 422 naming the field; in a platform's message they are replaced.

use crate::on_each_database;
use crate::webchat::{connect, echo_app, next_frame, say};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_e2e::app::BOT_TOKEN;
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{updates, TelegramWorld, TestApp, PATIENCE};

/// Sends `body` and expects the API's 422 naming `field`.
async fn assert_refused(app: &TestApp, method: Method, path: &str, body: Value, field: &str) {
    let (status, problem) = app.admin(method.clone(), path, Some(body.clone())).await;
    assert_eq!(status, 422, "{method} {path} {body}: {problem}");
    assert_eq!(problem["code"], "invalid_field", "{problem}");
    assert_eq!(problem["field"], field, "{method} {path} {body}: {problem}");
}

/// Expects `value` in each of `fields` refused both creating a bot and updating `bot`.
async fn refused_in_bots(app: &TestApp, bot: &str, fields: [&str; 2], value: &str) {
    for field in fields {
        let mut created = json!({"name": "Ada", "system_prompt": "Be brief."});
        created[field] = json!(value);
        assert_refused(app, Method::POST, "/api/v1/bots", created, field).await;
        let patch = json!({ field: value });
        assert_refused(
            app,
            Method::PATCH,
            &format!("/api/v1/bots/{bot}"),
            patch,
            field,
        )
        .await;
    }
}

/// The same text with each hostile character in turn: NUL (which PostgreSQL refuses in text),
/// an escape sequence, a line break that would fake a table row, and a C1 control.
fn hostile(text: &str) -> [String; 4] {
    [
        format!("{text}\0"),
        format!("{text}\u{1b}[31m"),
        format!("{text}\r\nFAKE ROW"),
        format!("{text}\u{9b}"),
    ]
}

#[tokio::test]
async fn every_text_the_admin_api_stores_refuses_nul_and_control_characters() {
    on_each_database(|db| async move {
        let (app, bot, _fakes) = echo_app(&db).await;
        let (status, answer) = app
            .admin(
                Method::POST,
                &format!("/api/v1/bots/{bot}/chat"),
                Some(json!({"user_id": "customer-1", "text": "hello"})),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        let conversation = answer["conversation_id"].as_str().unwrap().to_owned();
        for value in hostile("x") {
            refused_in_bots(&app, &bot, ["name", "model"], &value).await;
            let key = json!({"name": value, "role": "viewer"});
            assert_refused(&app, Method::POST, "/api/v1/api-keys", key, "name").await;
            let token = json!({"token": format!("{BOT_TOKEN}{value}"), "secret_token": "s"});
            let telegram = format!("/api/v1/bots/{bot}/platforms/telegram");
            assert_refused(&app, Method::PUT, &telegram, token, "token").await;
            let chat = json!({"user_id": value, "text": "hi"});
            let chat_path = format!("/api/v1/bots/{bot}/chat");
            assert_refused(&app, Method::POST, &chat_path, chat, "user_id").await;
        }
        // Texts meant to hold lines keep line breaks and tabs, but no other control character.
        for value in hostile("x").into_iter().filter(|v| !v.contains('\n')) {
            refused_in_bots(&app, &bot, ["system_prompt", "fallback_message"], &value).await;
            let chat = json!({"user_id": "customer-1", "text": value});
            let chat_path = format!("/api/v1/bots/{bot}/chat");
            assert_refused(&app, Method::POST, &chat_path, chat, "text").await;
            let note = json!({"text": value});
            let notes = format!("/api/v1/conversations/{conversation}/messages");
            assert_refused(&app, Method::POST, &notes, note, "text").await;
        }
        let lines = json!({"name": "Ada", "system_prompt": "Be brief.\n\tAlways.\r\n",
                           "fallback_message": "Sorry.\nLater."});
        let (status, ada) = app.admin(Method::POST, "/api/v1/bots", Some(lines)).await;
        assert_eq!(status, 201, "{ada}");
        assert_eq!(ada["system_prompt"], "Be brief.\n\tAlways.\r\n");
        let (_, bots) = app.admin(Method::GET, "/api/v1/bots", None).await;
        let names: Vec<&str> = bots["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "nothing refused was stored: {bots}");
        assert!(app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn a_visitor_message_with_a_nul_is_refused_on_the_socket_and_the_next_one_answered() {
    on_each_database(|db| async move {
        let (app, bot, _fakes) = echo_app(&db).await;
        let (mut socket, _) = connect(&app, &bot, "").await;
        say(
            &mut socket,
            json!({"type": "message", "text": "hi\u{0}there"}),
        )
        .await;
        let refusal = next_frame(&mut socket).await;
        assert_eq!(refusal["type"], "error", "{refusal}");
        assert_eq!(refusal["code"], "invalid_field", "{refusal}");
        assert!(refusal["detail"].as_str().unwrap().starts_with("text:"));
        say(&mut socket, json!({"type": "message", "text": "hi there"})).await;
        let mut texts = Vec::new();
        while texts.len() < 2 {
            let frame = next_frame(&mut socket).await;
            if frame["type"] == "message" {
                texts.push(frame["message"]["text"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(texts, ["hi there", "(echo) you said: hi there"]);
        assert!(app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn a_platform_message_with_a_nul_is_kept_with_the_nul_replaced_and_answered() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::echoing().await).await;
        world
            .deliver(&updates::text(1, 7, 1, "hi\u{0}there\u{1b}[2J"))
            .await;
        world.deliver(&updates::text(2, 8, 1, "plain")).await;
        let sent = world.telegram.wait_for_sent(2, PATIENCE).await;
        let mut answers: Vec<&str> = sent.iter().map(|s| s.text.as_str()).collect();
        answers.sort_unstable();
        assert_eq!(answers, ["re: hi\u{fffd}there\u{fffd}[2J", "re: plain"]);
        let stored = world.messages().await;
        assert!(stored
            .iter()
            .any(|m| m["text"] == "hi\u{fffd}there\u{fffd}[2J"));
        assert!(world.app.stop().await);
    })
    .await;
}
