//! A conversation handed to a person end to end: the bot stays silent while the operator
//! answers (also with an answer the model was still writing when the person took over), and
//! answers the pending message exactly once when released.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{poll_until, updates, TelegramWorld};

#[tokio::test]
async fn a_handed_off_chat_asks_no_model_and_its_release_answers_the_pending_message_once() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::echoing().await).await;
        world.deliver(&updates::text(1, 4242, 1, "hello")).await;
        world.telegram.wait_for_sent(1, PATIENCE).await;
        let conversation = world.messages().await[0]["conversation_id"].clone();
        let path = |what: &str| {
            format!(
                "/api/v1/conversations/{}/{what}",
                conversation.as_str().unwrap()
            )
        };
        let (status, taken) = world.app.admin(Method::POST, &path("handoff"), None).await;
        assert_eq!((status, &taken["mode"]), (200, &json!("human")), "{taken}");

        for n in 2..=4 {
            let text = format!("a person, please ({n})");
            world.deliver(&updates::text(n, 4242, n, &text)).await;
        }
        let operator = Some(json!({"text": "A human here."}));
        let (status, message) = world
            .app
            .admin(Method::POST, &path("messages"), operator)
            .await;
        assert_eq!(status, 202, "{message}");
        // The operator's message goes out behind the three in the chat's lane.
        let sent = world.telegram.wait_for_sent(2, PATIENCE).await;
        assert_eq!(sent[1].text, "A human here.");
        assert_eq!(world.messages().await.len(), 6, "every message is stored");
        assert_eq!(world.telegram.sent_after_settling().await.len(), 2);
        assert_eq!(
            world.openai.requests().await.len(),
            1,
            "the model was not asked"
        );

        let answer = Some(json!({"answer_pending": true}));
        let (status, released) = world
            .app
            .admin(Method::POST, &path("release"), answer)
            .await;
        assert_eq!(
            (status, &released["mode"]),
            (200, &json!("bot")),
            "{released}"
        );
        let sent = world.telegram.wait_for_sent(3, PATIENCE).await;
        assert_eq!(
            sent[2].text, "re: a person, please (4)",
            "the latest one is answered"
        );
        let (status, _) = world.app.admin(Method::POST, &path("release"), None).await;
        assert_eq!(status, 200, "releasing again changes nothing");
        assert_eq!(
            world.telegram.sent_after_settling().await.len(),
            3,
            "answered once"
        );
        assert_eq!(world.openai.requests().await.len(), 2);
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_keyword_or_human_hands_the_chat_off_after_telling_the_user() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::echoing().await).await;
        let bot = format!("/api/v1/bots/{}", world.bot);
        let keywords = Some(json!({"handoff_keywords": ["agent"]}));
        let (status, body) = world.app.admin(Method::PATCH, &bot, keywords).await;
        assert_eq!(status, 200, "{body}");

        world
            .deliver(&updates::text(1, 7, 1, "I want an Agent."))
            .await;
        world.deliver(&updates::text(2, 8, 1, "/human")).await;
        let sent = world.telegram.wait_for_sent(2, PATIENCE).await;
        let told = "I'm passing you to a person. They will answer here as soon as they can.";
        assert!(sent.iter().all(|s| s.text == told), "{sent:?}");
        let path = "/api/v1/conversations?mode=human";
        let (_, waiting) = world.app.admin(Method::GET, path, None).await;
        assert_eq!(waiting["items"].as_array().unwrap().len(), 2, "{waiting}");

        world.deliver(&updates::text(3, 7, 2, "hello?")).await;
        assert_eq!(world.telegram.sent_after_settling().await.len(), 2);
        assert!(
            world.openai.requests().await.is_empty(),
            "the model was never asked"
        );
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_answer_the_model_finishes_after_a_handoff_is_kept_unsent() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::slow("Too late", Duration::from_millis(1500)).await;
        let world = TelegramWorld::start(db.url(), openai).await;
        world.deliver(&updates::text(1, 4343, 1, "hello")).await;
        poll_until(PATIENCE, "the model asked", || async {
            (!world.openai.requests().await.is_empty()).then_some(())
        })
        .await;
        let conversation = world.messages().await[0]["conversation_id"].clone();
        let path = format!(
            "/api/v1/conversations/{}/handoff",
            conversation.as_str().unwrap()
        );
        let (status, taken) = world.app.admin(Method::POST, &path, None).await;
        assert_eq!((status, &taken["mode"]), (200, &json!("human")), "{taken}");

        let messages = world
            .app
            .wait_for_status(&world.bot, "failed", 1, PATIENCE)
            .await;
        let kept = &messages[1];
        assert_eq!(
            (&kept["direction"], &kept["text"], &kept["error"]),
            (
                &json!("outbound"),
                &json!("Too late"),
                &json!("the conversation was handed off before it was sent")
            ),
            "{kept}"
        );
        assert!(kept["usage"].is_object(), "its tokens still count: {kept}");
        assert!(
            world.telegram.sent_after_settling().await.is_empty(),
            "nothing sent after the takeover"
        );

        // Released with the pending message answered: the model is asked again, and it goes.
        let release = path.replace("/handoff", "/release");
        let answer = Some(json!({"answer_pending": true}));
        let (status, released) = world.app.admin(Method::POST, &release, answer).await;
        assert_eq!(status, 200, "{released}");
        let sent = world.telegram.wait_for_sent(1, PATIENCE).await;
        assert_eq!(sent[0].text, "Too late");
        assert_eq!(world.openai.requests().await.len(), 2);
        world.app.stop().await;
    })
    .await;
}
