//! Providers end to end: two bots on two providers each ask their own base URL with their own
//! key and are priced by it, the default is not asked, keys are never shown or stored in the
//! clear, and the refusals.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{updates, TelegramWorld, TestApp};

/// `openssl rand -base64 32`, once.
const MASTER_KEY: &str = "Jm8wq3yV0pT5c2QeX7nR1sK4dH6gL9bZ0aF3uE8iW2o=";

async fn create_provider(app: &TestApp, name: &str, fake: &FakeOpenAi, key: &str) -> Value {
    let body = json!({"name": name, "kind": "openai_compatible", "base_url": fake.url(),
        "api_key": key, "models": [format!("model-{name}")],
        "prices": {"currency": "EUR", "models": {format!("model-{name}"): {"input": 0.5, "output": 1.5}}}});
    let (status, provider) = app
        .admin(Method::POST, "/api/v1/providers", Some(body))
        .await;
    assert_eq!(status, 201, "{provider}");
    provider
}

async fn use_provider(app: &TestApp, bot: &str, provider: &Value) -> (u16, Value) {
    let path = format!("/api/v1/bots/{bot}");
    let body = json!({"provider_id": provider["id"]});
    app.admin(Method::PATCH, &path, Some(body)).await
}

/// The `Authorization` headers and models `fake` was asked with.
async fn asked(fake: &FakeOpenAi) -> Vec<(String, String)> {
    let requests = fake.server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .map(|request| {
            let key = request
                .headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            (
                key.unwrap_or_default(),
                body["model"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn two_bots_on_two_providers_each_ask_their_own_with_their_own_key() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start_with(
            db.url(),
            FakeOpenAi::answering("from the default").await,
            |config| config.with("SWITCHBOARD__SECURITY__MASTER_KEY", MASTER_KEY),
            None,
        )
        .await;
        let app = &world.app;
        let (fake_a, fake_b) = (
            FakeOpenAi::answering("from A").await,
            FakeOpenAi::answering("from B").await,
        );
        let a = create_provider(app, "A", &fake_a, "key-of-a").await;
        let b = create_provider(app, "B", &fake_b, "key-of-b").await;
        let second_bot = app.telegram_bot(None).await;
        assert_eq!(use_provider(app, &world.bot, &a).await.0, 200);
        let (status, bot_b) = use_provider(app, &second_bot, &b).await;
        assert_eq!((status, &bot_b["provider_id"]), (200, &b["id"]));

        world.deliver(&updates::text(1, 111, 1, "hello A")).await;
        app.deliver(&second_bot, &updates::text(2, 222, 1, "hello B"))
            .await;
        let sent = world.telegram.wait_for_sent(2, PATIENCE).await;
        let mut replies: Vec<(String, String)> = sent
            .iter()
            .map(|s| (s.chat_id.to_string(), s.text.clone()))
            .collect();
        replies.sort();
        assert_eq!(
            replies,
            [
                ("111".into(), "from A".into()),
                ("222".into(), "from B".into())
            ]
        );
        assert_eq!(
            asked(&fake_a).await,
            [("Bearer key-of-a".into(), "model-A".into())]
        );
        assert_eq!(
            asked(&fake_b).await,
            [("Bearer key-of-b".into(), "model-B".into())]
        );
        assert!(
            world.openai.requests().await.is_empty(),
            "the default was asked"
        );

        // Each reply is priced by its provider: 1 prompt and 1 completion token at 0.5 and
        // 1.5 EUR per million.
        let costs = json!({"EUR": 0.000002});
        let path = format!("/api/v1/conversations?bot_id={}", world.bot);
        let (_, conversations) = app.admin(Method::GET, &path, None).await;
        let path = format!(
            "/api/v1/conversations/{}",
            conversations["items"][0]["id"].as_str().unwrap()
        );
        let (_, conversation) = app.admin(Method::GET, &path, None).await;
        assert_eq!(conversation["usage"]["costs"], costs, "{conversation}");
        let path = format!("/api/v1/bots/{}/usage", world.bot);
        let (_, series) = app.admin(Method::GET, &path, None).await;
        assert_eq!(series["periods"][0]["usage"]["costs"], costs, "{series}");

        // Keys are never shown, and stored sealed.
        for path in [
            "/api/v1/providers".to_owned(),
            format!("/api/v1/providers/{}", a["id"].as_str().unwrap()),
        ] {
            let text = app
                .admin_request(Method::GET, &path)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(
                !text.contains("key-of-a") && !text.contains("api_key"),
                "{text}"
            );
        }
        let dump = db.connect().await;
        let rows = dump
            .query_all(Statement::from_string(
                dump.get_database_backend(),
                "SELECT api_key FROM providers",
            ))
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        for row in rows {
            let stored: String = row.try_get("", "api_key").unwrap();
            assert!(!stored.contains("key-of"), "stored in the clear: {stored}");
        }

        // A provider a bot uses cannot go; once no bot names it, it can.
        let path_a = format!("/api/v1/providers/{}", a["id"].as_str().unwrap());
        let (status, problem) = app.admin(Method::DELETE, &path_a, None).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (409, Some("provider_in_use"))
        );
        let unpoint = json!({"provider_id": null});
        let (status, _) = app
            .admin(
                Method::PATCH,
                &format!("/api/v1/bots/{}", world.bot),
                Some(unpoint),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(app.admin(Method::DELETE, &path_a, None).await.0, 204);
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_providers_and_unknown_provider_ids_are_refused_naming_the_field() {
    let db = database::testing::fresh_sqlite();
    let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("unused").await).await;
    let app = &world.app;
    let good = json!({"name": "P", "kind": "openai", "base_url": "https://api.example.com/v1", "api_key": "k"});
    for (key, value, field) in [
        ("base_url", json!("ftp://example.com"), "base_url"),
        ("base_url", json!("https://user:pw@example.com"), "base_url"),
        ("kind", json!("anthropic"), "kind"),
        (
            "prices",
            json!({"currency": "USD", "models": {"m": {"input": -1, "output": 1}}}),
            "prices.models",
        ),
        (
            "prices",
            json!({"currency": "dollars", "models": {}}),
            "prices.currency",
        ),
    ] {
        let mut body = good.clone();
        body[key] = value;
        let (status, problem) = app
            .admin(Method::POST, "/api/v1/providers", Some(body))
            .await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (422, Some(field)),
            "{problem}"
        );
    }
    let unknown = json!({"provider_id": uuid::Uuid::now_v7().to_string()});
    let path = format!("/api/v1/bots/{}", world.bot);
    let (status, problem) = app.admin(Method::PATCH, &path, Some(unknown)).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("provider_id")),
        "{problem}"
    );
    let missing = format!("/api/v1/providers/{}", uuid::Uuid::now_v7());
    assert_eq!(app.admin(Method::GET, &missing, None).await.0, 404);
    assert_eq!(app.admin(Method::DELETE, &missing, None).await.0, 404);
    world.app.stop().await;
}
