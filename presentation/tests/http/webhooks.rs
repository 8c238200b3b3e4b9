//! `/webhooks/{platform}/{bot_id}`: authenticity before any write, limits, storage outages, and Meta's GET handshake.

use crate::support::{assert_problem, Options, TestApp, META_VERIFY_TOKEN, TELEGRAM_SECRET};
use actix_web::test::TestRequest;
use futures::future::join_all;
use presentation::HttpSettings;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;

const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

fn update() -> String {
    json!({"update_id": 1, "message": {"message_id": 10, "chat_id": 42, "text": "hi"}}).to_string()
}

fn webhook(bot_id: impl std::fmt::Display, secret: Option<&str>, body: String) -> TestRequest {
    let request = TestRequest::post()
        .uri(&format!("/webhooks/telegram/{bot_id}"))
        .insert_header(("content-type", "application/json"))
        .set_payload(body);
    match secret {
        Some(secret) => request.insert_header((SECRET_HEADER, secret)),
        None => request,
    }
}

#[actix_web::test]
async fn an_authentic_update_is_recorded_and_acknowledged() {
    let app = TestApp::new().await;
    let bot = app.seed_bound_bot().await;
    let reply = app
        .send(webhook(bot.id, Some(TELEGRAM_SECRET), update()))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(reply.body, json!({"ok": true}));
    assert!(reply.header("x-request-id").is_some());
    assert_eq!(app.ledger_calls(), 1);
}

#[actix_web::test]
async fn an_update_without_messages_is_acknowledged() {
    let app = TestApp::new().await;
    let bot = app.seed_bound_bot().await;
    let reply = app
        .send(webhook(
            bot.id,
            Some(TELEGRAM_SECRET),
            json!({"update_id": 2}).to_string(),
        ))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(app.ledger_calls(), 0);
}

#[actix_web::test]
async fn a_wrong_or_missing_secret_is_401_and_nothing_is_recorded() {
    let app = TestApp::new().await;
    let bot = app.seed_bound_bot().await;
    for secret in [Some("wrong-secret"), None] {
        let reply = app.send(webhook(bot.id, secret, update())).await;
        assert_problem(&reply, 401, "invalid_signature");
    }
    assert_eq!(app.ledger_calls(), 0);
}

/// An app whose webhook bodies may be 64 bytes at most.
async fn small_bodies_app() -> TestApp {
    TestApp::with(Options {
        settings: HttpSettings {
            webhook_body_limit: 64,
            ..HttpSettings::default()
        },
        ..Default::default()
    })
    .await
}

#[actix_web::test]
async fn an_oversized_body_is_413_and_nothing_is_recorded() {
    let app = small_bodies_app().await;
    let bot = app.seed_bound_bot().await;
    let big = json!({"message": {"message_id": 1, "chat_id": 2, "text": "x".repeat(100)}});
    let reply = app
        .send(webhook(bot.id, Some(TELEGRAM_SECRET), big.to_string()))
        .await;
    assert_problem(&reply, 413, "payload_too_large");
    assert_eq!(app.ledger_calls(), 0);
}

#[actix_web::test]
async fn the_default_webhook_limit_is_one_mebibyte() {
    let app = TestApp::new().await;
    let bot = app.seed_bound_bot().await;
    let reply = app
        .send(webhook(
            bot.id,
            Some(TELEGRAM_SECRET),
            "x".repeat(1024 * 1024 + 1),
        ))
        .await;
    assert_problem(&reply, 413, "payload_too_large");
}

#[actix_web::test]
async fn a_body_to_a_binding_that_does_not_exist_is_never_read() {
    let app = TestApp::new().await;
    let unbound = app.seed_bot("unbound").await;
    let over = presentation::routes::webhooks::WHATSAPP_BODY_LIMIT + 1;
    for platform in ["whatsapp", "messenger", "telegram", "discord"] {
        let request = TestRequest::post()
            .uri(&format!("/webhooks/{platform}/{}", unbound.id))
            .insert_header(("content-type", "application/json"))
            .set_payload("x".repeat(over));
        // 404 rather than 413: the size was never looked at, let alone the bytes.
        assert_problem(&app.send(request).await, 404, "not_found");
    }
}

