//! The real `switchboard` binary as OS processes: two servers on one PostgreSQL, and SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use database::testing::{fresh_databases, fresh_postgres};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram, Sent};
use switchboard_e2e::{updates, TestApp, TestConfig};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_switchboard"))
}

#[tokio::test]
async fn two_server_processes_on_one_postgres_answer_200_updates_once_each_in_order() {
    let Some(db) = fresh_postgres().await else {
        eprintln!("skipped: SWITCHBOARD_TEST_DATABASE_URL is not set");
        return;
    };
    let openai = FakeOpenAi::echoing().await;
    let telegram = FakeTelegram::start().await;
    let config = TestConfig::new(db.url(), &openai, &telegram);
    let first = TestApp::spawn_process(binary(), &config);
    let second = TestApp::spawn_process(binary(), &config);
    let bot = first.telegram_bot(None).await;

    let (chats, per_chat) = (20_i64, 10_i64);
    for n in 0..per_chat {
        for chat in 0..chats {
            let app = if (chat + n) % 2 == 0 { &first } else { &second };
            let update = updates::text(chat * 1000 + n, 100 + chat, n + 1, &format!("{chat}:{n}"));
            app.deliver(&bot, &update).await;
        }
    }

    let sent = telegram.wait_for_sent(200, Duration::from_secs(60)).await;
    assert_eq!(sent.len(), 200);
    assert_eq!(
        telegram.sent_after_settling().await.len(),
        200,
        "no reply twice"
    );
    assert_each_chat_answered_in_order(&sent, chats, per_chat);
    assert!(first.stop().await, "the first process exits 0 on SIGTERM");
    assert!(second.stop().await, "the second process exits 0 on SIGTERM");
}

/// Each chat got `per_chat` replies (`re: chat:n`), in message order.
fn assert_each_chat_answered_in_order(sent: &[Sent], chats: i64, per_chat: i64) {
    let mut delivered: HashMap<i64, Vec<i64>> = HashMap::new();
    for reply in sent {
        let (chat, n) = reply
            .text
            .trim_start_matches("re: ")
            .split_once(':')
            .expect("an echoed reply");
        delivered
            .entry(chat.parse().unwrap())
            .or_default()
            .push(n.parse().unwrap());
    }
    assert_eq!(delivered.len(), chats as usize);
    for (chat, order) in &delivered {
        let expected: Vec<i64> = (0..per_chat).collect();
        assert_eq!(
            order, &expected,
            "chat {chat} was answered out of order or not once each"
        );
    }
}

#[tokio::test]
async fn sigterm_finishes_the_turn_in_flight_and_exits_0() {
    for db in fresh_databases().await {
        eprintln!("— on {}", db.backend());
        let openai = FakeOpenAi::slow("worth the wait", Duration::from_millis(800)).await;
        let telegram = FakeTelegram::start().await;
        let config = TestConfig::new(db.url(), &openai, &telegram)
            .with("SWITCHBOARD__SERVER__SHUTDOWN_GRACE_SECONDS", 10);
        let app = TestApp::spawn_process(binary(), &config);
        let bot = app.telegram_bot(None).await;
        app.deliver(&bot, &updates::text(1, 7, 1, "hello?")).await;
        while openai.requests().await.is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        assert!(app.stop().await, "exit code 0 after SIGTERM");
        assert_eq!(
            openai.requests().await.len(),
            1,
            "the model call in flight was finished"
        );

        let next = TestApp::spawn_process(binary(), &config);
        let sent = telegram.wait_for_sent(1, Duration::from_secs(20)).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].text, "worth the wait");
        assert_eq!(
            telegram.sent_after_settling().await.len(),
            1,
            "delivered once"
        );
        assert_eq!(
            openai.requests().await.len(),
            1,
            "the model is not asked again"
        );
        assert!(next.stop().await);
    }
}
