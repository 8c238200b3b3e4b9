//! `/api/v1/bots/{id}/platforms`: binding each platform with its credentials, never echoing the secrets.

use crate::support::{
    assert_invalid_field, assert_problem, Options, Reply, TestApp, TELEGRAM_SECRET, TELEGRAM_TOKEN,
    VIEWER_KEY,
};
use actix_web::test::TestRequest;
use presentation::{HttpSettings, TrustedProxies};
use serde_json::{json, Value};

const DISCORD_APP: &str = "1234567890123456789";
const DISCORD_KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const DISCORD_TOKEN: &str = "MTIz.discord-bot-token.zZ9";
const MESSENGER_TOKEN: &str = "EAAMessengerPageAccessToken42";
const MESSENGER_APP_SECRET: &str = "3e55e9ae7a990000000000000000f2e1";
const MESSENGER_VERIFY: &str = "messenger-verify-token-77";
const WHATSAPP_TOKEN: &str = "EAAWhatsappCloudAccessToken99";
const WHATSAPP_APP_SECRET: &str = "3e55e9ae7a990000000000000000c4d3";
const WHATSAPP_VERIFY: &str = "whatsapp-verify-token-88";

/// Every secret submitted by these tests: no answer may carry one.
const SECRETS: [&str; 9] = [
    TELEGRAM_TOKEN,
    TELEGRAM_SECRET,
    DISCORD_TOKEN,
    MESSENGER_TOKEN,
    MESSENGER_APP_SECRET,
    MESSENGER_VERIFY,
    WHATSAPP_TOKEN,
    WHATSAPP_APP_SECRET,
    WHATSAPP_VERIFY,
];

fn put(bot_id: impl std::fmt::Display, platform: &str, body: Value) -> TestRequest {
    TestRequest::put()
        .uri(&format!("/api/v1/bots/{bot_id}/platforms/{platform}"))
        .set_json(body)
}

fn list(bot_id: impl std::fmt::Display) -> TestRequest {
    TestRequest::get().uri(&format!("/api/v1/bots/{bot_id}/platforms"))
}

fn telegram_body() -> Value {
    json!({"token": TELEGRAM_TOKEN, "secret_token": TELEGRAM_SECRET})
}