#[actix_web::test]
async fn a_telegram_request_without_its_secret_is_refused_before_its_body_is_read() {
    let app = small_bodies_app().await;
    let bot = app.seed_bound_bot().await;
    // Over the limit, yet 401: the secret header was checked first.
    let reply = app.send(webhook(bot.id, None, "x".repeat(1000))).await;
    assert_problem(&reply, 401, "invalid_signature");
    let reply = app
        .send(webhook(bot.id, Some(TELEGRAM_SECRET), "x".repeat(1000)))
        .await;
    assert_problem(&reply, 413, "payload_too_large");
}

#[actix_web::test]
async fn webhook_bodies_beyond_the_cap_are_503_at_once() {
    let app = TestApp::new().await;
    let bot = app.seed_bound_bot().await;
    // Every slot taken.
    let bodies = presentation::WebhookBodies::new(1);
    let _held = bodies.take().unwrap();
    let reply = app
        .send_with_bodies(bodies, webhook(bot.id, Some(TELEGRAM_SECRET), update()))
        .await;
    assert_problem(&reply, 503, "busy");
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(app.ledger_calls(), 0);
}

#[actix_web::test]
async fn unknown_platforms_bots_and_bindings_are_404() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("unbound").await;
    let cases = [
        format!("/webhooks/myspace/{}", bot.id),
        "/webhooks/telegram/not-a-uuid".to_owned(),
        format!("/webhooks/telegram/{}", bot.id),
        format!("/webhooks/telegram/{}", domain::BotId::new()),
        format!("/webhooks/discord/{}", bot.id),
    ];
    for uri in cases {
        let reply = app
            .send(
                TestRequest::post()
                    .uri(&uri)
                    .insert_header((SECRET_HEADER, TELEGRAM_SECRET))
                    .set_payload(update()),
            )
            .await;
        assert_problem(&reply, 404, "not_found");
    }
    assert_eq!(app.ledger_calls(), 0);
}

#[actix_web::test]
async fn a_malformed_update_is_400() {
    let app = TestApp::new().await;
    let bot = app.seed_bound_bot().await;
    let reply = app
        .send(webhook(bot.id, Some(TELEGRAM_SECRET), "{not json".into()))
        .await;
    assert_problem(&reply, 400, "malformed_update");
}

#[actix_web::test]
async fn unavailable_storage_is_503_with_retry_after() {
    let app = TestApp::new().await;
    let bot = app.seed_bound_bot().await;
    app.ledger.unavailable.set(true);
    let reply = app
        .send(webhook(bot.id, Some(TELEGRAM_SECRET), update()))
        .await;
    assert_problem(&reply, 503, "service_unavailable");
    assert_eq!(reply.header("retry-after"), Some("5"));
    assert!(!reply.raw.contains("connection refused"), "{}", reply.raw);

    app.ledger.unavailable.set(false);
    app.bindings.unavailable.set(true);
    let reply = app
        .send(webhook(bot.id, Some(TELEGRAM_SECRET), update()))
        .await;
    assert_problem(&reply, 503, "service_unavailable");
    assert_eq!(reply.header("retry-after"), Some("5"));
}

fn numbered_update(n: u32) -> String {
    json!({"update_id": n, "message": {"message_id": n, "chat_id": 42, "text": "hi"}}).to_string()
}

/// Yields to the writer and the other requests until `done`, for ten seconds at most.
async fn until(done: impl Fn() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::task::yield_now().await;
        }
    });
    waited.await.expect("waited too long");
}

