//! The dispatcher end to end: a burst of chats with a slow model is answered all at once, and an idle process barely touches the database.

use crate::on_each_database;
use futures::future::join_all;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram};
use switchboard_e2e::proxy::{postgres_addr, TcpProxy};
use switchboard_e2e::{updates, TestApp, TestConfig};

/// How long the fake model takes to answer each request.
const MODEL_TAKES: Duration = Duration::from_secs(2);
const CHATS: i64 = 200;

#[tokio::test]
async fn two_hundred_chats_at_once_with_a_two_second_model_are_answered_together() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::slow("answer", MODEL_TAKES).await;
        let telegram = FakeTelegram::start().await;
        // Default worker settings: no `worker.concurrency` set.
        let app = TestApp::spawn(&TestConfig::new(db.url(), &openai, &telegram)).await;
        let bot = app.telegram_bot(None).await;

        let started = Instant::now();
        let updates: Vec<_> = (1..=CHATS)
            .map(|n| updates::text(n, 10_000 + n, 1, "hi"))
            .collect();
        join_all(updates.iter().map(|update| app.deliver(&bot, update))).await;
        let acknowledged = started.elapsed();
        let sent = telegram
            .wait_for_sent(CHATS as usize, Duration::from_secs(120))
            .await;
        let last = started.elapsed();

        let chats: HashSet<String> = sent.iter().map(|s| s.chat_id.to_string()).collect();
        assert_eq!((sent.len(), chats.len()), (200, 200), "one reply per chat");
        // One at a time per worker this took 100 s with four workers; all in flight at once it
        // is one model call plus the pipeline's own time. The bound leaves room for a debug
        // build on a busy machine; docs/performance.md has the release figure.
        assert!(
            last < Duration::from_secs(12),
            "the last of {CHATS} chats was answered after {last:?}"
        );
        eprintln!(
            "{CHATS} chats with a {MODEL_TAKES:?} model: all acknowledged after \
             {acknowledged:?}, the last answered after {last:?}"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_idle_process_makes_at_most_five_queries_a_second() {
    let Some(db) = database::testing::fresh_postgres().await else {
        eprintln!("skipped: SWITCHBOARD_TEST_DATABASE_URL is not set");
        return;
    };
    let proxy = TcpProxy::start(postgres_addr(db.url())).await;
    let openai = FakeOpenAi::answering("unused").await;
    let telegram = FakeTelegram::start().await;
    // Default settings, not the quick poll the other tests use.
    let config = TestConfig::new(&proxy.proxied(db.url()), &openai, &telegram)
        .with("SWITCHBOARD__WORKER__POLL_INTERVAL_MS", 1000);
    let app = TestApp::spawn(&config).await;
    app.telegram_bot(None).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let before = proxy.round_trips();
    let window = Duration::from_secs(6);
    tokio::time::sleep(window).await;
    let idle = proxy.round_trips() - before;
    eprintln!("idle: {idle} round trips in {window:?}");
    assert!(
        idle <= 5 * window.as_secs() as usize,
        "{idle} round trips in {window:?} while idle"
    );
    assert!(idle > 0, "the count sees the dispatcher's idle poll");
    app.stop().await;
}
