//! An operator's message end to end: stored, then delivered through Telegram once, in order.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use serde_json::json;
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram, Sent};
use switchboard_e2e::updates;
use switchboard_e2e::{TestApp, TestConfig};

#[tokio::test]
async fn an_operator_message_reaches_the_chat_exactly_once_after_the_reply() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::answering("Hello from the model").await;
        let telegram = FakeTelegram::start().await;
        let app = TestApp::spawn(&TestConfig::new(db.url(), &openai, &telegram)).await;
        let bot = app.telegram_bot(None).await;
        app.deliver(&bot, &updates::text(1, 4242, 10, "hi there"))
            .await;
        telegram.wait_for_sent(1, PATIENCE).await;
        let inbound = &app.messages_of(&bot).await[0];
        let conversation = inbound["conversation_id"].as_str().unwrap();

        let path = format!("/api/v1/conversations/{conversation}/messages");
        let body = json!({"text": "  A human here.  "});
        let (status, message) = app.admin(Method::POST, &path, Some(body)).await;
        assert_eq!(status, 202, "{message}");
        assert_eq!(message["status"], "pending");

        let sent = telegram.wait_for_sent(2, PATIENCE).await;
        let expected = Sent {
            chat_id: json!(4242),
            text: "A human here.".into(),
        };
        assert_eq!(sent[1], expected, "after the reply: {sent:?}");
        assert_eq!(
            telegram.sent_after_settling().await.len(),
            2,
            "the operator's message went out once"
        );
        let location = format!("{path}/{}", message["id"].as_str().unwrap());
        let (status, delivered) = app.admin(Method::GET, &location, None).await;
        assert_eq!((status, &delivered["status"]), (200, &json!("sent")));
        assert_eq!(
            openai.requests().await.len(),
            1,
            "an operator's message asks the model nothing"
        );
        app.stop().await;
    })
    .await;
}
