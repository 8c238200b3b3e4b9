//! A broadcast to 1,000 chats from the real binary, killed with SIGKILL midway: a second process finishes it, paced, and no chat gets it twice beyond the sends that were in flight.

use super::binary;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram, Sent};
use switchboard_e2e::{on_each_database, updates, wait_until, TestApp, TestConfig};

const CHATS: i64 = 1000;
const SALE: &str = "Sale today";
/// Jobs one process runs at once: no more sends than this can be in flight at the kill.
const CONCURRENCY: usize = 16;
const PER_SECOND: u32 = 200;

fn sales(sent: &[Sent]) -> Vec<i64> {
    sent.iter()
        .filter(|sent| sent.text == SALE)
        .map(|sent| sent.chat_id.as_i64().unwrap())
        .collect()
}

async fn progress(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.admin(Method::GET, path, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_broadcast_to_1000_chats_survives_kill_9_without_sending_anyone_twice() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::answering("Hi!").await;
        let telegram = FakeTelegram::start().await;
        let config = TestConfig::new(db.url(), &openai, &telegram)
            .paced()
            .with("SWITCHBOARD__PACING__TELEGRAM_BOT_PER_SECOND", PER_SECOND)
            .with("SWITCHBOARD__WORKER__CONCURRENCY", CONCURRENCY)
            .with("SWITCHBOARD__WORKER__LEASE_SECONDS", 2);
        let doomed = TestApp::spawn_process(binary(), &config);
        let bot = doomed.telegram_bot(None).await;
        for chat in 1..=CHATS {
            doomed
                .deliver(&bot, &updates::text(chat, chat, 1, "hello"))
                .await;
        }
        telegram
            .wait_for_sent(CHATS as usize, Duration::from_secs(120))
            .await;

        let chat_ids: Vec<String> = (1..=CHATS).map(|chat| chat.to_string()).collect();
        let body = json!({"platform": "telegram", "chat_ids": chat_ids, "text": SALE});
        let path = format!("/api/v1/bots/{bot}/broadcasts");
        let asked = std::time::Instant::now();
        let (status, started) = doomed.admin(Method::POST, &path, Some(body)).await;
        assert_eq!(status, 202, "{started}");
        eprintln!("1,000 messages stored and queued in {:?}", asked.elapsed());
        let path = format!("{path}/{}", started["id"].as_str().unwrap());
        wait_until(|| async { sales(&telegram.send_attempts().await).len() >= 300 }).await;
        doomed.kill().await;
        let at_kill = sales(&telegram.send_attempts().await).len();
        assert!(at_kill < CHATS as usize, "killed midway: {at_kill} sent");

        let survivor = TestApp::spawn_process(binary(), &config);
        wait_until(|| async { progress(&survivor, &path).await["queued"] == 0 }).await;
        let done = progress(&survivor, &path).await;
        assert_eq!(
            (&done["status"], &done["sent"]),
            (&json!("completed"), &json!(CHATS)),
            "{done}"
        );
        let sent = telegram.sent_after_settling().await;
        let mut times: HashMap<i64, usize> = HashMap::new();
        for chat in sales(&sent) {
            *times.entry(chat).or_default() += 1;
        }
        assert_eq!(times.len(), CHATS as usize, "every chat reached");
        let repeated: usize = times.values().map(|n| n - 1).sum();
        eprintln!("broadcast killed at {at_kill} of {CHATS} sends: {repeated} repeated");
        assert!(
            repeated <= CONCURRENCY,
            "{repeated} sends repeated, more than were in flight"
        );
        // 200 a second, one at a time: the broadcast's sends span 999 intervals of 5 ms at the
        // least (less the ones in flight that were sent again, and a restart between).
        let gaps = telegram.arrival_gaps();
        let span = gaps[gaps.len() - 1] - gaps[gaps.len() - sales(&sent).len()];
        assert!(span >= Duration::from_millis(4500), "paced: {span:?}");
        assert!(survivor.stop().await);
    })
    .await;
}
