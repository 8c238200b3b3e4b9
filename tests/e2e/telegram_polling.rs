//! Telegram in polling mode end to end: deleteWebhook on binding, getUpdates answered once per message, offsets committed, one poller across replicas.

use crate::{on_each_database, PATIENCE};
use serde_json::{json, Value};
use std::time::Duration;
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram, IDLE_POLL};
use switchboard_e2e::updates;
use switchboard_e2e::wait::poll_until;
use switchboard_e2e::{TestApp, TestConfig};

/// A test app that polls quickly: 1 s long polls, rescans every 100 ms.
fn polling_config(db_url: &str, openai: &FakeOpenAi, telegram: &FakeTelegram) -> TestConfig {
    TestConfig::new(db_url, openai, telegram)
        .with("SWITCHBOARD__TELEGRAM__POLL_TIMEOUT_SECONDS", 1)
        .with("SWITCHBOARD__TELEGRAM__POLL_RESCAN_MS", 100)
        .with("SWITCHBOARD__TELEGRAM__POLL_RETRY_SECONDS", 1)
}

async fn bind_polling(app: &TestApp, bot_id: &str) -> Value {
    let body = json!({
        "token": switchboard_e2e::app::BOT_TOKEN,
        "secret_token": switchboard_e2e::app::SECRET,
        "mode": "polling"
    });
    let path = format!("/api/v1/bots/{bot_id}/platforms/telegram");
    let (status, binding) = app.admin(reqwest::Method::PUT, &path, Some(body)).await;
    assert_eq!(status, 200, "bind telegram for polling: {binding}");
    binding
}

/// Two answers: the first update alone, then it again (as after a crash before its offset
/// was committed) with a second one.
fn answers() -> Vec<Value> {
    let first = updates::text(700, 4242, 1, "first");
    let second = updates::text(701, 4242, 2, "second");
    vec![json!([first.clone()]), json!([first, second])]
}

#[tokio::test]
async fn polled_updates_are_answered_once_each_and_their_offset_committed() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::echoing().await;
        let telegram = FakeTelegram::start().await;
        telegram.serve_updates(answers()).await;
        let app = TestApp::spawn(&polling_config(db.url(), &openai, &telegram)).await;
        let bot = app.create_bot("Poller", None).await;

        let binding = bind_polling(&app, &bot).await;
        assert_eq!(binding["mode"], "polling");
        assert_eq!(binding["webhook_registered"], false);
        assert_eq!(telegram.calls("deleteWebhook").await.len(), 1);
        assert!(telegram.calls("setWebhook").await.is_empty());

        telegram.wait_for_sent(2, PATIENCE).await;
        let mut texts: Vec<String> = telegram
            .sent_after_settling()
            .await
            .into_iter()
            .map(|sent| sent.text)
            .collect();
        texts.sort();
        assert_eq!(
            texts,
            ["re: first", "re: second"],
            "each message answered once"
        );

        let bodies = telegram.get_updates_bodies().await;
        assert!(bodies.len() >= 3, "{bodies:?}");
        assert!(bodies[0].get("offset").is_none(), "{}", bodies[0]);
        assert_eq!(bodies[0]["allowed_updates"], json!(["message"]));
        assert_eq!(bodies[0]["timeout"], 1);
        assert_eq!(bodies[1]["offset"], 701, "past the first batch");
        assert_eq!(bodies[2]["offset"], 702, "past the second batch");
        let inbound = app
            .messages_of(&bot)
            .await
            .into_iter()
            .filter(|m| m["direction"] == "inbound")
            .count();
        assert_eq!(inbound, 2, "the repeated update is stored once");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_restarted_server_resumes_from_the_committed_offset() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::echoing().await;
        let telegram = FakeTelegram::start().await;
        telegram.serve_updates(answers()).await;
        let config = polling_config(db.url(), &openai, &telegram);
        let app = TestApp::spawn(&config).await;
        let bot = app.create_bot("Poller", None).await;
        bind_polling(&app, &bot).await;
        telegram.wait_for_sent(2, PATIENCE).await;
        app.stop().await;
        let before = telegram.get_updates_bodies().await.len();

        let app = TestApp::spawn(&config).await;
        let resumed = poll_until(PATIENCE, "a getUpdates after the restart", || async {
            telegram.get_updates_bodies().await.get(before).cloned()
        })
        .await;
        assert_eq!(resumed["offset"], 702, "{resumed}");
        assert_eq!(telegram.sent_after_settling().await.len(), 2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn two_servers_on_one_postgresql_poll_a_bot_from_one_of_them_only() {
    let Some(db) = database::testing::fresh_postgres().await else {
        eprintln!("SWITCHBOARD_TEST_DATABASE_URL unset: skipped");
        return;
    };
    let openai = FakeOpenAi::echoing().await;
    let telegram = FakeTelegram::start().await;
    telegram.serve_updates(answers()).await;
    let config = polling_config(db.url(), &openai, &telegram);
    let first = TestApp::spawn(&config).await;
    let second = TestApp::spawn(&config).await;
    let bot = first.create_bot("Poller", None).await;
    bind_polling(&first, &bot).await;

    telegram.wait_for_sent(2, PATIENCE).await;
    tokio::time::sleep(IDLE_POLL * 8).await;
    assert_eq!(telegram.sent_after_settling().await.len(), 2);
    // One poller asks again only once its last long poll was answered; a second one would
    // ask while the first is still held.
    let idle_gaps: Vec<Duration> = telegram
        .poll_gaps()
        .into_iter()
        .skip(answers().len())
        .collect();
    assert!(idle_gaps.len() >= 5, "{idle_gaps:?}");
    assert!(
        idle_gaps.iter().all(|gap| *gap >= IDLE_POLL * 9 / 10),
        "overlapping long polls, so more than one poller: {idle_gaps:?}"
    );

    // The poller's server stops and hands the lease over: polling goes on from the other.
    first.stop().await;
    let stopped_at = telegram.calls("getUpdates").await.len();
    poll_until(PATIENCE, "polling by the remaining server", || async {
        (telegram.calls("getUpdates").await.len() > stopped_at + 1).then_some(())
    })
    .await;
    second.stop().await;
}

#[tokio::test]
async fn a_binding_switched_back_to_webhooks_stops_being_polled() {
    let db = database::testing::fresh_sqlite();
    let openai = FakeOpenAi::echoing().await;
    let telegram = FakeTelegram::start().await;
    telegram.serve_updates(Vec::new()).await;
    let app = TestApp::spawn(&polling_config(db.url(), &openai, &telegram)).await;
    let bot = app.create_bot("Poller", None).await;
    bind_polling(&app, &bot).await;
    poll_until(PATIENCE, "polling", || async {
        (telegram.calls("getUpdates").await.len() >= 2).then_some(())
    })
    .await;

    app.bind_telegram(&bot).await;
    // The rescan notices within 100 ms and cancels the long poll in flight.
    tokio::time::sleep(IDLE_POLL * 2).await;
    let after_switch = telegram.calls("getUpdates").await.len();
    tokio::time::sleep(IDLE_POLL * 5).await;
    assert_eq!(
        telegram.calls("getUpdates").await.len(),
        after_switch,
        "still polled after switching to webhooks"
    );
    app.stop().await;
}
