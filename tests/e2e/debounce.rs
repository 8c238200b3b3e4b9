//! Bursts answered as one: with `debounce_ms`, a chat's quick messages get one reply that the
//! model wrote from all of them, and a message sent while the model works is answered after.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{poll_until, updates, TelegramWorld};

/// The user turns of a request to the model, in order.
fn user_turns(request: &Value) -> Vec<String> {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let users = messages.iter().filter(|m| m["role"] == "user");
    users
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn three_quick_messages_get_one_reply_and_one_sent_meanwhile_its_own() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::slow("noted", Duration::from_millis(800)).await;
        let world = TelegramWorld::start(db.url(), openai).await;
        let path = format!("/api/v1/bots/{}", world.bot);
        let patch = json!({"debounce_ms": 1500});
        let (status, bot) = world.app.admin(Method::PATCH, &path, Some(patch)).await;
        assert_eq!((status, &bot["debounce_ms"]), (200, &json!(1500)), "{bot}");

        for (n, text) in (1..).zip(["one", "two", "three"]) {
            world.deliver(&updates::text(n, 7, n, text)).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        // The fourth comes while the model writes the answer to the first three.
        poll_until(PATIENCE, "the model asked", || async {
            (!world.openai.requests().await.is_empty()).then_some(())
        })
        .await;
        world.deliver(&updates::text(4, 7, 4, "four")).await;

        let sent = world.telegram.wait_for_sent(2, PATIENCE).await;
        assert_eq!(sent.len(), 2, "{sent:?}");
        let asked = world.openai.requests().await;
        assert_eq!(asked.len(), 2, "one request per burst");
        assert_eq!(user_turns(&asked[0]), ["one", "two", "three"]);
        assert_eq!(
            user_turns(&asked[1]).last().map(String::as_str),
            Some("four")
        );
        assert!(world.app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn a_debounce_over_a_minute_is_refused_naming_the_field() {
    let db = database::testing::fresh_sqlite();
    let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("unused").await).await;
    let path = format!("/api/v1/bots/{}", world.bot);
    let cases = [(json!({"debounce_ms": 60001}), "debounce_ms")];
    world
        .app
        .assert_refusals(Method::PATCH, &path, &cases)
        .await;
    assert!(world.app.stop().await);
}
