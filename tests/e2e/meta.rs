//! WhatsApp end to end: the handshake, a signed message answered once through a fake Graph API.

use crate::{on_each_database, PATIENCE};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram, SETTLE};
use switchboard_e2e::{wait_until, TestApp, TestConfig};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PHONE_NUMBER_ID: &str = "106540352242922";
const ACCESS_TOKEN: &str = "EAAG-test-access-token";
const APP_SECRET: &str = "wa-app-secret";
const VERIFY_TOKEN: &str = "wa-verify-token";

/// A Graph API fake that accepts WhatsApp sends from our number with our token.
async fn fake_graph() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{PHONE_NUMBER_ID}/messages")))
        .and(header(
            "authorization",
            format!("Bearer {ACCESS_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "16315551234", "wa_id": "16315551234"}],
            "messages": [{"id": "wamid.reply"}]
        })))
        .mount(&server)
        .await;
    server
}

async fn whatsapp_bot(app: &TestApp) -> String {
    let bot_id = app.create_bot("WhatsApp bot", None).await;
    let body = json!({"phone_number_id": PHONE_NUMBER_ID, "access_token": ACCESS_TOKEN,
                      "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN});
    let path = format!("/api/v1/bots/{bot_id}/platforms/whatsapp");
    let (status, binding) = app.admin(Method::PUT, &path, Some(body)).await;
    assert_eq!(status, 200, "bind whatsapp: {binding}");
    bot_id
}

/// A text message as the Cloud API notifies it (Meta's documented sample).
fn notification(text: &str) -> Vec<u8> {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16315551234"}],
            "messages": [{"from": "16315551234", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                          "timestamp": "1726162852", "text": {"body": text}, "type": "text"}]
        },
        "field": "messages"
    }]}]})
    .to_string()
    .into_bytes()
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn post(app: &TestApp, bot_id: &str, body: &[u8], secret: &str) -> u16 {
    app.client
        .post(app.url(&format!("/webhooks/whatsapp/{bot_id}")))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature(secret, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn sends(graph: &MockServer) -> Vec<Value> {
    graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect()
}

#[tokio::test]
async fn a_signed_whatsapp_message_is_answered_once_through_the_graph_api() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::answering("Hello from the model").await;
        let telegram = FakeTelegram::start().await;
        let graph = fake_graph().await;
        let config = TestConfig::new(db.url(), &openai, &telegram).with(
            "SWITCHBOARD__META__GRAPH_URL",
            format!("{}/v21.0", graph.uri()),
        );
        let app = TestApp::spawn(&config).await;
        let bot = whatsapp_bot(&app).await;

        let handshake = app
            .client
            .get(app.url(&format!("/webhooks/whatsapp/{bot}")))
            .query(&[
                ("hub.mode", "subscribe"),
                ("hub.verify_token", VERIFY_TOKEN),
                ("hub.challenge", "1158201444"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(handshake.status().as_u16(), 200);
        assert_eq!(handshake.text().await.unwrap(), "1158201444");

        let body = notification("hi there");
        assert_eq!(post(&app, &bot, &body, "forged-secret").await, 401);
        assert!(
            app.messages_of(&bot).await.is_empty(),
            "a forged webhook stored nothing"
        );
        assert_eq!(post(&app, &bot, &body, APP_SECRET).await, 200);
        assert_eq!(
            post(&app, &bot, &body, APP_SECRET).await,
            200,
            "a redelivery is acknowledged"
        );

        wait_until(|| async { !sends(&graph).await.is_empty() }).await;
        tokio::time::sleep(SETTLE).await;
        let sent = sends(&graph).await;
        assert_eq!(sent.len(), 1, "exactly one reply: {sent:?}");
        assert_eq!(
            sent[0],
            json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                   "to": "16315551234", "type": "text",
                   "text": {"body": "Hello from the model", "preview_url": false}})
        );
        let stored = app.wait_for_status(&bot, "sent", 1, PATIENCE).await;
        assert_eq!(stored.len(), 2, "the message and its one reply: {stored:?}");
        assert_eq!(openai.requests().await.len(), 1);
        app.stop().await;
    })
    .await;
}
