//! A fresh server nobody can sign in to: it logs the console URL with a setup token that makes exactly one admin key.

use crate::binary;
use database::testing::fresh_databases;
use serde_json::{json, Value};
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram};
use switchboard_e2e::process::ServerProcess;
use switchboard_e2e::TestConfig;

/// `POST /setup` with `token`: the status and the answer.
async fn trade(client: &reqwest::Client, base: &str, token: &str) -> (u16, Value) {
    let response = client
        .post(format!("{base}/setup"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_fresh_server_offers_one_admin_key_for_its_logged_setup_token() {
    let db = fresh_databases().await.remove(0);
    let openai = FakeOpenAi::echoing().await;
    let telegram = FakeTelegram::start().await;
    let config = TestConfig::new(db.url(), &openai, &telegram)
        .without("SWITCHBOARD__SECURITY__BOOTSTRAP_API_KEY");
    let server = ServerProcess::spawn(binary(), &config.env());
    let base = format!("http://{}", server.addr);
    let url = server
        .console_url
        .clone()
        .expect("the console URL is logged");
    let (page, token) = url.split_once("#setup=").expect("a setup fragment");
    assert_eq!(page, format!("{base}/admin"));

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let home = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(home.status(), 307);
    assert_eq!(home.headers()["location"], "/admin");

    let (status, refused) = trade(&client, &base, "not-the-token").await;
    assert_eq!((status, &refused["code"]), (403, &json!("setup_refused")));
    let (status, issued) = trade(&client, &base, token).await;
    assert_eq!(status, 201, "{issued}");
    assert_eq!(issued["role"], "admin");
    let key = issued["key"].as_str().unwrap();
    let bots = client
        .get(format!("{base}/api/v1/bots"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(bots.status(), 200, "the new key signs in");
    let (status, again) = trade(&client, &base, token).await;
    assert_eq!(
        (status, &again["code"]),
        (403, &json!("setup_refused")),
        "once only"
    );
    server.terminate();

    let restarted = ServerProcess::spawn(binary(), &config.env());
    assert_eq!(restarted.console_url, None, "an admin key exists: no token");
}
