//! The Telegram pipeline end to end: replies, history, duplicates, refusals, update kinds.

use crate::{on_each_database, PATIENCE};
use serde_json::json;
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::fakes::SETTLE;
use switchboard_e2e::updates;
use switchboard_e2e::TelegramWorld;

#[tokio::test]
async fn a_text_update_gets_exactly_one_reply_with_the_models_text() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(
            db.url(),
            FakeOpenAi::answering("Hello from the model").await,
        )
        .await;
        let mut events = world.app.events();

        world.deliver(&updates::text(1, 4242, 10, "hi there")).await;

        let sent = world.telegram.wait_for_sent(1, PATIENCE).await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].chat_id, json!(4242));
        assert_eq!(sent[0].text, "Hello from the model");
        assert_eq!(
            world.telegram.sent_after_settling().await.len(),
            1,
            "a second reply was sent"
        );
        let published = std::iter::from_fn(|| events.try_recv().ok())
            .map(|event| serde_json::to_value(event.event).unwrap()["type"].clone())
            .collect::<Vec<_>>();
        assert_eq!(
            published,
            [
                "conversation_started",
                "message_received",
                "reply_started",
                "reply_stored",
                "message_delivered"
            ],
            "the pipeline announces each stored fact"
        );
        let request = &world.openai.requests().await[0];
        assert_eq!(request["model"], "test-model");
        assert_eq!(request["messages"][0]["role"], "system");
        assert_eq!(request["messages"][0]["content"], "You are a test bot.");
        assert_eq!(request["messages"][1]["content"], "hi there");
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_second_message_sends_the_first_turn_as_history() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("noted").await).await;

        world
            .deliver(&updates::text(1, 7, 1, "my name is Ann"))
            .await;
        world.telegram.wait_for_sent(1, PATIENCE).await;
        world
            .deliver(&updates::text(2, 7, 2, "what is my name?"))
            .await;
        assert_eq!(world.telegram.wait_for_sent(2, PATIENCE).await.len(), 2);

        let second = &world.openai.requests().await[1];
        let turns: Vec<(&str, &str)> = second["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
            .collect();
        assert_eq!(
            turns[1..],
            [
                ("user", "my name is Ann"),
                ("assistant", "noted"),
                ("user", "what is my name?")
            ]
        );
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_same_update_delivered_three_times_is_answered_and_stored_once() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("once").await).await;
        let update = updates::text(5, 9, 3, "hello?");

        for _ in 0..3 {
            world.deliver(&update).await;
        }

        world.telegram.wait_for_sent(1, PATIENCE).await;
        assert_eq!(world.telegram.sent_after_settling().await.len(), 1);
        let messages = world
            .app
            .wait_for_status(&world.bot, "sent", 1, PATIENCE)
            .await;
        let inbound = messages
            .iter()
            .filter(|m| m["direction"] == "inbound")
            .count();
        assert_eq!(inbound, 1, "{messages:?}");
        assert_eq!(messages.len(), 2, "{messages:?}");
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_refused_and_nothing_is_stored() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("never").await).await;
        let update = updates::text(1, 1, 1, "let me in");

        for secret in [Some("wrong-secret"), None, Some("")] {
            let response = world.app.post_update(&world.bot, secret, &update).await;
            assert_eq!(response.status().as_u16(), 401, "secret {secret:?}");
            assert!(response.headers().contains_key("x-request-id"));
            let problem: serde_json::Value = response.json().await.unwrap();
            assert_eq!(problem["status"], 401);
            assert!(problem["request_id"].is_string());
        }

        tokio::time::sleep(SETTLE).await;
        assert!(world.messages().await.is_empty());
        assert!(world.telegram.send_attempts().await.is_empty());
        assert!(world.openai.requests().await.is_empty());
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn non_text_edited_unknown_and_bot_updates_behave_as_documented() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("model text").await).await;

        world.deliver(&updates::edited(1, 3, 1, "edited")).await;
        world.deliver(&updates::unknown_kind(2)).await;
        world.deliver(&updates::from_bot(3, 3, 2, "beep")).await;
        world.deliver(&updates::photo(4, 3, 3)).await;

        let sent = world.telegram.wait_for_sent(1, PATIENCE).await;
        assert_eq!(sent.len(), 1);
        assert!(sent[0].text.contains("only read text"), "{}", sent[0].text);
        assert_eq!(
            world.telegram.sent_after_settling().await.len(),
            1,
            "only the photo is answered"
        );
        assert!(
            world.openai.requests().await.is_empty(),
            "the model is not asked about a photo"
        );
        world.app.stop().await;
    })
    .await;
}
