//! Streamed replies end to end: a model fake that streams its answer piece by piece, the web chat socket showing it grow, the final reply stored and delivered once, and a stream cut off mid-way asked for again whole.

use crate::webchat::{connect, next_frame, say, web_chat_bot, Socket};
use crate::{on_each_database, PATIENCE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use switchboard_e2e::fakes::FakeTelegram;
use switchboard_e2e::streaming::StreamingOpenAi;
use switchboard_e2e::{poll_until, updates, TestApp, TestConfig};

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

/// The app answered by `model`, with Telegram's fake, paced as Telegram asks (the web chat has
/// no pacing).
async fn app_on(db_url: &str, model: &StreamingOpenAi) -> (TestApp, FakeTelegram) {
    let telegram = FakeTelegram::start().await;
    let config = TestConfig::with_urls(db_url, &model.url(), &telegram.url()).paced();
    (TestApp::spawn(&config).await, telegram)
}

async fn app_streaming(db_url: &str, model: &StreamingOpenAi) -> (TestApp, String) {
    let (app, _) = app_on(db_url, model).await;
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

/// A Telegram bot with `streaming` on, answered by `model`.
async fn streaming_telegram_bot(
    db_url: &str,
    model: &StreamingOpenAi,
) -> (TestApp, FakeTelegram, String) {
    let (app, telegram) = app_on(db_url, model).await;
    let bot = app.telegram_bot(None).await;
    let path = format!("/api/v1/bots/{bot}");
    let body = json!({"streaming": true});
    let (status, updated) = app.admin(reqwest::Method::PATCH, &path, Some(body)).await;
    assert_eq!(
        (status, &updated["streaming"]),
        (200, &json!(true)),
        "{updated}"
    );
    (app, telegram, bot)
}

#[tokio::test]
async fn a_streaming_telegram_bot_drafts_at_most_once_a_second_then_sends_the_whole_reply() {
    on_each_database(|db| async move {
        let pieces = [
            "One ", "piece ", "a ", "quarter ", "second, ", "for ", "three ", "seconds ", "or ",
            "so, ", "then ", "done.",
        ];
        let whole: String = pieces.concat();
        let model = StreamingOpenAi::start(&pieces, Duration::from_millis(250), 0).await;
        let (app, telegram, bot) = streaming_telegram_bot(db.url(), &model).await;

        app.deliver(&bot, &updates::text(1, 4242, 1, "tell me"))
            .await;
        let sent = telegram.wait_for_sent(1, PATIENCE).await;
        assert_eq!(sent[0].text, whole, "the whole reply, sent once");

        let drafts = telegram.calls("sendMessageDraft").await;
        assert!(
            drafts.len() >= 2,
            "the draft grew: {} updates",
            drafts.len()
        );
        let bodies: Vec<Value> = drafts.iter().map(|r| r.body_json().unwrap()).collect();
        assert_growing(&whole, "", &bodies);
        for body in &bodies {
            assert_eq!(
                (&body["chat_id"], &body["draft_id"]),
                (&json!(4242), &bodies[0]["draft_id"])
            );
        }
        assert_spaced(&telegram.growth_times("sendMessageDraft"));
        assert_eq!(telegram.sent_after_settling().await.len(), 1, "sent once");
        let replies: Vec<Value> = app
            .messages_of(&bot)
            .await
            .into_iter()
            .filter(|m| m["direction"] == "outbound")
            .collect();
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0]["text"], whole.as_str());

        // A group has no drafts: its reply grows in a message sent and then edited (in the
        // group's pacing, one every 3 s), and the finished reply is written into that message.
        app.deliver(&bot, &updates::text(2, -100_777, 1, "and you?"))
            .await;
        let edits = poll_until(PATIENCE, "the group's message finished", || async {
            let edits = telegram.calls("editMessageText").await;
            let last = edits.last()?.body_json::<Value>().ok()?;
            (last["text"] == whole.as_str()).then_some(edits)
        })
        .await;
        let sent = telegram.sent_after_settling().await;
        assert_eq!(sent.len(), 2, "one message in the group: {sent:?}");
        assert!(whole.starts_with(&sent[1].text) && sent[1].text.len() < whole.len());
        let edits: Vec<Value> = edits.iter().map(|r| r.body_json().unwrap()).collect();
        assert_growing(&whole, &sent[1].text, &edits);
        for body in &edits {
            assert_eq!(
                (&body["chat_id"], &body["message_id"]),
                (&json!(-100_777), &json!(1))
            );
        }
        let placed = telegram.send_times()[1];
        assert_spaced(&[vec![placed], telegram.growth_times("editMessageText")].concat());
        assert_eq!(telegram.calls("sendMessageDraft").await.len(), drafts.len());
        assert_eq!(
            app.messages_of(&bot).await.len(),
            4,
            "two messages, two replies"
        );
        assert!(app.stop().await);
    })
    .await;
}

