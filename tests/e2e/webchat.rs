//! The web chat end to end: a real WebSocket client on the real server (the echo model answers),
//! and the REST channel's 200 and 202 answers.

use crate::{on_each_database, PATIENCE};
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram};
use switchboard_e2e::{TestApp, TestConfig};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A bot bound to the web chat.
async fn web_chat_bot(app: &TestApp) -> String {
    let bot = app.create_bot("Web", None).await;
    let path = format!("/api/v1/bots/{bot}/platforms/web_chat");
    let (status, binding) = app.admin(Method::PUT, &path, Some(json!({}))).await;
    assert_eq!(status, 200, "bind web_chat: {binding}");
    assert_eq!(binding["webhook_url"], app.url(&format!("/chat/{bot}")));
    bot
}

/// Opens the visitor's socket and reads its `hello`.
pub(crate) async fn connect(app: &TestApp, bot: &str, visitor: Option<&str>) -> (Socket, Value) {
    let query = visitor.map_or(String::new(), |v| format!("?visitor_id={v}"));
    let url = format!(
        "{}/ws/chat/{bot}{query}",
        app.base.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = next_frame(&mut socket).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    (socket, hello)
}

/// The next JSON text frame, within [`PATIENCE`] however many pings come first.
pub(crate) async fn next_frame(socket: &mut Socket) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

pub(crate) async fn say(socket: &mut Socket, frame: Value) {
    socket.send(Message::Text(frame.to_string())).await.unwrap();
}

/// Frames until the first outbound message, which ends the list.
async fn frames_until_reply(socket: &mut Socket) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let frame = next_frame(socket).await;
        let done = frame["message"]["direction"] == "outbound";
        frames.push(frame);
        if done {
            return frames;
        }
    }
}

fn echo_config(
    db: &database::testing::TestDatabase,
    openai: &FakeOpenAi,
    telegram: &FakeTelegram,
) -> TestConfig {
    TestConfig::new(db.url(), openai, telegram).with("SWITCHBOARD__AI__PROVIDER", "echo")
}

/// A server answering with the echo model and a bot bound to its web chat; the fakes it was
/// configured with must outlive it.
pub(crate) async fn echo_app(
    db: &database::testing::TestDatabase,
) -> (TestApp, String, (FakeOpenAi, FakeTelegram)) {
    let fakes = (
        FakeOpenAi::answering("unused").await,
        FakeTelegram::start().await,
    );
    let app = TestApp::spawn(&echo_config(db, &fakes.0, &fakes.1)).await;
    let bot = web_chat_bot(&app).await;
    (app, bot, fakes)
}

