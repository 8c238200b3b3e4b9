//! Streamed replies end to end: a model fake that streams its answer piece by piece, the web chat socket showing it grow, the final reply stored and delivered once, and a stream cut off mid-way asked for again whole.

use crate::on_each_database;
use crate::webchat::{connect, next_frame, say, web_chat_bot, Socket};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use switchboard_e2e::fakes::FakeTelegram;
use switchboard_e2e::streaming::StreamingOpenAi;
use switchboard_e2e::{TestApp, TestConfig};

const PIECES: [&str; 6] = ["The ", "answer ", "grows ", "word ", "by ", "word."];
const WHOLE: &str = "The answer grows word by word.";
const GAP: Duration = Duration::from_millis(150);

/// A frame and when it came.
struct Seen {
    frame: Value,
    at: Instant,
}

/// The frames after the visitor's message, up to the bot's reply's `message` frame.
async fn frames_until_the_reply(socket: &mut Socket) -> Vec<Seen> {
    let mut seen = Vec::new();
    loop {
        let frame = next_frame(socket).await;
        let reply = frame["type"] == "message" && frame["message"]["direction"] == "outbound";
        seen.push(Seen {
            frame,
            at: Instant::now(),
        });
        if reply {
            return seen;
        }
    }
}

fn of_type<'a>(seen: &'a [Seen], kind: &str) -> Vec<&'a Seen> {
    seen.iter().filter(|s| s.frame["type"] == kind).collect()
}

fn joined(deltas: &[&Seen]) -> String {
    deltas
        .iter()
        .map(|s| s.frame["delta"].as_str().unwrap())
        .collect()
}

async fn app_streaming(db_url: &str, model: &StreamingOpenAi) -> (TestApp, String) {
    let telegram = FakeTelegram::start().await;
    let app = TestApp::spawn(&TestConfig::with_urls(
        db_url,
        &model.url(),
        &telegram.url(),
    ))
    .await;
    let bot = web_chat_bot(&app).await;
    (app, bot)
}

/// The bot's replies as stored.
async fn stored_replies(app: &TestApp, bot: &str) -> Vec<Value> {
    let messages = app.messages_of(bot).await;
    messages
        .into_iter()
        .filter(|m| m["direction"] == "outbound")
        .collect()
}

#[tokio::test]
async fn the_web_chat_sees_the_reply_grow_and_it_is_stored_once() {
    on_each_database(|db| async move {
        let model = StreamingOpenAi::start(&PIECES, GAP, 0).await;
        let (app, bot) = app_streaming(db.url(), &model).await;
        let (mut socket, _) = connect(&app, &bot, "").await;
        say(&mut socket, json!({"type": "message", "text": "hi"})).await;

        let seen = frames_until_the_reply(&mut socket).await;
        let deltas = of_type(&seen, "reply_delta");
        assert!(deltas.len() >= 3, "pieces as they come: {}", deltas.len());
        assert_eq!(joined(&deltas), WHOLE);
        let reply = &seen.last().unwrap().frame["message"];
        assert_eq!(reply["text"], WHOLE);
        assert_eq!(deltas[0].frame["reply_to"], reply["reply_to"]);
        let ahead = seen.last().unwrap().at - deltas[0].at;
        assert!(
            ahead >= GAP * 3,
            "the first piece shows long before the reply is done: {ahead:?}"
        );
        assert!(model.requests()[0]["stream"] == true);
        let replies = stored_replies(&app, &bot).await;
        assert_eq!(replies.len(), 1, "stored once: {replies:?}");
        assert_eq!(replies[0]["text"], WHOLE);
        assert!(app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn a_stream_cut_off_midway_is_shown_again_from_the_start_and_answered_once() {
    let db = database::testing::fresh_sqlite();
    let model = StreamingOpenAi::start(&PIECES, GAP, 1).await;
    let (app, bot) = app_streaming(db.url(), &model).await;
    let (mut socket, _) = connect(&app, &bot, "").await;
    say(&mut socket, json!({"type": "message", "text": "hi"})).await;

    let seen = frames_until_the_reply(&mut socket).await;
    let restart = seen
        .iter()
        .position(|s| s.frame["type"] == "reply_restart")
        .expect("the cut stream's pieces are withdrawn");
    let before = of_type(&seen[..restart], "reply_delta");
    assert_eq!(joined(&before), "The answer grows ");
    let after = of_type(&seen[restart..], "reply_delta");
    assert_eq!(joined(&after), WHOLE, "the answer again, whole");
    assert_eq!(seen.last().unwrap().frame["message"]["text"], WHOLE);
    assert_eq!(model.requests().len(), 2, "asked again once");
    let replies = stored_replies(&app, &bot).await;
    assert_eq!(replies.len(), 1, "one answer: {replies:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), next_frame(&mut socket))
            .await
            .is_err(),
        "nothing more"
    );
    assert!(app.stop().await);
}
