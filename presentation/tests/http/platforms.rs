//! `/api/v1/bots/{id}/platforms`: binding with credentials, never echoing the secrets.

use crate::support::{
    assert_problem, Options, TestApp, TELEGRAM_SECRET, TELEGRAM_TOKEN, VIEWER_KEY,
};
use actix_web::test::TestRequest;
use serde_json::{json, Value};

fn put(bot_id: impl std::fmt::Display, platform: &str, body: Value) -> TestRequest {
    TestRequest::put()
        .uri(&format!("/api/v1/bots/{bot_id}/platforms/{platform}"))
        .set_json(body)
}

fn telegram_body() -> Value {
    json!({"token": TELEGRAM_TOKEN, "secret_token": TELEGRAM_SECRET})
}

fn assert_no_secrets(raw: &str) {
    assert!(!raw.contains(TELEGRAM_TOKEN), "{raw}");
    assert!(!raw.contains(TELEGRAM_SECRET), "{raw}");
    assert!(!raw.contains("very-secret"), "{raw}");
}

#[actix_web::test]
async fn binding_telegram_answers_the_webhook_url_and_never_the_secrets() {
    let app = TestApp::new();
    let bot = app.seed_bot("Ada");
    let reply = app.admin(put(bot.id, "telegram", telegram_body())).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_no_secrets(&reply.raw);
    let body = &reply.body;
    assert_eq!(body["bot_id"], bot.id.to_string());
    assert_eq!(body["platform"], "telegram");
    assert_eq!(
        body["webhook_url"],
        format!("http://localhost:8080/webhooks/telegram/{}", bot.id)
    );
    assert_eq!(body["webhook_registered"], false);
    assert!(body["created_at"].is_string() && body["updated_at"].is_string());
    assert_eq!(
        body.as_object().unwrap().len(),
        6,
        "unexpected fields: {}",
        reply.raw
    );

    let list = app
        .as_key(
            VIEWER_KEY,
            TestRequest::get().uri(&format!("/api/v1/bots/{}/platforms", bot.id)),
        )
        .await;
    assert_eq!(list.status, 200);
    assert_no_secrets(&list.raw);
    assert_eq!(list.body["items"][0]["platform"], "telegram");
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn the_webhook_url_follows_the_forwarded_host() {
    let app = TestApp::new();
    let bot = app.seed_bot("Ada");
    let reply = app
        .admin(
            put(bot.id, "telegram", telegram_body())
                .insert_header(("x-forwarded-proto", "https"))
                .insert_header(("x-forwarded-host", "bots.example.com")),
        )
        .await;
    assert_eq!(
        reply.body["webhook_url"],
        format!("https://bots.example.com/webhooks/telegram/{}", bot.id)
    );
}

#[actix_web::test]
async fn invalid_credentials_are_422_naming_the_field() {
    let app = TestApp::new();
    let bot = app.seed_bot("Ada");
    let cases = [
        (json!({"token": "nope", "secret_token": "abc"}), "token"),
        (
            json!({"token": "1:abc", "secret_token": "has spaces"}),
            "secret_token",
        ),
        (json!({"token": "1:abc"}), "secret_token"),
        (json!({"secret_token": "abc"}), "token"),
    ];
    for (body, field) in cases {
        let reply = app.admin(put(bot.id, "telegram", body.clone())).await;
        assert_problem(&reply, 422, "invalid_field");
        assert_eq!(reply.body["field"], field, "{body}: {}", reply.raw);
        assert!(!reply.raw.contains("has spaces"));
    }
    let not_an_object = app.admin(put(bot.id, "telegram", json!([1, 2]))).await;
    assert_problem(&not_an_object, 400, "malformed_json");
}

#[actix_web::test]
async fn platforms_without_an_adapter_are_422_and_unknown_ones_404() {
    let app = TestApp::new();
    let bot = app.seed_bot("Ada");
    let discord = app
        .admin(put(
            bot.id,
            "discord",
            json!({"application_id": "1", "public_key": "ab", "bot_token": "t"}),
        ))
        .await;
    assert_problem(&discord, 422, "unsupported_platform");
    let unknown = app.admin(put(bot.id, "myspace", telegram_body())).await;
    assert_problem(&unknown, 404, "not_found");
}

#[actix_web::test]
async fn binding_an_unknown_bot_is_404() {
    let app = TestApp::new();
    let reply = app
        .admin(put(domain::BotId::new(), "telegram", telegram_body()))
        .await;
    assert_problem(&reply, 404, "not_found");
    let list = app
        .admin(TestRequest::get().uri(&format!("/api/v1/bots/{}/platforms", domain::BotId::new())))
        .await;
    assert_problem(&list, 404, "not_found");
}

#[actix_web::test]
async fn a_viewer_may_not_bind() {
    let app = TestApp::new();
    let bot = app.seed_bot("Ada");
    let reply = app
        .as_key(VIEWER_KEY, put(bot.id, "telegram", telegram_body()))
        .await;
    assert_problem(&reply, 403, "forbidden");
}

#[actix_web::test]
async fn a_refused_webhook_registration_is_502_without_the_platform_message() {
    let app = TestApp::with(Options {
        public_url: Some("https://bots.example.com".into()),
        refuse_webhook: true,
        ..Default::default()
    });
    let bot = app.seed_bot("Ada");
    let reply = app.admin(put(bot.id, "telegram", telegram_body())).await;
    assert_problem(&reply, 502, "platform_error");
    assert!(!reply.raw.contains("token 123"), "{}", reply.raw);
    assert_no_secrets(&reply.raw);
}

#[actix_web::test]
async fn storage_down_while_binding_is_503() {
    let app = TestApp::new();
    let bot = app.seed_bot("Ada");
    app.bindings
        .unavailable
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let reply = app.admin(put(bot.id, "telegram", telegram_body())).await;
    assert_problem(&reply, 503, "service_unavailable");
    assert!(!reply.raw.contains("connection refused"));
}

#[actix_web::test]
async fn unbinding_answers_204_then_404() {
    let app = TestApp::new();
    let bot = app.seed_bound_bot();
    let uri = format!("/api/v1/bots/{}/platforms/telegram", bot.id);
    let first = app.admin(TestRequest::delete().uri(&uri)).await;
    assert_eq!(first.status, 204);
    let second = app.admin(TestRequest::delete().uri(&uri)).await;
    assert_problem(&second, 404, "not_found");
}
