//! The operators' events stream end to end: a real WebSocket client on the real server —
//! events in order, replay after a reconnect, across replicas through Redis, and its refusals.

use crate::webchat::{echo_app, next_frame, Socket};
use crate::PATIENCE;
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard_e2e::app::ADMIN_KEY;
use switchboard_e2e::TestApp;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// The events of one question through the REST channel, in the order they happen.
const ONE_EXCHANGE: [&str; 3] = ["message.received", "reply.started", "message.sent"];

/// Opens `/api/v1/events{query}`, with `key` in the `Authorization` header if given.
async fn open(app: &TestApp, query: &str, key: Option<&str>) -> Socket {
    let url = format!(
        "{}/api/v1/events{query}",
        app.base.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request().unwrap();
    if let Some(key) = key {
        let value = format!("Bearer {key}").parse().unwrap();
        request.headers_mut().insert("authorization", value);
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::Text(frame.to_string())).await.unwrap();
}

/// A signed-in socket following `topics`, past its `ready` and `subscribed` frames.
async fn follow(app: &TestApp, query: &str, topics: &[String]) -> Socket {
    let mut socket = open(app, query, Some(ADMIN_KEY)).await;
    assert_eq!(next_frame(&mut socket).await["type"], "ready");
    send(&mut socket, json!({"type": "subscribe", "topics": topics})).await;
    let subscribed = next_frame(&mut socket).await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    socket
}

/// The next `count` event frames' events (other frames are skipped).
async fn events(socket: &mut Socket, count: usize) -> Vec<Value> {
    let mut events = Vec::new();
    while events.len() < count {
        let frame = next_frame(socket).await;
        if frame["type"] == "event" {
            events.push(frame["event"].clone());
        }
    }
    events
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// Asks the bot through the REST channel as `user`.
async fn ask(app: &TestApp, bot: &str, user: &str, text: &str) {
    let body = json!({"user_id": user, "text": text});
    let path = format!("/api/v1/bots/{bot}/chat");
    let (status, answer) = app.admin(Method::POST, &path, Some(body)).await;
    assert_eq!(status, 200, "{answer}");
}

/// The close code of a socket that is closing, past any frames before it.
async fn close_code(socket: &mut Socket) -> u16 {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("the close in time");
        match frame {
            Some(Ok(Message::Close(Some(CloseFrame { code, .. })))) => return u16::from(code),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_conversations_events_arrive_in_order_and_a_reconnect_replays_what_it_missed() {
    crate::on_each_database(|db| async move {
        let (app, bot, _fakes) = echo_app(&db).await;
        let topics = [format!("bots/{bot}")];
        let mut socket = follow(&app, "", &topics).await;

        ask(&app, &bot, "ann", "first").await;
        let first = events(&mut socket, 4).await;
        assert_eq!(kinds(&first)[0], "conversation.started", "{first:?}");
        assert_eq!(kinds(&first)[1..], ONE_EXCHANGE, "{first:?}");
        let conversation = &first[0]["data"]["conversation_id"];
        assert!(first
            .iter()
            .all(|e| &e["data"]["conversation_id"] == conversation));
        assert!(first.iter().all(|e| e["data"]["bot_id"] == bot.as_str()));
        assert_eq!(first[1]["data"]["platform"], "web_chat");
        let ids: Vec<&str> = first.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
        socket.close(None).await.unwrap();

        // Away: the second exchange happens unseen, then the client comes back.
        ask(&app, &bot, "ann", "second").await;
        app.wait_for_status(&bot, "sent", 2, PATIENCE).await;
        let last_seen = ids[3];
        let mut socket = follow(&app, &format!("?after={last_seen}"), &topics).await;
        let missed = events(&mut socket, 3).await;
        assert_eq!(kinds(&missed), ONE_EXCHANGE, "{missed:?}");
        assert!(missed.iter().all(|e| e["id"].as_str().unwrap() > last_seen));
        let replayed = next_frame(&mut socket).await;
        assert_eq!(
            replayed,
            json!({"type": "replayed", "count": 3, "complete": true})
        );

        // Then live again, each event once.
        ask(&app, &bot, "ann", "third").await;
        let live = events(&mut socket, 3).await;
        assert_eq!(kinds(&live), ONE_EXCHANGE, "{live:?}");
        let missed_ids: Vec<&Value> = missed.iter().map(|e| &e["id"]).collect();
        assert!(live.iter().all(|e| !missed_ids.contains(&&e["id"])));
        assert!(app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn events_cross_replicas_through_redis_and_either_replica_replays_them() {
    let Some((db, redis)) = crate::webchat::postgres_and_redis().await else {
        return;
    };
    let (web, bot, fakes) = echo_app(&db).await;
    assert!(web.stop().await);
    let prefix = format!("sb-test-{}", uuid::Uuid::new_v4().simple());
    let replica = |concurrency: u32| {
        crate::webchat::echo_config(&db, &fakes.0, &fakes.1)
            .with("SWITCHBOARD__REDIS__URL", &redis)
            .with("SWITCHBOARD__REDIS__CHANNEL_PREFIX", &prefix)
            .with("SWITCHBOARD__WORKER__CONCURRENCY", concurrency)
    };
    // The web tier takes the messages and runs no jobs: the worker makes and sends the
    // replies, and its events reach the web tier's socket only through Redis.
    let web = TestApp::spawn(&replica(0)).await;
    let worker = TestApp::spawn(&replica(2)).await;
    let topics = [format!("bots/{bot}")];
    let mut socket = follow(&web, "", &topics).await;
    for user in ["ann", "bob"] {
        ask(&web, &bot, user, "across").await;
    }
    let seen = events(&mut socket, 8).await;
    let started = seen.iter().filter(|e| e["type"] == "conversation.started");
    let conversations: Vec<&Value> = started.map(|e| &e["data"]["conversation_id"]).collect();
    assert_eq!(conversations.len(), 2, "{seen:?}");
    for conversation in conversations {
        let of_it: Vec<Value> = seen
            .iter()
            .filter(|e| &e["data"]["conversation_id"] == conversation)
            .cloned()
            .collect();
        let mut expected = vec!["conversation.started"];
        expected.extend(ONE_EXCHANGE);
        assert_eq!(
            kinds(&of_it),
            expected,
            "in order per conversation: {seen:?}"
        );
    }
    // The worker replays, from the database, what both replicas announced.
    let first = seen[0]["id"].as_str().unwrap();
    let mut other = follow(&worker, &format!("?after={first}"), &topics).await;
    let replayed = events(&mut other, 7).await;
    let mut expected: Vec<&Value> = seen[1..].iter().map(|e| &e["id"]).collect();
    expected.sort_by_key(|id| id.as_str().unwrap().to_owned());
    let replayed_ids: Vec<&Value> = replayed.iter().map(|e| &e["id"]).collect();
    assert_eq!(replayed_ids, expected, "replayed in id order");
    assert_eq!(next_frame(&mut other).await["type"], "replayed");
    assert!(web.stop().await);
    assert!(worker.stop().await);
}

/// A socket refused with 4401 after at most one error frame, whose code it returns.
async fn refused(mut socket: Socket) -> (Value, u16) {
    let error = next_frame(&mut socket).await;
    assert_eq!(error["type"], "error", "{error}");
    (error, close_code(&mut socket).await)
}

#[tokio::test]
async fn a_socket_without_a_valid_key_is_closed_with_4401() {
    let db = database::testing::fresh_sqlite();
    let (app, _bot, _fakes) = echo_app(&db).await;
    let (error, code) = refused(open(&app, "", Some("sb_not_a_key")).await).await;
    assert_eq!(
        (error["code"].as_str(), code),
        (Some("unauthenticated"), 4401)
    );

    let mut socket = open(&app, "", None).await;
    send(&mut socket, json!({"type": "auth", "key": "sb_not_a_key"})).await;
    let (error, code) = refused(socket).await;
    assert_eq!(
        (error["code"].as_str(), code),
        (Some("unauthenticated"), 4401)
    );

    let mut socket = open(&app, "", None).await;
    send(
        &mut socket,
        json!({"type": "subscribe", "topics": ["handoffs"]}),
    )
    .await;
    assert_eq!(
        refused(socket).await.1,
        4401,
        "the first frame must sign in"
    );

    let started = tokio::time::Instant::now();
    let (error, code) = refused(open(&app, "", None).await).await;
    assert_eq!(
        (error["code"].as_str(), code),
        (Some("unauthenticated"), 4401)
    );
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "silence is given 5 s"
    );

    let mut socket = open(&app, "", None).await;
    send(&mut socket, json!({"type": "auth", "key": ADMIN_KEY})).await;
    assert_eq!(
        next_frame(&mut socket).await,
        json!({"type": "ready", "role": "admin"})
    );

    let bad_after = reqwest::get(app.url("/api/v1/events?after=yesterday"))
        .await
        .unwrap();
    assert_eq!(bad_after.status(), 422);
    let problem: Value = bad_after.json().await.unwrap();
    assert_eq!(
        (problem["code"].as_str(), problem["field"].as_str()),
        (Some("invalid_field"), Some("after"))
    );
    assert!(app.stop().await);
}

#[tokio::test]
async fn a_viewer_follows_but_changes_nothing_and_bad_frames_are_answered() {
    let db = database::testing::fresh_sqlite();
    let (app, bot, _fakes) = echo_app(&db).await;
    let body = json!({"name": "watcher", "role": "viewer"});
    let (status, issued) = app
        .admin(Method::POST, "/api/v1/api-keys", Some(body))
        .await;
    assert_eq!(status, 201, "{issued}");
    let viewer = issued["key"].as_str().unwrap();
    let mut socket = open(&app, "", None).await;
    send(&mut socket, json!({"type": "auth", "key": viewer})).await;
    assert_eq!(
        next_frame(&mut socket).await,
        json!({"type": "ready", "role": "viewer"})
    );
    send(
        &mut socket,
        json!({"type": "subscribe", "topics": [format!("bots/{bot}"), "handoffs"]}),
    )
    .await;
    assert_eq!(next_frame(&mut socket).await["type"], "subscribed");

    ask(&app, &bot, "ann", "hello").await;
    let seen = events(&mut socket, 4).await;
    let conversation = seen[0]["data"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let writes = [
        json!({"type": "handoff", "conversation_id": conversation}),
        json!({"type": "message", "conversation_id": conversation, "text": "from a viewer"}),
        json!({"type": "end", "conversation_id": conversation}),
    ];
    for write in writes {
        send(&mut socket, write).await;
        assert_eq!(next_frame(&mut socket).await["code"], "read_only");
    }
    let path = format!("/api/v1/conversations/{conversation}");
    let (_, after) = app.admin(Method::GET, &path, None).await;
    assert_eq!(
        (after["mode"].as_str(), after["status"].as_str()),
        (Some("bot"), Some("active"))
    );
    let messages = app.messages_of(&bot).await;
    assert_eq!(messages.len(), 2, "nothing was written: {messages:?}");

    send(
        &mut socket,
        json!({"type": "subscribe", "topics": ["bots/not-an-id"]}),
    )
    .await;
    assert_eq!(next_frame(&mut socket).await["code"], "unknown_topic");
    send(
        &mut socket,
        json!({"type": "subscribe", "topics": ["users/1"]}),
    )
    .await;
    assert_eq!(next_frame(&mut socket).await["code"], "unknown_topic");
    send(&mut socket, json!({"type": "subscribe"})).await;
    assert_eq!(next_frame(&mut socket).await["code"], "malformed_frame");
    let huge = json!({"type": "subscribe", "topics": ["x".repeat(20_000)]});
    send(&mut socket, huge).await;
    assert_eq!(next_frame(&mut socket).await["code"], "frame_too_large");
    assert_eq!(close_code(&mut socket).await, 1009);
    assert!(app.stop().await);
}

#[tokio::test]
async fn a_client_that_never_reads_is_dropped_and_nothing_piles_up() {
    let db = database::testing::fresh_sqlite();
    let (app, bot, _fakes) = echo_app(&db).await;
    let bot_id: domain::BotId = bot.parse().unwrap();
    let socket = follow(&app, "", &[format!("bots/{bot}")]).await;
    // Far more than the socket, its queue and the connection's buffers hold.
    let published = 60_000;
    for _ in 0..published {
        app.publish(domain::DomainEvent::ConversationEnded {
            bot_id,
            conversation_id: domain::ConversationId::new(),
        });
        tokio::task::yield_now().await;
    }
    // The client wakes up: it gets what was queued before the server gave up, then the end.
    let (mut received, mut socket) = (0, socket);
    let ended = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(frame) = socket.next().await {
            match frame {
                Ok(Message::Text(_)) => received += 1,
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the server ends the socket");
    eprintln!("a client that never read got {received} of {published} events, then {ended:?}");
    assert!(
        received < published / 2,
        "{received} of {published} frames were kept for it"
    );
    if let Some(code) = ended {
        assert_eq!(code, 4408);
    }
    assert!(app.stop().await);
}

#[tokio::test]
async fn a_graceful_shutdown_closes_the_open_sockets_with_1001() {
    let db = database::testing::fresh_sqlite();
    let (app, bot, _fakes) = echo_app(&db).await;
    let mut events = follow(&app, "", &[format!("bots/{bot}")]).await;
    let (mut chat, _) = crate::webchat::connect(&app, &bot, "").await;
    let stopping = tokio::spawn(app.stop());
    // Closed by the server as it goes away, not dropped when its grace (30 s) runs out.
    assert_eq!(close_code(&mut events).await, 1001);
    assert_eq!(close_code(&mut chat).await, 1001);
    assert!(stopping.await.unwrap());
}

#[tokio::test]
async fn a_revoked_key_loses_its_socket() {
    let db = database::testing::fresh_sqlite();
    let (app, bot, _fakes) = echo_app(&db).await;
    let body = json!({"name": "leaving", "role": "viewer"});
    let (_, issued) = app
        .admin(Method::POST, "/api/v1/api-keys", Some(body))
        .await;
    let key = issued["key"].as_str().unwrap();
    let mut socket = open(&app, "", Some(key)).await;
    assert_eq!(next_frame(&mut socket).await["type"], "ready");
    let path = format!("/api/v1/api-keys/{}", issued["id"].as_str().unwrap());
    let (status, _) = app.admin(Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    send(
        &mut socket,
        json!({"type": "subscribe", "topics": [format!("bots/{bot}")]}),
    )
    .await;
    let (error, code) = refused(socket).await;
    assert_eq!(
        (error["code"].as_str(), code),
        (Some("unauthenticated"), 4401)
    );
    assert!(app.stop().await);
}
