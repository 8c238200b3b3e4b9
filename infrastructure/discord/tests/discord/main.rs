//! Integration tests of the Discord channel against a wiremock REST API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use application::format::{self, RichText};
use application::ports::{Channel, Recipient, SendError};
use chrono::Utc;
use domain::{
    BotId, Credentials, DiscordCredentials, ExternalChatId, ExternalMessageId, PlatformBinding,
    Secret,
};
use serde_json::{json, Value};
use std::time::Duration;
use switchboard_discord::DiscordChannel;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APPLICATION_ID: &str = "775799577604522054";
const PUBLIC_KEY: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const BOT_TOKEN: &str = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs";
const CHANNEL: &str = "645027906669510667";
const INTERACTION_TOKEN: &str = "aW50ZXJhY3Rpb246ODY2MDU5";

fn binding() -> PlatformBinding {
    let credentials = DiscordCredentials::parse(APPLICATION_ID, PUBLIC_KEY, BOT_TOKEN).unwrap();
    PlatformBinding::new(BotId::new(), Credentials::Discord(credentials), Utc::now())
}

fn recipient(handle: Option<&str>, part: u32) -> Recipient {
    Recipient {
        chat: ExternalChatId::parse(CHANNEL).unwrap(),
        reply_handle: handle.map(Secret::new),
        part,
        draft: None,
    }
}

fn original() -> String {
    format!("/api/v10/webhooks/{APPLICATION_ID}/{INTERACTION_TOKEN}/messages/@original")
}

fn follow_up() -> String {
    format!("/api/v10/webhooks/{APPLICATION_ID}/{INTERACTION_TOKEN}")
}

fn channel_messages() -> String {
    format!("/api/v10/channels/{CHANNEL}/messages")
}

fn content(text: &str) -> Value {
    json!({"content": text, "allowed_mentions": {"parse": []}})
}

fn message(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"id": id, "channel_id": CHANNEL, "content": "x"}))
}

async fn send(
    server: &MockServer,
    to: &Recipient,
    text: &str,
) -> Result<Option<ExternalMessageId>, SendError> {
    let channel = DiscordChannel::new(format!("{}/api/v10", server.uri())).unwrap();
    let mut parts = format::parts(text, channel.markup(), channel.max_text_len());
    assert_eq!(parts.len(), 1);
    channel.send_text(&binding(), to, &parts.remove(0)).await
}

/// A fake answering every request with `response`.
async fn answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn part_zero_edits_the_deferred_response_without_the_bot_token() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(original()))
        .and(body_json(content("@everyone hello")))
        .respond_with(message("1001"))
        .expect(1)
        .mount(&server)
        .await;

    let sent = send(
        &server,
        &recipient(Some(INTERACTION_TOKEN), 0),
        "@everyone hello",
    )
    .await
    .unwrap();
    assert_eq!(sent.unwrap().as_str(), "1001");
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests[0].headers.get("authorization").is_none(),
        "the interaction token authorises the call"
    );
}

#[tokio::test]
async fn later_parts_are_follow_up_messages() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(follow_up()))
        .and(body_json(content("part two")))
        .respond_with(message("1002"))
        .expect(1)
        .mount(&server)
        .await;

    let sent = send(&server, &recipient(Some(INTERACTION_TOKEN), 1), "part two")
        .await
        .unwrap();
    assert_eq!(sent.unwrap().as_str(), "1002");
}

#[tokio::test]
async fn a_channel_whose_announced_bucket_is_empty_waits_for_its_reset() {
    let server = MockServer::start().await;
    let emptied = message("1004")
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-reset-after", "0.6");
    Mock::given(method("POST"))
        .and(path(channel_messages()))
        .respond_with(emptied)
        .mount(&server)
        .await;
    let channel = DiscordChannel::new(format!("{}/api/v10", server.uri())).unwrap();
    let to = recipient(None, 0);
    channel
        .send_text(&binding(), &to, &RichText::plain("one"))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    channel
        .send_text(&binding(), &to, &RichText::plain("two"))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "waited for the reset: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn without_a_handle_the_bot_posts_to_the_channel() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(channel_messages()))
        .and(header("authorization", format!("Bot {BOT_TOKEN}").as_str()))
        .and(body_json(content("from **the** `operator`")))
        .respond_with(message("1003"))
        .expect(1)
        .mount(&server)
        .await;

    let sent = send(&server, &recipient(None, 0), "from **the** `operator`")
        .await
        .unwrap();
    assert_eq!(sent.unwrap().as_str(), "1003");
}

