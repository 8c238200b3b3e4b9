//! A provider's key stays out of the process's log, even at debug level and even when the provider quotes it back in an error.

use crate::binary;
use database::testing::fresh_databases;
use serde_json::json;
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram};
use switchboard_e2e::{updates, TestApp, TestConfig, PATIENCE};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-provider-never-logged-7c2e";

#[tokio::test]
async fn a_providers_key_is_never_logged() {
    let db = fresh_databases().await.remove(0);
    let (default, telegram) = (FakeOpenAi::echoing().await, FakeTelegram::start().await);
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"message": format!("Incorrect API key provided: {KEY}"), "type": "auth"}
        })))
        .mount(&provider)
        .await;
    let config =
        TestConfig::new(db.url(), &default, &telegram).with("SWITCHBOARD__LOG__LEVEL", "debug");
    let app = TestApp::spawn_process(binary(), &config);
    let bot = app.telegram_bot(Some("no answer")).await;
    let body = json!({"name": "quoting", "kind": "openai_compatible", "base_url": provider.uri(),
        "api_key": KEY});
    let (status, created) = app
        .admin(reqwest::Method::POST, "/api/v1/providers", Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    let use_it = json!({"provider_id": created["id"]});
    let path = format!("/api/v1/bots/{bot}");
    let (status, _) = app.admin(reqwest::Method::PATCH, &path, Some(use_it)).await;
    assert_eq!(status, 200);

    app.deliver(&bot, &updates::text(1, 7, 1, "hello")).await;
    let sent = telegram.wait_for_sent(1, PATIENCE).await;
    assert_eq!(
        sent[0].text, "no answer",
        "the provider refused, the fallback went"
    );
    let log = app.log();
    assert!(
        log.iter()
            .any(|line| line.contains("Incorrect API key provided")),
        "the provider's refusal was logged"
    );
    let leaked: Vec<&String> = log.iter().filter(|line| line.contains(KEY)).collect();
    assert!(leaked.is_empty(), "the key was logged: {leaked:?}");
    assert!(app.stop().await);
}
