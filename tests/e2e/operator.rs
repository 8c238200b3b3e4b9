//! An operator's message end to end: delivered through Telegram once, in order, retries included.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_e2e::fakes::{FakeOpenAi, Sent};
use switchboard_e2e::updates;
use switchboard_e2e::{TelegramWorld, TestApp};

/// Sends the operator's message with an `Idempotency-Key`, as a client that retries would;
/// returns the status, the body and whether it was a replay.
async fn send_keyed(app: &TestApp, path: &str) -> (u16, Value, bool) {
    let response = app
        .admin_request(Method::POST, path)
        .header("Idempotency-Key", "operator-note-1")
        .json(&json!({"text": "  A human here.  "}))
        .send()
        .await
        .unwrap();
    let replayed = response.headers().get("idempotency-replayed").is_some();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap(), replayed)
}

#[tokio::test]
async fn an_operator_message_reaches_the_chat_exactly_once_after_the_reply() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(
            db.url(),
            FakeOpenAi::answering("Hello from the model").await,
        )
        .await;
        world.deliver(&updates::text(1, 4242, 10, "hi there")).await;
        world.telegram.wait_for_sent(1, PATIENCE).await;
        let inbound = &world.messages().await[0];
        let conversation = inbound["conversation_id"].as_str().unwrap();

        let path = format!("/api/v1/conversations/{conversation}/messages");
        let (status, message, replayed) = send_keyed(&world.app, &path).await;
        assert_eq!((status, replayed), (202, false), "{message}");
        assert_eq!(message["status"], "pending");
        let (status, retried, replayed) = send_keyed(&world.app, &path).await;
        assert_eq!((status, replayed), (202, true), "a retry is replayed");
        assert_eq!(retried, message);

        let sent = world.telegram.wait_for_sent(2, PATIENCE).await;
        let expected = Sent {
            chat_id: json!(4242),
            text: "A human here.".into(),
        };
        assert_eq!(sent[1], expected, "after the reply: {sent:?}");
        assert_eq!(
            world.telegram.sent_after_settling().await.len(),
            2,
            "the operator's message went out once, retry included"
        );
        let location = format!("{path}/{}", message["id"].as_str().unwrap());
        let (status, delivered) = world.app.admin(Method::GET, &location, None).await;
        assert_eq!((status, &delivered["status"]), (200, &json!("sent")));
        assert_eq!(
            world.openai.requests().await.len(),
            1,
            "an operator's message asks the model nothing"
        );
        world.app.stop().await;
    })
    .await;
}