#[tokio::test]
async fn a_code_block_longer_than_a_message_is_closed_and_reopened_across_posts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(channel_messages()))
        .respond_with(message("1004"))
        .mount(&server)
        .await;
    let channel = DiscordChannel::new(format!("{}/api/v10", server.uri())).unwrap();
    let code: String = (0..150).map(|i| format!("print({i:>10})\n")).collect();
    let markdown = format!("Here:\n```python\n{code}```");

    for part in format::parts(&markdown, channel.markup(), channel.max_text_len()) {
        let to = recipient(None, 0);
        channel.send_text(&binding(), &to, &part).await.unwrap();
    }

    let posted: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| serde_json::from_slice::<Value>(&request.body).unwrap())
        .map(|body| body["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(posted.len(), 2, "{posted:?}");
    assert!(posted[0].starts_with("Here:\n```python\nprint("));
    assert!(
        posted[0].ends_with(")\n```"),
        "closed: {:?}",
        &posted[0][posted[0].len() - 20..]
    );
    assert!(posted[1].starts_with("```python\nprint("), "reopened");
    assert!(posted[1].ends_with(")\n```"));
    assert!(posted.iter().all(|text| text.chars().count() <= 2000));
    let lines: usize = posted
        .iter()
        .map(|text| text.matches("print(").count())
        .sum();
    assert_eq!(lines, 150, "every line once");
}

#[tokio::test]
async fn an_expired_interaction_falls_back_to_the_channel() {
    for (status, code, message_text) in [
        (404, 10015, "Unknown Webhook"),
        (401, 50027, "Invalid Webhook Token"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("PATCH"))
            .and(path(original()))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({"message": message_text, "code": code})),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(channel_messages()))
            .and(header("authorization", format!("Bot {BOT_TOKEN}").as_str()))
            .and(body_json(content("late answer")))
            .respond_with(message("1004"))
            .expect(1)
            .mount(&server)
            .await;

        let sent = send(
            &server,
            &recipient(Some(INTERACTION_TOKEN), 0),
            "late answer",
        )
        .await
        .unwrap();
        assert_eq!(sent.unwrap().as_str(), "1004", "{code}");
    }
}

#[tokio::test]
async fn a_429_waits_for_its_float_retry_after() {
    let server = answering(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "3")
            .insert_header("x-ratelimit-scope", "user")
            .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 2.75, "global": false})),
    )
    .await;

    assert_eq!(
        send(&server, &recipient(None, 0), "hi").await,
        Err(SendError::RateLimited {
            retry_after: Duration::from_millis(2750)
        })
    );
}

#[tokio::test]
async fn the_global_limit_is_waited_out_the_same_way() {
    let server = answering(
        ResponseTemplate::new(429)
            .insert_header("x-ratelimit-global", "true")
            .insert_header("retry-after", "1")
            .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 0.5, "global": true})),
    )
    .await;
    assert_eq!(
        send(&server, &recipient(Some(INTERACTION_TOKEN), 1), "hi").await,
        Err(SendError::RateLimited {
            retry_after: Duration::from_millis(500)
        })
    );

    let header_only = answering(
        ResponseTemplate::new(429)
            .insert_header("x-ratelimit-global", "true")
            .insert_header("retry-after", "4"),
    )
    .await;
    assert_eq!(
        send(&header_only, &recipient(None, 0), "hi").await,
        Err(SendError::RateLimited {
            retry_after: Duration::from_secs(4)
        })
    );
}

#[tokio::test]
async fn server_errors_and_unreachable_apis_are_transient() {
    let server = answering(ResponseTemplate::new(502)).await;
    assert!(matches!(
        send(&server, &recipient(Some(INTERACTION_TOKEN), 0), "hi").await,
        Err(SendError::Transient(_))
    ));
    let gone = DiscordChannel::new("http://127.0.0.1:9/api/v10").unwrap();
    let error = gone
        .send_text(
            &binding(),
            &recipient(Some(INTERACTION_TOKEN), 0),
            &RichText::plain("hi"),
        )
        .await
        .unwrap_err();
    let SendError::Transient(text) = error else {
        panic!("expected transient, got {error:?}");
    };
    assert!(!text.contains(INTERACTION_TOKEN), "{text}");
}

#[tokio::test]
async fn a_403_is_permanent_and_names_the_code() {
    let server = answering(
        ResponseTemplate::new(403)
            .set_body_json(json!({"message": "Missing Permissions", "code": 50013})),
    )
    .await;
    let error = send(&server, &recipient(None, 0), "hi").await.unwrap_err();
    assert!(
        matches!(&error, SendError::Permanent(text) if text.contains("50013")),
        "{error:?}"
    );
}

#[tokio::test]
async fn typing_is_posted_to_the_channel_with_the_bot_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{CHANNEL}/typing")))
        .and(header("authorization", format!("Bot {BOT_TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    DiscordChannel::new(format!("{}/api/v10", server.uri()))
        .unwrap()
        .typing(&binding(), &ExternalChatId::parse(CHANNEL).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn binding_registers_ask_reset_and_help_but_not_the_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!(
            "/api/v10/applications/{APPLICATION_ID}/commands"
        )))
        .and(header("authorization", format!("Bot {BOT_TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let channel = DiscordChannel::new(format!("{}/api/v10", server.uri())).unwrap();

    let told = channel
        .register_webhook(&binding(), "https://example.com/webhooks/discord/x")
        .await
        .unwrap();
    assert!(!told, "the endpoint URL is set in the developer portal");
    let requests = server.received_requests().await.unwrap();
    let commands: Value = serde_json::from_slice(&requests[0].body).unwrap();
    let names: Vec<_> = commands
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ask", "reset", "help", "human"]);
    assert_eq!(
        commands[0]["options"][0],
        json!({"type": 3, "name": "question", "description": "What you want to ask",
               "required": true, "max_length": 4000})
    );
}

#[tokio::test]
async fn a_refused_command_registration_fails_the_binding() {
    let server = answering(
        ResponseTemplate::new(401)
            .set_body_json(json!({"message": "401: Unauthorized", "code": 0})),
    )
    .await;
    let channel = DiscordChannel::new(server.uri()).unwrap();
    assert!(matches!(
        channel
            .register_webhook(&binding(), "https://example.com")
            .await,
        Err(SendError::Permanent(_))
    ));
}