/// Each body's `text` a longer start of `whole` than the one before, the first than `from`.
fn assert_growing(whole: &str, from: &str, bodies: &[Value]) {
    let mut last = from;
    for body in bodies {
        let text = body["text"].as_str().unwrap();
        assert!(
            whole.starts_with(text) && text.len() > last.len(),
            "{text:?} after {last:?}"
        );
        last = text;
    }
}

/// Updates of a growing reply at least (about) a second apart.
fn assert_spaced(times: &[Instant]) {
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(950),
            "an update {gap:?} after the last"
        );
    }
}

/// The server-sent events of `response` as (event, data, when), read as they arrive.
async fn events_of(mut response: reqwest::Response) -> Vec<(String, Value, Instant)> {
    let (mut events, mut buffer) = (Vec::new(), String::new());
    while let Some(chunk) = response.chunk().await.unwrap() {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|line| line.strip_prefix(name))
                    .map(str::to_owned)
            };
            let (name, data) = (field("event: ").unwrap(), field("data: ").unwrap());
            events.push((name, serde_json::from_str(&data).unwrap(), Instant::now()));
        }
    }
    events
}

#[tokio::test]
async fn the_rest_channel_streams_the_reply_as_server_sent_events_when_asked() {
    let db = database::testing::fresh_sqlite();
    let model = StreamingOpenAi::start(&PIECES, GAP, 0).await;
    let (app, bot) = app_streaming(db.url(), &model).await;
    let response = app
        .admin_request(reqwest::Method::POST, &format!("/api/v1/bots/{bot}/chat"))
        .header("accept", "text/event-stream")
        .json(&json!({"user_id": "api-user", "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );

    let events = events_of(response).await;
    let names: Vec<&str> = events.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names.first(), Some(&"accepted"), "{names:?}");
    assert_eq!(names.last(), Some(&"message"), "{names:?}");
    let deltas: Vec<&(String, Value, Instant)> = events
        .iter()
        .filter(|(name, _, _)| name == "reply_delta")
        .collect();
    assert!(deltas.len() >= 3, "{names:?}");
    let joined: String = deltas
        .iter()
        .map(|(_, data, _)| data["delta"].as_str().unwrap())
        .collect();
    assert_eq!(joined, WHOLE);
    let (_, reply, done) = events.last().unwrap();
    assert_eq!(reply["message"]["text"], WHOLE);
    assert_eq!(reply["message"]["reply_to"], events[0].1["message_id"]);
    assert!(
        *done - deltas[0].2 >= GAP * 3,
        "the pieces came as they were written"
    );
    assert_eq!(stored_replies(&app, &bot).await.len(), 1);

    let plain = app
        .admin_request(reqwest::Method::POST, &format!("/api/v1/bots/{bot}/chat"))
        .json(&json!({"user_id": "api-user", "text": "again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200, "without the header, one JSON answer");
    let answer: Value = plain.json().await.unwrap();
    assert_eq!(answer["message"]["text"], WHOLE);
    assert!(app.stop().await);
}