/// Each platform with a valid credentials body.
fn platform_bodies() -> [(&'static str, Value); 4] {
    [
        ("telegram", telegram_body()),
        (
            "discord",
            json!({
                "application_id": DISCORD_APP,
                "public_key": DISCORD_KEY,
                "bot_token": DISCORD_TOKEN,
            }),
        ),
        (
            "messenger",
            json!({
                "page_id": "104233455667788",
                "page_access_token": MESSENGER_TOKEN,
                "app_secret": MESSENGER_APP_SECRET,
                "verify_token": MESSENGER_VERIFY,
            }),
        ),
        (
            "whatsapp",
            json!({
                "phone_number_id": "109876543210987",
                "access_token": WHATSAPP_TOKEN,
                "app_secret": WHATSAPP_APP_SECRET,
                "verify_token": WHATSAPP_VERIFY,
            }),
        ),
    ]
}

fn assert_no_secrets(reply: &Reply) {
    for secret in SECRETS.iter().chain(&["very-secret", "has spaces"]) {
        assert!(!reply.raw.contains(secret), "{secret} in {}", reply.raw);
    }
}

/// `body` with `field` set to `value`, or removed when `value` is `None`.
fn with(body: &Value, field: &str, value: Option<&str>) -> Value {
    let mut body = body.clone();
    match value {
        Some(value) => body[field] = json!(value),
        None => drop(body.as_object_mut().unwrap().remove(field)),
    }
    body
}

/// A request from `peer` that says it was forwarded for `https://bots.example.com` (or `scheme`).
fn forwarded(request: TestRequest, peer: &str, scheme: &str) -> TestRequest {
    request
        .peer_addr(peer.parse().unwrap())
        .insert_header(("host", "10.1.2.3:8080"))
        .insert_header(("x-forwarded-proto", scheme))
        .insert_header(("x-forwarded-host", "bots.example.com"))
}

async fn behind_proxies() -> TestApp {
    TestApp::with(Options {
        settings: HttpSettings {
            trusted_proxies: TrustedProxies(vec!["10.0.0.0/8".parse().unwrap()]),
            ..HttpSettings::default()
        },
        ..Options::default()
    })
    .await
}

#[actix_web::test]
async fn the_webhook_url_follows_forwarded_headers_from_a_trusted_proxy() {
    let app = behind_proxies().await;
    let bot = app.seed_bot("Ada").await;
    let expected = format!("https://bots.example.com/webhooks/telegram/{}", bot.id);
    let put = forwarded(
        put(bot.id, "telegram", telegram_body()),
        "10.0.0.2:4000",
        "https",
    );
    assert_eq!(app.admin(put).await.body["webhook_url"], expected);
    let listed = app
        .admin(forwarded(list(bot.id), "10.0.0.2:4000", "https"))
        .await;
    assert_eq!(listed.body["items"][0]["webhook_url"], expected);
}

#[actix_web::test]
async fn forwarded_headers_from_anyone_else_are_ignored() {
    let app = behind_proxies().await;
    let bot = app.seed_bot("Ada").await;
    let put = forwarded(
        put(bot.id, "telegram", telegram_body()),
        "203.0.113.9:4000",
        "https",
    );
    let expected = format!("http://10.1.2.3:8080/webhooks/telegram/{}", bot.id);
    assert_eq!(app.admin(put).await.body["webhook_url"], expected);
}

#[actix_web::test]
async fn a_url_is_built_only_on_http_or_https_and_a_host_name() {
    let app = behind_proxies().await;
    let bot = app.seed_bot("Ada").await;
    let put_as = |peer: &str, scheme: &str| {
        forwarded(put(bot.id, "telegram", telegram_body()), peer, scheme)
    };
    let reply = app.admin(put_as("10.0.0.2:4000", "javascript")).await;
    assert_problem(&reply, 400, "invalid_header");
    let reply = app
        .admin(
            list(bot.id)
                .peer_addr("203.0.113.9:4000".parse().unwrap())
                .insert_header(("host", "evil.example/x?")),
        )
        .await;
    assert_problem(&reply, 400, "invalid_header");
}

#[actix_web::test]
async fn the_web_chat_binds_with_its_page_url_and_unknown_platforms_are_404() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    let web_chat = app.admin(put(bot.id, "web_chat", json!({}))).await;
    assert_eq!(web_chat.status, 200, "{}", web_chat.raw);
    assert_eq!(web_chat.body["platform"], "web_chat");
    assert_eq!(
        web_chat.body["webhook_url"],
        format!("http://localhost:8080/chat/{}", bot.id)
    );
    let origins = json!({"allowed_origins": ["https://shop.example"]});
    let with_origins = app.admin(put(bot.id, "web_chat", origins)).await;
    assert_eq!(with_origins.status, 200, "{}", with_origins.raw);
    let bad_origin = json!({"allowed_origins": ["https://shop.example/path"]});
    let refused = app.admin(put(bot.id, "web_chat", bad_origin)).await;
    assert_invalid_field(&refused, "allowed_origins");
    let unknown_field = app
        .admin(put(bot.id, "web_chat", json!({"token": "x"})))
        .await;
    assert_problem(&unknown_field, 400, "malformed_json");
    let unknown = app.admin(put(bot.id, "myspace", telegram_body())).await;
    assert_problem(&unknown, 404, "not_found");
}

#[actix_web::test]
async fn every_platform_binds_and_answers_its_webhook_url_without_secrets() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    for (platform, body) in platform_bodies() {
        let reply = app.admin(put(bot.id, platform, body)).await;
        assert_eq!(reply.status, 200, "{platform}: {}", reply.raw);
        assert_no_secrets(&reply);
        assert_eq!(reply.body["platform"], platform);
        assert_eq!(reply.body["bot_id"], bot.id.to_string());
        assert_eq!(
            reply.body["webhook_url"],
            format!("http://localhost:8080/webhooks/{platform}/{}", bot.id)
        );
        assert_eq!(reply.body["webhook_registered"], false);
        // Telegram's answer also names its mode, Discord's its gateway flag.
        let fields = 6 + usize::from(platform == "telegram" || platform == "discord");
        assert_eq!(
            reply.body.as_object().unwrap().len(),
            fields,
            "{}",
            reply.raw
        );
    }

    let listed = app.as_key(VIEWER_KEY, list(bot.id)).await;
    assert_eq!(listed.status, 200);
    assert_no_secrets(&listed);
    let items = listed.body["items"].as_array().unwrap();
    let mut platforms: Vec<&str> = items
        .iter()
        .map(|item| item["platform"].as_str().unwrap())
        .collect();
    platforms.sort_unstable();
    assert_eq!(platforms, ["discord", "messenger", "telegram", "whatsapp"]);
    for item in items {
        let url = format!(
            "http://localhost:8080/webhooks/{}/{}",
            item["platform"].as_str().unwrap(),
            bot.id
        );
        assert_eq!(item["webhook_url"], url, "{item}");
        assert!(item.get("webhook_registered").is_none(), "{item}");
    }
}