#[actix_web::test]
async fn a_failed_intake_batch_answers_503_to_each_request_in_it() {
    let app = TestApp::new().await;
    let bot = app.seed_bound_bot().await;
    let post = |n| app.send(webhook(bot.id, Some(TELEGRAM_SECRET), numbered_update(n)));
    app.ledger.hold.store(true, Ordering::SeqCst);
    let first = post(1);
    let batched = async {
        // While the first batch is being written, three requests wait for the writer.
        until(|| app.ledger.batches().len() == 1).await;
        app.ledger.unavailable.set(true);
        let release = async {
            until(|| app.intake.waiting() == 3).await;
            app.ledger.hold.store(false, Ordering::SeqCst);
            app.ledger.release.notify_one();
        };
        let (replies, ()) = futures::join!(join_all((2..=4).map(post)), release);
        replies
    };
    let (first, batched) = futures::join!(first, batched);

    assert_eq!(first.status.as_u16(), 200, "{}", first.raw);
    assert_eq!(app.ledger.batches(), [1, 3], "the three went in one batch");
    for reply in &batched {
        assert_problem(reply, 503, "service_unavailable");
    }
    app.ledger.unavailable.set(false);
    assert_eq!(
        post(5).await.status.as_u16(),
        200,
        "the next batch is written"
    );
}

#[actix_web::test]
async fn telegram_webhooks_only_accept_post() {
    let app = TestApp::new().await;
    let bot = app.seed_bound_bot().await;
    let reply = app
        .send(TestRequest::get().uri(&format!("/webhooks/telegram/{}", bot.id)))
        .await;
    assert_problem(&reply, 405, "method_not_allowed");
}

fn handshake(platform: &str, bot_id: impl std::fmt::Display, query: &str) -> TestRequest {
    TestRequest::get().uri(&format!("/webhooks/{platform}/{bot_id}?{query}"))
}

#[actix_web::test]
async fn meta_handshake_echoes_the_challenge_for_the_verify_token() {
    let app = TestApp::new().await;
    let bot = app.seed_meta_bound_bot().await;
    for platform in ["messenger", "whatsapp"] {
        let query = format!(
            "hub.mode=subscribe&hub.verify_token={META_VERIFY_TOKEN}&hub.challenge=1158201444"
        );
        let reply = app.send(handshake(platform, bot.id, &query)).await;
        assert_eq!(reply.status, 200, "{platform}: {}", reply.raw);
        assert_eq!(reply.raw, "1158201444");
        assert!(reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain"));
    }
}

#[actix_web::test]
async fn meta_handshake_with_a_wrong_token_or_mode_is_403() {
    let app = TestApp::new().await;
    let bot = app.seed_meta_bound_bot().await;
    for query in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1".to_owned(),
        format!("hub.mode=unsubscribe&hub.verify_token={META_VERIFY_TOKEN}&hub.challenge=1"),
        format!("hub.verify_token={META_VERIFY_TOKEN}&hub.challenge=1"),
        "hub.mode=subscribe&hub.challenge=1".to_owned(),
        String::new(),
    ] {
        let reply = app.send(handshake("whatsapp", bot.id, &query)).await;
        assert_problem(&reply, 403, "subscription_refused");
        assert!(!reply.raw.contains(META_VERIFY_TOKEN));
    }
}

#[actix_web::test]
async fn meta_handshake_for_an_unbound_bot_is_404() {
    let app = TestApp::new().await;
    let bot = app.seed_bound_bot().await;
    let query = format!("hub.mode=subscribe&hub.verify_token={META_VERIFY_TOKEN}&hub.challenge=1");
    let reply = app.send(handshake("whatsapp", bot.id, &query)).await;
    assert_problem(&reply, 404, "not_found");
}

#[actix_web::test]
async fn meta_webhooks_still_take_posts() {
    let app = TestApp::new().await;
    let bot = app.seed_meta_bound_bot().await;
    let post = TestRequest::post()
        .uri(&format!("/webhooks/messenger/{}", bot.id))
        .insert_header(("content-type", "application/json"))
        .set_payload("{}");
    // This app speaks no Messenger: the POST reaches the use case, which finds no channel.
    assert_problem(&app.send(post).await, 404, "not_found");
}
