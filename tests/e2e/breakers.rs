//! Circuit breakers end to end: a provider that keeps failing opens its breaker, the backlog
//! waits without spending attempts (nothing is dead-lettered), `GET /api/v1/status` shows it,
//! and everything is answered once the provider is back.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use serde_json::Value;
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{poll_until, updates, TelegramWorld, TestApp};

const CHATS: i64 = 20;

/// The status once `breaker` is in `state`.
async fn status_when(app: &TestApp, breaker: &str, state: &str) -> Value {
    poll_until(PATIENCE, &format!("{breaker} {state}"), || async {
        let (status, body) = app.admin(Method::GET, "/api/v1/status", None).await;
        assert_eq!(status, 200, "{body}");
        let breakers = body["breakers"].as_array().cloned().unwrap_or_default();
        let found = breakers
            .iter()
            .any(|b| b["name"] == breaker && b["state"] == state);
        found.then_some(body)
    })
    .await
}

#[tokio::test]
async fn a_failing_provider_opens_its_breaker_and_the_backlog_waits_for_it() {
    on_each_database(|db| async move {
        let down = FakeOpenAi::always_failing().await;
        // Two attempts would dead-letter any job whose waits were counted as failures.
        let configure = |config: switchboard_e2e::TestConfig| {
            config
                .with("SWITCHBOARD__AI__MAX_RETRIES", 0)
                .with("SWITCHBOARD__WORKER__MAX_ATTEMPTS", 2)
                .with("SWITCHBOARD__BREAKER__OPEN_SECONDS", 1)
        };
        let world = TelegramWorld::start_with(db.url(), down, configure, Some("sorry")).await;
        for chat in 1..=CHATS {
            let update = updates::text(chat, 1_000 + chat, 1, &format!("question {chat}"));
            world.deliver(&update).await;
        }
        let open = status_when(&world.app, "provider:default", "open").await;
        let breaker = &open["breakers"][0];
        assert!(
            breaker["consecutive_failures"].as_u64().unwrap() >= 5,
            "{open}"
        );
        assert!(breaker["until"].is_string(), "{open}");

        // While it stays down, probes fail and the breaker opens again; nobody is answered
        // beyond the few who got the fallback before it opened.
        tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
        let asked_while_down = world.openai.requests().await.len();
        assert!(
            asked_while_down < CHATS as usize,
            "asked {asked_while_down} times"
        );
        let fallbacks = world.telegram.send_attempts().await.len();
        assert!(fallbacks <= 5, "{fallbacks} fallbacks");

        world.openai.recover("back again").await;
        let sent = world.telegram.wait_for_sent(CHATS as usize, PATIENCE).await;
        let answered = sent.iter().filter(|s| s.text == "back again").count();
        assert_eq!(
            answered + fallbacks,
            CHATS as usize,
            "each chat answered once"
        );
        let closed = status_when(&world.app, "provider:default", "closed").await;
        let jobs = closed["queue"]["jobs"].as_array().unwrap();
        assert!(
            jobs.iter().all(|count| count["state"] != "dead"),
            "nothing dead-lettered: {closed}"
        );
        assert!(world.app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn the_status_is_for_admins_only() {
    let db = database::testing::fresh_sqlite();
    let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("hi").await).await;
    let (status, body) = world.app.admin(Method::GET, "/api/v1/status", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["breakers"], serde_json::json!([]), "none used yet");
    let anonymous = reqwest::get(world.app.url("/api/v1/status")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(world.app.stop().await);
}
