//! Moderation end to end: a flagged message never reaches the chat model and is stored with
//! its categories, blocked terms work without asking the provider, and bad settings are refused
//! naming the field.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{updates, TelegramWorld};

const REFUSAL: &str = "Let's talk about something else.";

#[tokio::test]
async fn a_flagged_input_never_reaches_the_chat_model() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("gladly").await).await;
        world.openai.moderating("forbidden", "violence").await;
        let app = &world.app;
        let settings = json!({"moderation": {"input": true}, "blocked_terms": ["casino"],
            "moderation_message": REFUSAL});
        let path = format!("/api/v1/bots/{}", world.bot);
        let (status, bot) = app.admin(Method::PATCH, &path, Some(settings)).await;
        assert_eq!(status, 200, "{bot}");
        assert_eq!(
            bot["moderation"],
            json!({"input": true, "output": false, "on_error": "allow"})
        );

        let texts = ["something forbidden", "the best Casino?", "hello"];
        for (n, text) in (1..).zip(texts) {
            world.deliver(&updates::text(n, 7, n, text)).await;
            world.telegram.wait_for_sent(n as usize, PATIENCE).await;
        }
        let sent = world.telegram.wait_for_sent(3, PATIENCE).await;
        let replies: Vec<&str> = sent.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(replies, [REFUSAL, REFUSAL, "gladly"]);
        let asked = world.openai.requests().await;
        assert_eq!(
            asked.len(),
            1,
            "only the clean message reached the chat model"
        );
        let last = world.openai.last_message(0).await;
        assert_eq!(last["content"], "hello");
        let moderated = world.openai.moderations().await;
        let inputs: Vec<&str> = moderated
            .iter()
            .map(|m| m["input"].as_str().unwrap())
            .collect();
        assert_eq!(
            inputs,
            ["something forbidden", "hello"],
            "a blocked term asks nobody"
        );

        let messages = world.messages().await;
        let flags_of = |text: &str| -> Value {
            let message = messages.iter().find(|m| m["text"] == text).unwrap();
            message["flagged"].clone()
        };
        assert_eq!(flags_of("something forbidden"), json!(["violence"]));
        assert_eq!(flags_of("the best Casino?"), json!(["blocked_term"]));
        assert_eq!(flags_of("hello"), Value::Null);
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_moderation_settings_are_refused_naming_the_field() {
    let db = database::testing::fresh_sqlite();
    let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("unused").await).await;
    let path = format!("/api/v1/bots/{}", world.bot);
    let cases = [
        (
            json!({"moderation": {"on_error": "panic"}}),
            "moderation.on_error",
        ),
        (
            json!({"blocked_terms": ["ok", "line\nbreak"]}),
            "blocked_terms",
        ),
        (json!({"blocked_terms": ["!!!"]}), "blocked_terms"),
        (json!({"moderation_message": ""}), "moderation_message"),
    ];
    world
        .app
        .assert_refusals(Method::PATCH, &path, &cases)
        .await;
    world.app.stop().await;
}
