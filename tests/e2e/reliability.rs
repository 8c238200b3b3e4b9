//! Failure handling end to end: model retries and fallback, rate limits, long replies, crashed
//! workers and a database outage (two server processes: bin/tests/processes.rs).

use crate::{on_each_database, PATIENCE};
use database::testing::{fresh_postgres, TestDatabase};
use std::time::Duration;
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram};
use switchboard_e2e::proxy::{postgres_addr, TcpProxy};
use switchboard_e2e::updates;
use switchboard_e2e::{wait_until, TelegramWorld, TestApp, TestConfig};

/// Model retries fast enough for a test.
fn quick_model_retries(config: TestConfig) -> TestConfig {
    config
        .with("SWITCHBOARD__AI__MAX_RETRIES", 2)
        .with("SWITCHBOARD__AI__TIMEOUT_SECONDS", 5)
}

#[tokio::test]
async fn a_model_that_fails_twice_then_succeeds_is_retried() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::failing_then_answering(2, "third time lucky").await;
        let world =
            TelegramWorld::start_with(db.url(), openai, quick_model_retries, Some("fallback text"))
                .await;

        world.deliver(&updates::text(1, 5, 1, "hello")).await;

        let sent = world.telegram.wait_for_sent(1, PATIENCE).await;
        assert_eq!(
            sent.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(),
            ["third time lucky"]
        );
        assert_eq!(world.openai.requests().await.len(), 3);
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_model_that_keeps_failing_yields_the_fallback_once() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::always_failing().await;
        let world = TelegramWorld::start_with(
            db.url(),
            openai,
            quick_model_retries,
            Some("Sorry, try later."),
        )
        .await;

        world.deliver(&updates::text(1, 5, 1, "hello")).await;

        let sent = world.telegram.wait_for_sent(1, PATIENCE).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].text, "Sorry, try later.");
        assert_eq!(
            world.telegram.sent_after_settling().await.len(),
            1,
            "the fallback is sent once"
        );
        assert_eq!(
            world.openai.requests().await.len(),
            3,
            "one try and two retries"
        );
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_telegram_429_is_honoured_and_the_reply_arrives_once() {
    on_each_database(|db| async move {
        let mut world =
            TelegramWorld::start(db.url(), FakeOpenAi::answering("patient reply").await).await;
        world.telegram.rate_limit_first(1, 1).await;

        world.deliver(&updates::text(1, 5, 1, "hello")).await;

        let sent = world.telegram.wait_for_sent(1, PATIENCE).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].text, "patient reply");
        let attempts = world.telegram.send_attempts().await;
        assert_eq!(
            attempts.len(),
            2,
            "one refused, one delivered: {attempts:?}"
        );
        let gaps = world.telegram.arrival_gaps();
        assert!(
            gaps[1] >= Duration::from_millis(950),
            "retry_after was not honoured: {gaps:?}"
        );
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_reply_over_4096_characters_arrives_in_ordered_parts() {
    on_each_database(|db| async move {
        let paragraphs: Vec<String> = (0..12)
            .map(|i| format!("Paragraph {i}: {}", "word ".repeat(90)))
            .collect();
        let long = paragraphs.join("\n\n");
        assert!(long.len() > 4096);
        let world = TelegramWorld::start(db.url(), FakeOpenAi::answering(&long).await).await;

        world
            .deliver(&updates::text(1, 5, 1, "tell me everything"))
            .await;

        let sent = delivered_parts(&world.telegram, 2).await;
        assert!(sent.len() >= 2);
        assert!(sent.iter().all(|part| part.encode_utf16().count() <= 4096));
        let rejoined = sent.join("\n\n");
        assert_eq!(
            rejoined.split_whitespace().collect::<Vec<_>>(),
            long.split_whitespace().collect::<Vec<_>>()
        );
        world.app.stop().await;
    })
    .await;
}

/// Every part delivered, once at least `at_least` arrived and nothing more followed.
async fn delivered_parts(telegram: &FakeTelegram, at_least: usize) -> Vec<String> {
    telegram.wait_for_sent(at_least, PATIENCE).await;
    telegram
        .sent_after_settling()
        .await
        .into_iter()
        .map(|s| s.text)
        .collect()
}

#[tokio::test]
async fn a_job_held_by_a_dead_worker_is_taken_over_and_answered_once() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::slow("survivor's reply", Duration::from_secs(2)).await;
        let short_lease = |config: TestConfig| config.with("SWITCHBOARD__WORKER__LEASE_SECONDS", 2);
        let TelegramWorld {
            openai,
            telegram,
            config,
            app: doomed,
            bot,
        } = TelegramWorld::start_with(db.url(), openai, short_lease, None).await;
        doomed
            .deliver(&bot, &updates::text(1, 5, 1, "are you there?"))
            .await;
        wait_until(|| async { !openai.requests().await.is_empty() }).await;
        doomed.kill().await; // holds the job's lease, never finishes it

        let survivor = TestApp::spawn(&config).await;
        let sent = telegram.wait_for_sent(1, PATIENCE).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].text, "survivor's reply");
        tokio::time::sleep(Duration::from_secs(3)).await; // past another lease
        assert_eq!(
            telegram.sent_after_settling().await.len(),
            1,
            "answered once"
        );
        survivor.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_database_outage_answers_503_and_service_resumes() {
    let Some(db) = fresh_postgres().await else {
        eprintln!("skipped: SWITCHBOARD_TEST_DATABASE_URL is not set");
        return;
    };
    outage_scenario(db).await;
}

async fn outage_scenario(db: TestDatabase) {
    let proxy = TcpProxy::start(postgres_addr(db.url())).await;
    let proxied_url = proxy.proxied(db.url());
    let world = TelegramWorld::start(&proxied_url, FakeOpenAi::answering("back again").await).await;

    proxy.cut();
    let response = world
        .app
        .post_update(
            &world.bot,
            Some(switchboard_e2e::app::SECRET),
            &updates::text(1, 5, 1, "anyone?"),
        )
        .await;
    assert_eq!(
        response.status().as_u16(),
        503,
        "an update that cannot be stored must not be acknowledged"
    );
    let ready = world
        .app
        .client
        .get(world.app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);

    proxy.restore();
    wait_until(|| async {
        let response = world
            .app
            .post_update(
                &world.bot,
                Some(switchboard_e2e::app::SECRET),
                &updates::text(1, 5, 1, "anyone?"),
            )
            .await;
        response.status().as_u16() == 200
    })
    .await;
    let sent = world.telegram.wait_for_sent(1, PATIENCE).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].text, "back again");
    world.app.stop().await;
}