#[actix_web::test]
async fn with_a_public_url_only_platforms_with_a_channel_are_registered() {
    let app = TestApp::with(Options {
        public_url: Some("https://bots.example.com/".into()),
        ..Default::default()
    })
    .await;
    let bot = app.seed_bot("Ada").await;
    for (platform, body) in platform_bodies() {
        let reply = app.admin(put(bot.id, platform, body)).await;
        assert_eq!(reply.status, 200, "{platform}: {}", reply.raw);
        assert_eq!(
            reply.body["webhook_url"],
            format!("https://bots.example.com/webhooks/{platform}/{}", bot.id)
        );
        // The test application has a Telegram channel only.
        assert_eq!(reply.body["webhook_registered"], platform == "telegram");
    }
    let listed = app
        .admin(list(bot.id).insert_header(("x-forwarded-host", "ignored.example.com")))
        .await;
    for item in listed.body["items"].as_array().unwrap() {
        let url = item["webhook_url"].as_str().unwrap();
        assert!(
            url.starts_with("https://bots.example.com/webhooks/"),
            "{url}"
        );
    }
}

#[actix_web::test]
async fn unknown_fields_are_400_on_every_platform() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    for (platform, body) in platform_bodies() {
        let body = with(&body, "colour", Some("blue"));
        let reply = app.admin(put(bot.id, platform, body)).await;
        assert_problem(&reply, 400, "malformed_json");
        assert!(
            reply.body["detail"].as_str().unwrap().contains("colour"),
            "{}",
            reply.raw
        );
        assert_no_secrets(&reply);
    }
    assert!(app.admin(list(bot.id)).await.body["items"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[actix_web::test]
async fn each_missing_field_is_422_naming_it() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    for (platform, body) in platform_bodies() {
        for field in body.as_object().unwrap().keys() {
            let reply = app
                .admin(put(bot.id, platform, with(&body, field, None)))
                .await;
            assert_invalid_field(&reply, field);
            assert_no_secrets(&reply);
        }
    }
}

#[actix_web::test]
async fn each_malformed_field_is_422_naming_it() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    let cases = [
        ("telegram", "token", "nope"),
        ("telegram", "token", ":abc"),
        ("telegram", "token", "123:abc"),
        ("telegram", "token", &format!("{TELEGRAM_TOKEN}/../getMe")),
        ("telegram", "token", &format!("{TELEGRAM_TOKEN}?a=b#c")),
        ("telegram", "token", &format!("{TELEGRAM_TOKEN}\0")),
        ("telegram", "secret_token", "nul\0"),
        ("telegram", "secret_token", "has spaces"),
        ("telegram", "mode", "push"),
        ("discord", "application_id", "12ab"),
        ("discord", "application_id", "123456789012345678901"),
        ("discord", "public_key", "not-a-key"),
        ("discord", "public_key", &"g".repeat(64)),
        ("discord", "bot_token", "has spaces"),
        ("discord", "bot_token", ""),
        ("discord", "bot_token", "one-part-only"),
        ("discord", "bot_token", "a.b.c\r\nX-Evil: 1"),
        ("messenger", "page_id", "my-page"),
        ("messenger", "page_access_token", "has spaces"),
        ("messenger", "app_secret", ""),
        ("messenger", "app_secret", "messenger-app-secret"),
        ("messenger", "page_access_token", "EAAB\0"),
        ("messenger", "verify_token", "nul\0"),
        ("messenger", "verify_token", "has spaces"),
        ("whatsapp", "phone_number_id", "+1 555 0100"),
        ("whatsapp", "access_token", "has spaces"),
        ("whatsapp", "app_secret", &"x".repeat(5000)),
        ("whatsapp", "verify_token", ""),
    ];
    let bodies = platform_bodies();
    for (platform, field, value) in cases {
        let (_, body) = bodies.iter().find(|(name, _)| *name == platform).unwrap();
        let reply = app
            .admin(put(bot.id, platform, with(body, field, Some(value))))
            .await;
        assert_invalid_field(&reply, field);
        assert_no_secrets(&reply);
    }
}