#[tokio::test]
async fn a_visitor_chats_over_the_socket_and_keeps_the_conversation_across_reconnects() {
    on_each_database(|db| async move {
        let (app, bot, _fakes) = echo_app(&db).await;

        let (mut socket, hello) = connect(&app, &bot, None).await;
        let visitor = hello["visitor_id"].as_str().unwrap().to_owned();
        assert_eq!(visitor.len(), 36, "a UUID is issued: {hello}");
        assert_eq!(hello["conversation_id"], Value::Null);
        assert_eq!(hello["history"], json!([]));

        say(
            &mut socket,
            json!({"type": "message", "text": "  hi there ", "client_id": "c1"}),
        )
        .await;
        let frames = frames_until_reply(&mut socket).await;
        let echoed = &frames[0];
        assert_eq!(echoed["type"], "message", "{frames:?}");
        assert_eq!(echoed["message"]["direction"], "inbound");
        assert_eq!(echoed["message"]["text"], "hi there");
        assert!(frames.iter().any(|f| f["type"] == "typing"), "{frames:?}");
        let reply = &frames.last().unwrap()["message"];
        assert_eq!(reply["text"], "(echo) you said: hi there");
        assert_eq!(reply["reply_to"], echoed["message"]["id"]);
        let conversation = reply["conversation_id"].clone();

        // A resend of the same client_id is stored once; a bad frame is answered, not dropped.
        say(
            &mut socket,
            json!({"type": "message", "text": "hi there", "client_id": "c1"}),
        )
        .await;
        say(&mut socket, json!({"type": "shout"})).await;
        let error = next_frame(&mut socket).await;
        assert_eq!(
            (error["type"].as_str(), error["code"].as_str()),
            (Some("error"), Some("malformed_frame")),
            "{error}"
        );
        say(&mut socket, json!({"type": "message", "text": "   "})).await;
        let error = next_frame(&mut socket).await;
        assert_eq!(error["code"], "invalid_field", "{error}");
        socket.close(None).await.unwrap();

        let (mut again, hello) = connect(&app, &bot, Some(&visitor)).await;
        assert_eq!(hello["visitor_id"], visitor.as_str());
        assert_eq!(hello["conversation_id"], conversation);
        let texts: Vec<&str> = hello["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, ["hi there", "(echo) you said: hi there"]);
        say(&mut again, json!({"type": "message", "text": "second"})).await;
        let reply = frames_until_reply(&mut again).await;
        assert_eq!(
            reply.last().unwrap()["message"]["text"],
            "(echo) you said: second"
        );
        assert!(app.stop().await);
    })
    .await;
}

async fn ask(app: &TestApp, bot: &str, text: &str) -> (u16, Value) {
    let body = json!({"user_id": "customer-7", "text": text});
    app.admin(
        Method::POST,
        &format!("/api/v1/bots/{bot}/chat"),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn the_rest_channel_answers_with_the_reply_or_the_message_to_poll() {
    on_each_database(|db| async move {
        let (app, bot, _fakes) = echo_app(&db).await;
        let (status, answer) = ask(&app, &bot, "ping").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["message"]["text"], "(echo) you said: ping");
        assert_eq!(answer["message"]["direction"], "outbound");
        let (_, again) = ask(&app, &bot, "pong").await;
        assert_eq!(
            again["conversation_id"], answer["conversation_id"],
            "one user, one conversation"
        );
        assert!(app.stop().await);
    })
    .await;
    on_each_database(|db| async move {
        let openai = FakeOpenAi::slow("Slowly", Duration::from_millis(1500)).await;
        let telegram = FakeTelegram::start().await;
        let config = TestConfig::new(db.url(), &openai, &telegram)
            .with("SWITCHBOARD__WEB_CHAT__REPLY_WAIT_MS", 200);
        let app = TestApp::spawn(&config).await;
        let bot = web_chat_bot(&app).await;
        let (status, pending) = ask(&app, &bot, "are you there?").await;
        assert_eq!(status, 202, "{pending}");
        let question = pending["message_id"].as_str().unwrap().to_owned();
        let path = format!(
            "/api/v1/conversations/{}/messages",
            pending["conversation_id"].as_str().unwrap()
        );
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let (_, page) = app.admin(Method::GET, &path, None).await;
            let items = page["items"].as_array().unwrap().clone();
            if let Some(reply) = items.iter().find(|m| m["reply_to"] == question.as_str()) {
                assert_eq!(reply["text"], "Slowly");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no reply: {page}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(app.stop().await);
    })
    .await;
}

/// `SWITCHBOARD_TEST_REDIS_URL`, if set; in CI a missing Redis fails the test instead.
fn redis_url() -> Option<String> {
    match std::env::var("SWITCHBOARD_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("CI=true but SWITCHBOARD_TEST_REDIS_URL is not set")
        }
        _ => None,
    }
}

#[tokio::test]
async fn a_reply_made_by_another_replica_reaches_the_socket_through_redis() {
    let (Some(db), Some(redis)) = (database::testing::fresh_postgres().await, redis_url()) else {
        eprintln!("PostgreSQL or Redis not configured: skipping");
        return;
    };
    let (openai, telegram) = (
        FakeOpenAi::answering("unused").await,
        FakeTelegram::start().await,
    );
    let prefix = format!("sb-test-{}", uuid::Uuid::new_v4().simple());
    let replica = |concurrency: u32| {
        echo_config(&db, &openai, &telegram)
            .with("SWITCHBOARD__REDIS__URL", &redis)
            .with("SWITCHBOARD__REDIS__CHANNEL_PREFIX", &prefix)
            .with("SWITCHBOARD__WORKER__CONCURRENCY", concurrency)
    };
    // The web tier runs no jobs: the reply is made by the worker replica, and only Redis can
    // tell the web tier's socket about it.
    let web = TestApp::spawn(&replica(0)).await;
    let worker = TestApp::spawn(&replica(2)).await;
    let bot = web_chat_bot(&web).await;

    let (mut socket, _) = connect(&web, &bot, None).await;
    say(&mut socket, json!({"type": "message", "text": "across"})).await;
    let frames = frames_until_reply(&mut socket).await;
    assert_eq!(
        frames.last().unwrap()["message"]["text"],
        "(echo) you said: across",
        "{frames:?}"
    );
    assert!(web.stop().await);
    assert!(worker.stop().await);
}
