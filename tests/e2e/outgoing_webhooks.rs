//! Outgoing webhooks end to end: a receiver on loopback gets a conversation's events signed and in order, a failing receiver the same event id again, deliveries listed and retried; redirects are not followed, loopback targets refused by default, and a receiver that keeps failing is disabled.

use crate::{on_each_database, PATIENCE};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{poll_until, updates, TelegramWorld, TestConfig};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ALLOW_PRIVATE: &str = "SWITCHBOARD__WEBHOOKS__ALLOW_PRIVATE_TARGETS";

fn allowing_private(config: TestConfig) -> TestConfig {
    config.with(ALLOW_PRIVATE, "true")
}

/// Checks a post as the Standard Webhooks specification tells a receiver to: the key is the
/// base64 after `whsec_`; the signed content `{webhook-id}.{webhook-timestamp}.{body}`; one of
/// the space-separated `v1,` signatures must be its HMAC-SHA256.
fn verify(secret: &str, request: &Request) -> bool {
    let header = |name: &str| {
        let value = request.headers.get(name).map(|v| v.to_str().unwrap());
        value.unwrap_or_default().to_owned()
    };
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let body = String::from_utf8(request.body.clone()).unwrap();
    let content = format!(
        "{}.{}.{}",
        header("webhook-id"),
        header("webhook-timestamp"),
        body
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(content.as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    let signatures = header("webhook-signature");
    signatures
        .split(' ')
        .any(|signature| signature.strip_prefix("v1,") == Some(expected.as_str()))
}

/// Subscribes `url` to every event of the world's bot; the webhook as created (secret shown).
async fn subscribe(world: &TelegramWorld, url: &str) -> Value {
    let body = json!({"url": url, "events": ["*"], "bot_ids": [world.bot]});
    let (status, webhook) = (world.app)
        .admin(Method::POST, "/api/v1/webhooks", Some(body))
        .await;
    assert_eq!(status, 201, "{webhook}");
    webhook
}

/// The posts the receiver got, as `(webhook-id, body)`.
async fn posts(receiver: &MockServer) -> Vec<(String, Value)> {
    let requests = receiver.received_requests().await.unwrap_or_default();
    (requests.iter())
        .filter(|request| request.url.path() == "/hooks")
        .map(|request| {
            let id = request.headers.get("webhook-id").unwrap().to_str().unwrap();
            (
                id.to_owned(),
                serde_json::from_slice(&request.body).unwrap(),
            )
        })
        .collect()
}

async fn deliveries(world: &TelegramWorld, webhook: &Value) -> Vec<Value> {
    let path = format!(
        "/api/v1/webhooks/{}/deliveries",
        webhook["id"].as_str().unwrap()
    );
    let (status, page) = world.app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_receiver_gets_a_conversations_events_signed_in_order_and_a_failed_one_again_under_its_id(
) {
    on_each_database(|db| async move {
        let world = TelegramWorld::start_with(
            db.url(),
            FakeOpenAi::answering("Hi there").await,
            allowing_private,
            None,
        )
        .await;
        let receiver = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hooks"))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&receiver)
            .await;
        Mock::given(method("POST"))
            .and(path("/hooks"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&receiver)
            .await;
        let webhook = subscribe(&world, &format!("{}/hooks", receiver.uri())).await;
        let secret = webhook["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"), "{webhook}");

        world.deliver(&updates::text(1, 77, 1, "hello")).await;
        let want = [
            "conversation.started",
            "conversation.started",
            "conversation.started",
            "message.received",
            "reply.started",
            "message.sent",
        ];
        let got = poll_until(PATIENCE, "six posts", || async {
            let got = posts(&receiver).await;
            (got.len() >= want.len()).then_some(got)
        })
        .await;
        let types: Vec<&str> = got
            .iter()
            .map(|(_, b)| b["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, want, "in order, the first one three times");
        let (first_id, first) = &got[0];
        assert!(got[..3]
            .iter()
            .all(|(id, body)| id == first_id && body == first));
        assert_eq!(first["id"], json!(first_id));
        let requests = receiver.received_requests().await.unwrap();
        assert!(requests.iter().all(|request| verify(&secret, request)));
        let received = &got[3].1["data"];
        assert_eq!(
            (
                &received["text"],
                &received["direction"],
                &received["platform"]
            ),
            (&json!("hello"), &json!("inbound"), &json!("telegram"))
        );
        assert_eq!(got[5].1["data"]["text"], "Hi there");
        assert_eq!(received["bot_id"], json!(world.bot));

        let listed = deliveries(&world, &webhook).await;
        let started = listed
            .iter()
            .find(|d| d["event_type"] == "conversation.started")
            .unwrap();
        let statuses: Vec<&Value> = (started["attempts"].as_array().unwrap().iter())
            .map(|attempt| &attempt["status"])
            .collect();
        assert_eq!(statuses, [&json!(500), &json!(500), &json!(200)]);
        assert_eq!(started["state"], "delivered");

        // Sent again on request, under the same id.
        let retry = format!(
            "/api/v1/webhooks/{}/deliveries/{}/retry",
            webhook["id"].as_str().unwrap(),
            started["id"].as_str().unwrap()
        );
        let (status, again) = world.app.admin(Method::POST, &retry, None).await;
        assert_eq!(
            (status, &again["state"]),
            (200, &json!("pending")),
            "{again}"
        );
        let resent = poll_until(PATIENCE, "the retried post", || async {
            let got = posts(&receiver).await;
            (got.len() > want.len()).then(|| got[want.len()].clone())
        })
        .await;
        assert_eq!(&resent.0, first_id);

        // The secret is shown once: never again.
        let path = format!("/api/v1/webhooks/{}", webhook["id"].as_str().unwrap());
        let (_, shown) = world.app.admin(Method::GET, &path, None).await;
        assert!(shown.get("secret").is_none(), "{shown}");
    })
    .await;
}

#[tokio::test]
async fn a_loopback_target_is_refused_by_default() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("ok").await).await;
        for url in [
            "http://127.0.0.1:9/hooks",
            "http://localhost/hooks",
            "http://[::1]/",
        ] {
            let body = json!({"url": url, "events": ["message.received"]});
            let response = (world.app)
                .admin_request(Method::POST, "/api/v1/webhooks")
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 422, "{url}");
            let kind = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            let problem: Value = response.json().await.unwrap();
            assert_eq!(kind, "application/problem+json");
            assert_eq!(problem["errors"][0]["field"], "url", "{problem}");
            assert!(problem["request_id"].is_string(), "{problem}");
        }
        let (_, page) = world.app.admin(Method::GET, "/api/v1/webhooks", None).await;
        assert_eq!(page["items"], json!([]), "nothing was stored");
    })
    .await;
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_a_receiver_that_keeps_failing_is_disabled() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start_with(
            db.url(),
            FakeOpenAi::answering("ok").await,
            |config| {
                allowing_private(config).with("SWITCHBOARD__WEBHOOKS__DISABLE_AFTER_FAILURES", 3)
            },
            None,
        )
        .await;
        let receiver = MockServer::start().await;
        let elsewhere = format!("{}/elsewhere", receiver.uri());
        Mock::given(path("/hooks"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", elsewhere))
            .mount(&receiver)
            .await;
        Mock::given(path("/elsewhere"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&receiver)
            .await;
        let webhook = subscribe(&world, &format!("{}/hooks", receiver.uri())).await;
        world.deliver(&updates::text(1, 78, 1, "hello")).await;

        let path = format!("/api/v1/webhooks/{}", webhook["id"].as_str().unwrap());
        let disabled = poll_until(PATIENCE, "the webhook disabled", || async {
            let (_, shown) = world.app.admin(Method::GET, &path, None).await;
            (shown["enabled"] == false).then_some(shown)
        })
        .await;
        let reason = disabled["disabled_reason"].as_str().unwrap();
        assert!(reason.contains("failed 3 times in a row"), "{reason}");
        assert!(reason.contains("redirects are not followed"), "{reason}");
        let requests = receiver.received_requests().await.unwrap();
        assert!(
            requests.iter().all(|r| r.url.path() == "/hooks"),
            "no redirect followed"
        );
        assert_eq!(requests.len(), 3);
        // What was queued behind the failing delivery fails unsent.
        let listed = poll_until(PATIENCE, "every delivery failed", || async {
            let listed = deliveries(&world, &webhook).await;
            listed
                .iter()
                .all(|d| d["state"] == "failed")
                .then_some(listed)
        })
        .await;
        let unsent = &listed[0]["attempts"][0];
        assert_eq!(unsent["status"], Value::Null, "{unsent}");
        assert_eq!(receiver.received_requests().await.unwrap().len(), 3);

        let (status, enabled) = (world.app)
            .admin(Method::PATCH, &path, Some(json!({"enabled": true})))
            .await;
        assert_eq!(status, 200, "{enabled}");
        assert_eq!(
            (&enabled["enabled"], &enabled["failures"]),
            (&json!(true), &json!(0))
        );
        assert!(enabled.get("secret").is_none());
    })
    .await;
}