#[actix_web::test]
async fn discord_gateway_mode_is_off_unless_asked_and_shown_on_put_and_list() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    let discord = platform_bodies()[1].1.clone();
    let reply = app.admin(put(bot.id, "discord", discord.clone())).await;
    assert_eq!(reply.body["gateway"], false, "{}", reply.raw);

    let mut gateway = discord.clone();
    gateway["gateway"] = json!(true);
    let reply = app.admin(put(bot.id, "discord", gateway)).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(reply.body["gateway"], true);
    assert_no_secrets(&reply);
    let listed = app.admin(list(bot.id)).await;
    assert_eq!(listed.body["items"][0]["gateway"], true, "{}", listed.raw);

    let telegram = app.admin(put(bot.id, "telegram", telegram_body())).await;
    assert!(telegram.body.get("gateway").is_none(), "{}", telegram.raw);
    let mut not_a_flag = discord;
    not_a_flag["gateway"] = json!("yes");
    let reply = app.admin(put(bot.id, "discord", not_a_flag)).await;
    assert_problem(&reply, 400, "malformed_json");
}

#[actix_web::test]
async fn a_body_of_the_wrong_shape_is_400() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    let mut wrong_type = platform_bodies()[1].1.clone();
    wrong_type["application_id"] = json!(1234);
    let reply = app.admin(put(bot.id, "discord", wrong_type)).await;
    assert_problem(&reply, 400, "malformed_json");
    assert_no_secrets(&reply);
    let not_an_object = app.admin(put(bot.id, "telegram", json!([1, 2]))).await;
    assert_problem(&not_an_object, 400, "malformed_json");
}

#[actix_web::test]
async fn binding_an_unknown_bot_is_404() {
    let app = TestApp::new().await;
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
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
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
    })
    .await;
    let bot = app.seed_bot("Ada").await;
    let reply = app.admin(put(bot.id, "telegram", telegram_body())).await;
    assert_problem(&reply, 502, "platform_error");
    assert!(!reply.raw.contains("token 123"), "{}", reply.raw);
    assert_no_secrets(&reply);
}

#[actix_web::test]
async fn storage_down_while_binding_is_503() {
    let app = TestApp::new().await;
    let bot = app.seed_bot("Ada").await;
    app.bindings.unavailable.set(true);
    let reply = app.admin(put(bot.id, "telegram", telegram_body())).await;
    assert_problem(&reply, 503, "service_unavailable");
    assert!(!reply.raw.contains("connection refused"));
}

#[actix_web::test]
async fn unbinding_answers_204_then_404() {
    let app = TestApp::new().await;
    let bot = app.seed_bound_bot().await;
    let uri = format!("/api/v1/bots/{}/platforms/telegram", bot.id);
    let first = app.admin(TestRequest::delete().uri(&uri)).await;
    assert_eq!(first.status, 204);
    let second = app.admin(TestRequest::delete().uri(&uri)).await;
    assert_problem(&second, 404, "not_found");
}

#[actix_web::test]
async fn a_telegram_binding_may_poll_and_says_so_without_registering_a_webhook() {
    let app = TestApp::with(Options {
        public_url: Some("https://bots.example.com".into()),
        ..Default::default()
    })
    .await;
    let bot = app.seed_bot("Ada").await;
    let polling = with(&telegram_body(), "mode", Some("polling"));
    let reply = app.admin(put(bot.id, "telegram", polling)).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(reply.body["mode"], "polling");
    assert_eq!(reply.body["webhook_registered"], false);
    assert_no_secrets(&reply);
    let listed = app.admin(list(bot.id)).await;
    assert_eq!(listed.body["items"][0]["mode"], "polling");

    let reply = app.admin(put(bot.id, "telegram", telegram_body())).await;
    assert_eq!(reply.body["mode"], "webhook", "the default");
    assert_eq!(reply.body["webhook_registered"], true);
    let discord = &platform_bodies()[1];
    let reply = app.admin(put(bot.id, discord.0, discord.1.clone())).await;
    assert!(reply.body.get("mode").is_none(), "{}", reply.raw);
}

#[actix_web::test]
async fn a_polling_binding_whose_webhook_cannot_be_removed_is_502_and_not_stored() {
    let app = TestApp::with(Options {
        refuse_webhook: true,
        ..Default::default()
    })
    .await;
    let bot = app.seed_bot("Ada").await;
    let polling = with(&telegram_body(), "mode", Some("polling"));
    let reply = app.admin(put(bot.id, "telegram", polling)).await;
    assert_problem(&reply, 502, "platform_error");
    assert_no_secrets(&reply);
    assert!(app.admin(list(bot.id)).await.body["items"]
        .as_array()
        .unwrap()
        .is_empty());
}
