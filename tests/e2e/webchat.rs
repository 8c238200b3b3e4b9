//! The web chat end to end: a real WebSocket client on the real server (the echo model answers),
//! visitor tokens, the rate limits and socket caps, and the REST channel's 200, 202 and 429.

use crate::{on_each_database, PATIENCE};
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram};
use switchboard_e2e::{TestApp, TestConfig};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A bot bound to the web chat.
pub(crate) async fn web_chat_bot(app: &TestApp) -> String {
    let bot = app.create_bot("Web", None).await;
    let path = format!("/api/v1/bots/{bot}/platforms/web_chat");
    let (status, binding) = app.admin(Method::PUT, &path, Some(json!({}))).await;
    assert_eq!(status, 200, "bind web_chat: {binding}");
    assert_eq!(binding["webhook_url"], app.url(&format!("/chat/{bot}")));
    bot
}

/// Opens a socket with `query` (`""`, `?visitor_token=…`, `?visitor_id=…`).
async fn open(app: &TestApp, bot: &str, query: &str) -> Socket {
    let url = format!(
        "{}/ws/chat/{bot}{query}",
        app.base.replacen("http", "ws", 1)
    );
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// Opens the visitor's socket and reads its `hello`.
pub(crate) async fn connect(app: &TestApp, bot: &str, query: &str) -> (Socket, Value) {
    let mut socket = open(app, bot, query).await;
    let hello = next_frame(&mut socket).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    (socket, hello)
}

fn token_query(hello: &Value) -> String {
    format!(
        "?visitor_token={}",
        hello["visitor_token"].as_str().unwrap()
    )
}

/// A socket refused after the upgrade: its one error frame, then its close code.
async fn refused(app: &TestApp, bot: &str, query: &str) -> (Value, u16) {
    let mut socket = open(app, bot, query).await;
    let error = next_frame(&mut socket).await;
    assert_eq!(error["type"], "error", "{error}");
    let close = tokio::time::timeout(PATIENCE, socket.next())
        .await
        .expect("the close in time");
    let Some(Ok(Message::Close(Some(CloseFrame { code, .. })))) = close else {
        panic!("expected a close frame, got {close:?}");
    };
    (error, u16::from(code))
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

pub(crate) fn echo_config(
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

        let (mut socket, hello) = connect(&app, &bot, "").await;
        let visitor = hello["visitor_id"].as_str().unwrap().to_owned();
        assert_eq!(visitor.len(), 36, "a UUID is issued: {hello}");
        let token = token_query(&hello);
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

        let (mut again, hello) = connect(&app, &bot, &token).await;
        assert_eq!(hello["visitor_id"], visitor.as_str());
        assert_eq!(token_query(&hello), token, "the same token");
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
            .with("SWITCHBOARD__WEB_CHAT__REPLY_WAIT_MS", "200");
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
pub(crate) fn redis_url() -> Option<String> {
    match std::env::var("SWITCHBOARD_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("CI=true but SWITCHBOARD_TEST_REDIS_URL is not set")
        }
        _ => None,
    }
}

/// A fresh PostgreSQL database and the Redis URL, for the tests of replicas sharing Redis;
/// `None` (said on stderr) when either is not configured.
pub(crate) async fn postgres_and_redis() -> Option<(database::testing::TestDatabase, String)> {
    let both = (database::testing::fresh_postgres().await, redis_url());
    if let (Some(db), Some(redis)) = both {
        return Some((db, redis));
    }
    eprintln!("PostgreSQL or Redis not configured: skipping");
    None
}

#[tokio::test]
async fn a_reply_made_by_another_replica_reaches_the_socket_through_redis() {
    let Some((db, redis)) = postgres_and_redis().await else {
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

    let (mut socket, _) = connect(&web, &bot, "").await;
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

/// The inbound messages stored for `bot`, across its conversations.
async fn stored_inbound(app: &TestApp, bot: &str) -> usize {
    let path = format!("/api/v1/conversations?bot_id={bot}&limit=200");
    let (status, page) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{page}");
    let mut inbound = 0;
    for conversation in page["items"].as_array().unwrap() {
        let path = format!(
            "/api/v1/conversations/{}/messages?limit=200",
            conversation["id"].as_str().unwrap()
        );
        let (_, messages) = app.admin(Method::GET, &path, None).await;
        inbound += messages["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "inbound")
            .count();
    }
    inbound
}

/// A server with these web chat settings (`SWITCHBOARD__WEB_CHAT__…`) and a bot bound to it.
async fn limited_app(
    db: &database::testing::TestDatabase,
    settings: &[(&'static str, &str)],
) -> (TestApp, String, (FakeOpenAi, FakeTelegram)) {
    let fakes = (
        FakeOpenAi::answering("unused").await,
        FakeTelegram::start().await,
    );
    let config = settings.iter().fold(
        echo_config(db, &fakes.0, &fakes.1),
        |config, (key, value)| config.with(key, value),
    );
    let app = TestApp::spawn(&config).await;
    let bot = web_chat_bot(&app).await;
    (app, bot, fakes)
}

/// Sends `text` and reads frames up to the visitor's own echo or an error: `Ok` when stored,
/// else the error frame.
async fn try_say(socket: &mut Socket, text: &str) -> Result<(), Value> {
    say(socket, json!({"type": "message", "text": text})).await;
    loop {
        let frame = next_frame(socket).await;
        match frame["type"].as_str() {
            Some("error") => return Err(frame),
            Some("message") if frame["message"]["text"] == text => return Ok(()),
            _ => {}
        }
    }
}

fn assert_rate_limited(result: Result<(), Value>) {
    let error = result.expect_err("rate limited");
    assert_eq!(error["code"], "rate_limited", "{error}");
    assert!(error["retry_after"].as_u64().unwrap() >= 1, "{error}");
}

#[tokio::test]
async fn a_burst_of_one_visitor_on_20_sockets_stores_only_the_visitors_allowance() {
    on_each_database(|db| async move {
        let (app, bot, _fakes) = limited_app(
            &db,
            &[
                ("SWITCHBOARD__WEB_CHAT__VISITOR_RATE_BURST", "5"),
                ("SWITCHBOARD__WEB_CHAT__VISITOR_RATE_PER_MINUTE", "1"),
                ("SWITCHBOARD__WEB_CHAT__ADDRESS_RATE_BURST", "1000"),
                ("SWITCHBOARD__WEB_CHAT__MAX_SOCKETS_PER_VISITOR", "20"),
            ],
        )
        .await;
        let (first, hello) = connect(&app, &bot, "").await;
        let token = token_query(&hello);
        let mut sockets = vec![first];
        for _ in 1..20 {
            sockets.push(connect(&app, &bot, &token).await.0);
        }
        // Five messages on each of the 20 sockets at once: 100.
        let answers = futures::future::join_all(sockets.iter_mut().enumerate().map(
            |(n, socket)| async move {
                let mut sent = Vec::new();
                for m in 0..5 {
                    say(
                        socket,
                        json!({"type": "message", "text": format!("{n}-{m}")}),
                    )
                    .await;
                    sent.push(format!("{n}-{m}"));
                }
                // Each message is answered by its echo (when stored) or a rate_limited frame.
                let mut limited = 0;
                while !sent.is_empty() {
                    let frame = next_frame(socket).await;
                    if frame["code"] == "rate_limited" {
                        limited += 1;
                        sent.pop();
                    } else if let Some(text) = frame["message"]["text"].as_str() {
                        sent.retain(|s| s != text);
                    }
                }
                limited
            },
        ))
        .await;
        let limited: usize = answers.iter().sum();
        assert_eq!(limited, 95, "per socket: {answers:?}");
        assert_eq!(stored_inbound(&app, &bot).await, 5);

        // Reconnecting does not give the visitor a new allowance.
        drop(sockets);
        let (mut again, _) = connect(&app, &bot, &token).await;
        assert_rate_limited(try_say(&mut again, "after reconnecting").await);
        // Another visitor has an allowance of their own.
        let (mut other, _) = connect(&app, &bot, "").await;
        assert_eq!(try_say(&mut other, "someone else").await, Ok(()));
        assert!(app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn the_client_address_has_an_allowance_across_its_visitors() {
    on_each_database(|db| async move {
        let (app, bot, _fakes) = limited_app(
            &db,
            &[
                ("SWITCHBOARD__WEB_CHAT__VISITOR_RATE_BURST", "3"),
                ("SWITCHBOARD__WEB_CHAT__VISITOR_RATE_PER_MINUTE", "1"),
                ("SWITCHBOARD__WEB_CHAT__ADDRESS_RATE_BURST", "4"),
                ("SWITCHBOARD__WEB_CHAT__ADDRESS_RATE_PER_MINUTE", "1"),
            ],
        )
        .await;
        let (mut one, _) = connect(&app, &bot, "").await;
        for n in 0..3 {
            assert_eq!(try_say(&mut one, &format!("one {n}")).await, Ok(()));
        }
        assert_rate_limited(try_say(&mut one, "one more").await);
        let (mut two, _) = connect(&app, &bot, "").await;
        assert_eq!(try_say(&mut two, "two 0").await, Ok(()));
        assert_rate_limited(try_say(&mut two, "two 1").await);
        assert_eq!(stored_inbound(&app, &bot).await, 4);
        assert!(app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn sockets_beyond_the_caps_are_refused_with_close_code_4429() {
    let db = database::testing::fresh_sqlite();
    let (app, bot, _fakes) = limited_app(
        &db,
        &[
            ("SWITCHBOARD__WEB_CHAT__MAX_SOCKETS_PER_VISITOR", "2"),
            ("SWITCHBOARD__WEB_CHAT__MAX_SOCKETS_PER_ADDRESS", "3"),
        ],
    )
    .await;
    let (first, hello) = connect(&app, &bot, "").await;
    let token = token_query(&hello);
    let (_second, _) = connect(&app, &bot, &token).await;
    let (error, code) = refused(&app, &bot, &token).await;
    assert_eq!(
        (error["code"].as_str(), code),
        (Some("too_many_sockets"), 4429)
    );
    let (_other, _) = connect(&app, &bot, "").await;
    let (error, code) = refused(&app, &bot, "").await;
    assert_eq!(
        (error["code"].as_str(), code),
        (Some("too_many_sockets"), 4429),
        "the address's cap"
    );
    // A closed socket gives its place back.
    drop(first);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut socket = open(&app, &bot, &token).await;
        if next_frame(&mut socket).await["type"] == "hello" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place is never given back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(app.stop().await);
}

#[tokio::test]
async fn only_a_token_this_server_signed_opens_a_visitors_history() {
    let db = database::testing::fresh_sqlite();
    let (app, bot, _fakes) = echo_app(&db).await;
    let (mut socket, hello) = connect(&app, &bot, "").await;
    let visitor = hello["visitor_id"].as_str().unwrap().to_owned();
    let token = hello["visitor_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with(&format!("v1.{visitor}.")), "{token}");
    say(&mut socket, json!({"type": "message", "text": "my secret"})).await;
    frames_until_reply(&mut socket).await;

    let history = |hello: &Value| hello["history"].as_array().unwrap().len();
    let (_, with_token) = connect(&app, &bot, &format!("?visitor_token={token}")).await;
    assert_eq!(
        (history(&with_token), &with_token["visitor_id"]),
        (2, &json!(visitor))
    );

    let mut altered = token.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'a' { b'b' } else { b'a' };
    let altered = String::from_utf8(altered).unwrap();
    let (_, signature) = token.rsplit_once('.').unwrap();
    let other_visitor = format!("v1.{}.{signature}", uuid::Uuid::new_v4());
    let forged = format!("v1.{visitor}.{}", "0".repeat(64));
    for bad in [altered, other_visitor, forged, visitor.clone()] {
        let (error, code) = refused(&app, &bot, &format!("?visitor_token={bad}")).await;
        assert_eq!(
            (error["code"].as_str(), code),
            (Some("invalid_visitor_token"), 4401),
            "{bad}"
        );
        assert!(
            error["detail"].as_str().unwrap().contains("not valid"),
            "{error}"
        );
    }
    // For this release a bare visitor id still opens its history, and is given its token.
    let (_, plain) = connect(&app, &bot, &format!("?visitor_id={visitor}")).await;
    assert_eq!(history(&plain), 2);
    assert_eq!(plain["visitor_token"], token.as_str());
    assert!(app.stop().await);

    let (app, bot, _fakes) = limited_app(
        &db,
        &[("SWITCHBOARD__WEB_CHAT__ACCEPT_PLAIN_VISITOR_IDS", "false")],
    )
    .await;
    let (_, hello) = connect(&app, &bot, "").await;
    let (error, code) = refused(
        &app,
        &bot,
        &format!("?visitor_id={}", hello["visitor_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        (error["code"].as_str(), code),
        (Some("visitor_token_required"), 4401)
    );
    let (_, again) = connect(&app, &bot, &token_query(&hello)).await;
    assert_eq!(again["visitor_id"], hello["visitor_id"]);
    assert!(app.stop().await);
}

#[tokio::test]
async fn the_rest_channel_answers_429_with_retry_after_beyond_the_users_allowance() {
    let db = database::testing::fresh_sqlite();
    let (app, bot, _fakes) = limited_app(
        &db,
        &[
            ("SWITCHBOARD__WEB_CHAT__VISITOR_RATE_BURST", "2"),
            ("SWITCHBOARD__WEB_CHAT__VISITOR_RATE_PER_MINUTE", "1"),
        ],
    )
    .await;
    for text in ["one", "two"] {
        let (status, answer) = ask(&app, &bot, text).await;
        assert_eq!(status, 200, "{answer}");
    }
    let response = app
        .client
        .post(app.url(&format!("/api/v1/bots/{bot}/chat")))
        .bearer_auth(switchboard_e2e::app::ADMIN_KEY)
        .json(&json!({"user_id": "customer-7", "text": "three"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (50..=60).contains(&wait),
        "one message a minute: Retry-After {wait}"
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited", "{problem}");
    assert!(app.stop().await);
}

#[tokio::test]
async fn replicas_share_a_visitors_allowance_and_its_token_through_redis() {
    let Some((db, redis)) = postgres_and_redis().await else {
        return;
    };
    let (openai, telegram) = (
        FakeOpenAi::answering("unused").await,
        FakeTelegram::start().await,
    );
    let prefix = format!("sb-test-{}", uuid::Uuid::new_v4().simple());
    let replica = || {
        echo_config(&db, &openai, &telegram)
            .with("SWITCHBOARD__REDIS__URL", &redis)
            .with("SWITCHBOARD__REDIS__CHANNEL_PREFIX", &prefix)
            .with(
                "SWITCHBOARD__WEB_CHAT__VISITOR_TOKEN_KEY",
                "a-visitor-token-key-for-both-replicas",
            )
            .with("SWITCHBOARD__WEB_CHAT__VISITOR_RATE_BURST", "3")
            .with("SWITCHBOARD__WEB_CHAT__VISITOR_RATE_PER_MINUTE", "1")
    };
    let (a, b) = (
        TestApp::spawn(&replica()).await,
        TestApp::spawn(&replica()).await,
    );
    let bot = web_chat_bot(&a).await;
    let (mut on_a, hello) = connect(&a, &bot, "").await;
    for n in 0..2 {
        assert_eq!(try_say(&mut on_a, &format!("a {n}")).await, Ok(()));
    }
    // The other replica verifies the token and knows what the visitor has spent.
    let (mut on_b, hello_b) = connect(&b, &bot, &token_query(&hello)).await;
    assert_eq!(hello_b["visitor_id"], hello["visitor_id"]);
    assert_eq!(try_say(&mut on_b, "b 0").await, Ok(()));
    assert_rate_limited(try_say(&mut on_b, "b 1").await);
    assert_rate_limited(try_say(&mut on_a, "a 2").await);
    assert!(a.stop().await);
    assert!(b.stop().await);
}
