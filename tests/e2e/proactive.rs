//! Messages the bot starts, end to end: stored in the chat's conversation (or a new one), delivered once through Telegram, and each refusal naming its field.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{updates, TelegramWorld};

/// Starts a message to chat 4242; the status and the body.
async fn start(world: &TelegramWorld, text: &str) -> (u16, Value) {
    let path = format!("/api/v1/bots/{}/messages", world.bot);
    let body = json!({"platform": "telegram", "chat_id": "4242", "text": text});
    world.app.admin(Method::POST, &path, Some(body)).await
}

#[tokio::test]
async fn the_bot_writes_first_into_the_chats_conversation_or_a_new_one() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("Hi!").await).await;
        world.deliver(&updates::text(1, 4242, 10, "hello")).await;
        world.telegram.wait_for_sent(1, PATIENCE).await;
        let first = world.messages().await[0]["conversation_id"].clone();

        let (status, message) = start(&world, "  Your order shipped.  ").await;
        assert_eq!(status, 202, "{message}");
        assert_eq!(
            (&message["status"], &message["conversation_id"]),
            (&json!("pending"), &first),
            "in the chat's active conversation"
        );
        let sent = world.telegram.wait_for_sent(2, PATIENCE).await;
        assert_eq!(
            (&sent[1].chat_id, sent[1].text.as_str()),
            (&json!(4242), "Your order shipped.")
        );

        let end = format!("/api/v1/conversations/{}/end", first.as_str().unwrap());
        let (status, ended) = world.app.admin(Method::POST, &end, None).await;
        assert_eq!(status, 200, "{ended}");
        let (status, later) = start(&world, "A new *offer*").await;
        assert_eq!(status, 202, "{later}");
        assert_ne!(
            later["conversation_id"], first,
            "a new conversation for the chat"
        );
        let sent = world.telegram.wait_for_sent(3, PATIENCE).await;
        assert_eq!(sent[2].text, "A new offer", "formatted as replies are");
        let delivered = world
            .app
            .wait_for_status(&world.bot, "sent", 3, PATIENCE)
            .await;
        assert_eq!(
            delivered.len(),
            4,
            "the question, its answer and two messages: {delivered:?}"
        );
        assert_eq!(
            world.telegram.sent_after_settling().await.len(),
            3,
            "each sent once"
        );
        assert!(world.app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn a_message_the_bot_cannot_start_is_refused_with_nothing_stored() {
    let db = database::testing::fresh_sqlite();
    let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("Hi!").await).await;
    world.deliver(&updates::text(1, 4242, 10, "hello")).await;
    world.telegram.wait_for_sent(1, PATIENCE).await;
    let path = format!("/api/v1/bots/{}/messages", world.bot);
    let cases = [
        (
            json!({"platform": "telegram", "chat_id": "9999", "text": "hi"}),
            "chat_id",
        ),
        (json!({"platform": "telegram", "text": "hi"}), "chat_id"),
        (
            json!({"platform": "telegram", "chat_id": "4242", "user_id": "4242", "text": "hi"}),
            "user_id",
        ),
        (
            json!({"platform": "fax", "chat_id": "4242", "text": "hi"}),
            "platform",
        ),
        (
            json!({"platform": "web_chat", "chat_id": "4242", "text": "hi"}),
            "platform",
        ),
        (
            json!({"platform": "telegram", "chat_id": "4242", "text": "  "}),
            "text",
        ),
        (json!({"platform": "telegram", "chat_id": "4242"}), "text"),
    ];
    world.app.assert_refusals(Method::POST, &path, &cases).await;

    let unbound = json!({"platform": "whatsapp", "user_id": "4242", "text": "hi"});
    let (status, problem) = world.app.admin(Method::POST, &path, Some(unbound)).await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("platform_not_bound")),
        "{problem}"
    );
    let unknown = json!({"platform": "telegram", "chat_id": "4242", "text": "hi", "template": {}});
    let (status, problem) = world.app.admin(Method::POST, &path, Some(unknown)).await;
    assert_eq!(status, 400, "an unknown field: {problem}");
    let missing_bot = "/api/v1/bots/0193a000-0000-7000-8000-000000000000/messages";
    let body = json!({"platform": "telegram", "chat_id": "4242", "text": "hi"});
    let (status, _) = world.app.admin(Method::POST, missing_bot, Some(body)).await;
    assert_eq!(status, 404);

    assert_eq!(
        world.messages().await.len(),
        2,
        "nothing stored but the first exchange"
    );
    assert_eq!(world.telegram.sent_after_settling().await.len(), 1);
    assert!(world.app.stop().await);
}
