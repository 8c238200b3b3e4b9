//! Messenger and WhatsApp end to end: the handshake, signatures, messages answered once and in parts through a fake Graph API, WhatsApp statuses, permanent errors.

use crate::{on_each_database, PATIENCE};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram, SETTLE};
use switchboard_e2e::{wait_until, ShiftedClock, TestApp, TestConfig};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PHONE_NUMBER_ID: &str = "106540352242922";
const ACCESS_TOKEN: &str = "EAAG-test-access-token";
const APP_SECRET: &str = "0a9e5ec7e70000000000000000000001";
const VERIFY_TOKEN: &str = "wa-verify-token";
const PAGE_ID: &str = "104233";
const PAGE_TOKEN: &str = "EAAB-test-page-token";
const PAGE_SECRET: &str = "0a9e5ec7e70000000000000000000002";
const PSID: &str = "1254459154682919";

/// Answers each WhatsApp send with a new message id: `wamid.out.1`, `wamid.out.2`, …
struct NumberedSends(AtomicUsize);

impl Respond for NumberedSends {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "16315551234", "wa_id": "16315551234"}],
            "messages": [{"id": format!("wamid.out.{n}")}]
        }))
    }
}

/// A Graph API fake that accepts WhatsApp sends from our number with our token.
async fn fake_graph() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{PHONE_NUMBER_ID}/messages")))
        .and(header(
            "authorization",
            format!("Bearer {ACCESS_TOKEN}").as_str(),
        ))
        .respond_with(NumberedSends(AtomicUsize::new(0)))
        .mount(&server)
        .await;
    server
}

/// A Graph API fake answering every Messenger send with `response`.
async fn fake_messenger_graph(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v21.0/me/messages"))
        .and(header(
            "authorization",
            format!("Bearer {PAGE_TOKEN}").as_str(),
        ))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

/// Messenger's `messaging[]` events from our one user, each `(mid, text, is_echo)`.
/// Who wrote a Messenger message: the user, or the Page (Switchboard, or a person in the
/// Page's inbox), whose messages come back as echoes.
#[derive(Clone, Copy, PartialEq)]
enum By {
    User,
    Switchboard,
    Person,
}

fn messenger_notification(events: &[(&str, &str, By)]) -> Vec<u8> {
    let messaging: Vec<Value> = events
        .iter()
        .map(|(mid, text, by)| {
            let is_echo = *by != By::User;
            let (sender, recipient) = if is_echo {
                (PAGE_ID, PSID)
            } else {
                (PSID, PAGE_ID)
            };
            let mut message = json!({"mid": mid, "text": text, "is_echo": is_echo});
            if *by == By::Switchboard {
                message["metadata"] = json!("switchboard");
            }
            json!({"sender": {"id": sender}, "recipient": {"id": recipient},
                   "timestamp": 1458692752478u64, "message": message})
        })
        .collect();
    json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1458692752478u64, "messaging": messaging}]})
        .to_string()
        .into_bytes()
}

/// WhatsApp `statuses[]` for our sends, each `(wamid, status, error code)`.
fn statuses(reports: &[(&str, &str, Option<i64>)]) -> Vec<u8> {
    let statuses: Vec<Value> = reports
        .iter()
        .map(|(id, status, code)| {
            let errors: Vec<Value> = code
                .iter()
                .map(|code| json!({"code": code, "title": "Re-engagement message"}))
                .collect();
            json!({"id": id, "status": status, "timestamp": "1750263773",
                   "recipient_id": "16315551234", "errors": errors})
        })
        .collect();
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
                  "statuses": statuses},
        "field": "messages"
    }]}]})
    .to_string()
    .into_bytes()
}

/// A running server whose Graph API is `graph`, with one bot bound to a Meta platform.
/// The Send API's answer to a message it took.
fn sent() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"recipient_id": PSID, "message_id": "m_out"}))
}

struct MetaWorld {
    app: TestApp,
    bot: String,
    openai: FakeOpenAi,
    graph: MockServer,
    _telegram: FakeTelegram,
    /// The server's clock, which a test may move on.
    clock: Arc<ShiftedClock>,
}

impl MetaWorld {
    /// A server on `graph` with a bot bound to `platform` with `credentials`.
    async fn start(
        db_url: &str,
        answer: &str,
        graph: MockServer,
        platform: &str,
        credentials: Value,
    ) -> Self {
        let openai = FakeOpenAi::answering(answer).await;
        let telegram = FakeTelegram::start().await;
        let config = TestConfig::new(db_url, &openai, &telegram).with(
            "SWITCHBOARD__META__GRAPH_URL",
            format!("{}/v21.0", graph.uri()),
        );
        let clock = Arc::new(ShiftedClock::default());
        let app = TestApp::spawn_with_clock(&config, clock.clone()).await;
        let bot = app.create_bot(&format!("{platform} bot"), None).await;
        let path = format!("/api/v1/bots/{bot}/platforms/{platform}");
        let (status, binding) = app.admin(Method::PUT, &path, Some(credentials)).await;
        assert_eq!(status, 200, "bind {platform}: {binding}");
        Self {
            app,
            bot,
            openai,
            graph,
            _telegram: telegram,
            clock,
        }
    }

    /// WhatsApp, with a Graph fake that numbers the sent messages.
    async fn whatsapp(db_url: &str, answer: &str) -> Self {
        let credentials = json!({"phone_number_id": PHONE_NUMBER_ID, "access_token": ACCESS_TOKEN,
                                 "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN});
        Self::start(db_url, answer, fake_graph().await, "whatsapp", credentials).await
    }

    /// Messenger, with a Graph fake answering each send with `response`.
    async fn messenger(db_url: &str, answer: &str, response: ResponseTemplate) -> Self {
        let credentials = json!({"page_id": PAGE_ID, "page_access_token": PAGE_TOKEN,
                                 "app_secret": PAGE_SECRET, "verify_token": "page-verify"});
        let graph = fake_messenger_graph(response).await;
        Self::start(db_url, answer, graph, "messenger", credentials).await
    }
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
    post_to(app, "whatsapp", bot_id, body, secret).await
}

async fn post_to(app: &TestApp, platform: &str, bot_id: &str, body: &[u8], secret: &str) -> u16 {
    app.client
        .post(app.url(&format!("/webhooks/{platform}/{bot_id}")))
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
        let MetaWorld {
            app,
            bot,
            openai,
            graph,
            _telegram,
            ..
        } = MetaWorld::whatsapp(db.url(), "Hello from the model").await;

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

/// Messenger Send API calls that carry a message (not `sender_action: typing_on`).
async fn messenger_sends(graph: &MockServer) -> Vec<Value> {
    let mut sent = sends(graph).await;
    sent.retain(|call| call.get("message").is_some());
    sent
}

/// The reply of the bot's one conversation, once it reaches `status`.
async fn reply_with_status(app: &TestApp, bot: &str, status: &str) -> Value {
    let messages = app.wait_for_status(bot, status, 1, PATIENCE).await;
    messages
        .into_iter()
        .find(|m| m["direction"] == "outbound")
        .expect("a reply")
}

#[tokio::test]
async fn whatsapp_statuses_move_the_reply_forward_and_a_closed_window_fails_it() {
    on_each_database(|db| async move {
        let MetaWorld {
            app,
            bot,
            openai,
            graph: _graph,
            _telegram,
            ..
        } = MetaWorld::whatsapp(db.url(), "Hello from the model").await;
        assert_eq!(post(&app, &bot, &notification("hi"), APP_SECRET).await, 200);
        reply_with_status(&app, &bot, "sent").await;

        let read = statuses(&[
            ("wamid.out.1", "delivered", None),
            ("wamid.out.1", "read", None),
        ]);
        assert_eq!(
            post(
                &app,
                &bot,
                &statuses(&[("wamid.out.1", "read", None)]),
                "forged"
            )
            .await,
            401
        );
        assert_eq!(post(&app, &bot, &read, APP_SECRET).await, 200);
        let reply = reply_with_status(&app, &bot, "read").await;
        assert_eq!(reply["error"], Value::Null);
        let late = statuses(&[
            ("wamid.out.1", "delivered", None),
            ("wamid.unknown", "failed", Some(131047)),
        ]);
        assert_eq!(
            post(&app, &bot, &late, APP_SECRET).await,
            200,
            "late and unknown reports are acknowledged"
        );
        assert_eq!(
            reply_with_status(&app, &bot, "read").await["id"],
            reply["id"],
            "never moves back"
        );

        // A second customer message; its reply cannot be delivered outside the 24-hour window.
        let second = String::from_utf8(notification("again"))
            .unwrap()
            .replace("0RgA=", "0RgB=");
        assert_eq!(post(&app, &bot, second.as_bytes(), APP_SECRET).await, 200);
        app.wait_for_status(&bot, "sent", 1, PATIENCE).await;
        let closed = statuses(&[("wamid.out.2", "failed", Some(131047))]);
        assert_eq!(post(&app, &bot, &closed, APP_SECRET).await, 200);
        let messages = app.wait_for_status(&bot, "failed", 1, PATIENCE).await;
        let failed: Vec<_> = messages
            .iter()
            .filter(|m| m["status"] == "failed")
            .collect();
        assert_eq!(failed[0]["error"], "131047: Re-engagement message");
        assert_eq!(
            openai.requests().await.len(),
            2,
            "statuses never reach the model"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_messenger_batch_is_answered_once_each_in_parts_and_echoes_are_ignored() {
    on_each_database(|db| async move {
        let long_answer = "word ".repeat(900);
        let response = sent();
        let MetaWorld {
            app,
            bot,
            openai,
            graph,
            _telegram,
            ..
        } = MetaWorld::messenger(db.url(), &long_answer, response).await;
        let body = messenger_notification(&[
            ("m_echo", "our own words", By::Switchboard),
            ("m_1", "hello", By::User),
        ]);
        assert_eq!(post_to(&app, "messenger", &bot, &body, "forged").await, 401);
        assert!(
            app.messages_of(&bot).await.is_empty(),
            "a forged webhook stored nothing"
        );
        assert_eq!(
            post_to(&app, "messenger", &bot, &body, PAGE_SECRET).await,
            200
        );
        assert_eq!(
            post_to(&app, "messenger", &bot, &body, PAGE_SECRET).await,
            200,
            "redelivered"
        );

        let messages = app.wait_for_status(&bot, "sent", 1, PATIENCE).await;
        tokio::time::sleep(SETTLE).await;
        let texts: Vec<_> = messages
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(texts.len(), 2, "the echo is not stored: {texts:?}");
        let sent = messenger_sends(&graph).await;
        assert_eq!(
            sent.len(),
            3,
            "4500 characters in three parts of at most 2000"
        );
        for part in &sent {
            assert_eq!(part["messaging_type"], "RESPONSE");
            assert_eq!(part["recipient"]["id"], PSID);
            assert!(part["message"]["text"].as_str().unwrap().chars().count() <= 2000);
        }
        let joined: String = sent
            .iter()
            .map(|p| p["message"]["text"].as_str().unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            joined.split_whitespace().count(),
            900,
            "nothing lost between parts"
        );
        assert_eq!(openai.requests().await.len(), 1);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_closed_messenger_window_dead_letters_the_reply_with_its_reason() {
    on_each_database(|db| async move {
        let refusal = ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "(#10) This message is sent outside of allowed window.",
            "type": "OAuthException", "code": 10, "error_subcode": 2018278, "fbtrace_id": "A"}}));
        let MetaWorld {
            app,
            bot,
            openai: _openai,
            graph,
            _telegram,
            ..
        } = MetaWorld::messenger(db.url(), "too late", refusal).await;
        let body = messenger_notification(&[("m_1", "hello", By::User)]);
        assert_eq!(
            post_to(&app, "messenger", &bot, &body, PAGE_SECRET).await,
            200
        );

        let reply = reply_with_status(&app, &bot, "failed").await;
        assert!(
            reply["error"].as_str().unwrap().contains("code 10"),
            "{reply}"
        );
        tokio::time::sleep(SETTLE).await;
        assert_eq!(
            messenger_sends(&graph).await.len(),
            1,
            "a permanent error is not retried"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_throttled_messenger_send_waits_as_asked_then_goes_out_once() {
    on_each_database(|db| async move {
        let answer = ResponseTemplate::new(200)
            .set_body_json(json!({"recipient_id": PSID, "message_id": "m_out"}));
        let world = MetaWorld::messenger(db.url(), "after a pause", answer).await;
        let throttled = ResponseTemplate::new(400)
            .insert_header("retry-after", "1")
            .set_body_json(json!({"error": {"message": "(#613) Calls to this api have exceeded the rate limit.",
                                            "type": "OAuthException", "code": 613, "fbtrace_id": "A"}}));
        Mock::given(method("POST"))
            .and(path("/v21.0/me/messages"))
            .and(wiremock::matchers::body_string_contains("after a pause"))
            .respond_with(throttled)
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&world.graph)
            .await;
        let body = messenger_notification(&[("m_1", "hello", By::User)]);
        assert_eq!(post_to(&world.app, "messenger", &world.bot, &body, PAGE_SECRET).await, 200);

        let started = std::time::Instant::now();
        world.app.wait_for_status(&world.bot, "sent", 1, PATIENCE).await;
        let waited = started.elapsed();
        assert!(waited >= std::time::Duration::from_millis(900), "sent after {waited:?}; 1 s was asked");
        tokio::time::sleep(SETTLE).await;
        let attempts = messenger_sends(&world.graph).await;
        assert_eq!(attempts.len(), 2, "one throttled attempt, one that went out");
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_person_answering_from_the_page_inbox_hands_the_chat_off() {
    on_each_database(|db| async move {
        let world = MetaWorld::messenger(db.url(), "the bot's answer", sent()).await;
        let (app, bot, openai, graph) = (&world.app, &world.bot, &world.openai, &world.graph);
        let first = messenger_notification(&[("m_1", "hello", By::User)]);
        assert_eq!(
            post_to(app, "messenger", bot, &first, PAGE_SECRET).await,
            200
        );
        app.wait_for_status(bot, "sent", 1, PATIENCE).await;

        let person = messenger_notification(&[("m_inbox", "Sam here, I'll help.", By::Person)]);
        assert_eq!(
            post_to(app, "messenger", bot, &person, PAGE_SECRET).await,
            200
        );
        let (_, waiting) = app
            .admin(Method::GET, "/api/v1/conversations?mode=human", None)
            .await;
        assert_eq!(waiting["items"][0]["mode"], "human", "{waiting}");

        let second = messenger_notification(&[("m_2", "thanks Sam", By::User)]);
        assert_eq!(
            post_to(app, "messenger", bot, &second, PAGE_SECRET).await,
            200
        );
        tokio::time::sleep(SETTLE).await;
        assert_eq!(
            app.messages_of(bot).await.len(),
            3,
            "both messages and one reply"
        );
        assert_eq!(
            openai.requests().await.len(),
            1,
            "the bot does not talk over a person"
        );
        let requests = graph.received_requests().await.unwrap_or_default();
        let sends = requests.iter().filter(|r| {
            r.body_json::<Value>()
                .is_ok_and(|b| b.get("message").is_some())
        });
        assert_eq!(sends.count(), 1, "one reply went out");
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn past_the_24_hour_window_a_whatsapp_chat_takes_a_template_and_no_free_text() {
    on_each_database(|db| async move {
        let world = MetaWorld::whatsapp(db.url(), "Hello from the model").await;
        let (app, bot) = (&world.app, &world.bot);
        assert_eq!(post(app, bot, &notification("hi"), APP_SECRET).await, 200);
        wait_until(|| async { sends(&world.graph).await.len() == 1 }).await;
        world.clock.advance(chrono::Duration::hours(25));
        let path = format!("/api/v1/bots/{bot}/messages");

        let text = json!({"platform": "whatsapp", "user_id": "16315551234", "text": "Back in stock!"});
        let (status, problem) = app.admin(Method::POST, &path, Some(text)).await;
        assert_eq!((status, &problem["code"]), (422, &json!("window_closed")), "{problem}");
        let template = json!({"platform": "whatsapp", "user_id": "16315551234", "template": {
            "name": "back_in_stock", "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Ada"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0",
                 "parameters": [{"type": "payload", "payload": "notify-me"}]}
            ]}});
        let (status, message) = app.admin(Method::POST, &path, Some(template)).await;
        assert_eq!(status, 202, "{message}");
        assert_eq!(message["text"], "[template back_in_stock]");

        wait_until(|| async { sends(&world.graph).await.len() == 2 }).await;
        let sent = sends(&world.graph).await;
        assert_eq!(
            sent[1],
            json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                   "to": "16315551234", "type": "template",
                   "template": {"name": "back_in_stock", "language": {"code": "en_US"},
                                "components": [
                                    {"type": "body", "parameters": [{"type": "text", "text": "Ada"}]},
                                    {"type": "button", "sub_type": "quick_reply", "index": "0",
                                     "parameters": [{"type": "payload", "payload": "notify-me"}]}]}})
        );
        app.wait_for_status(bot, "sent", 2, PATIENCE).await;
        tokio::time::sleep(SETTLE).await;
        assert_eq!(sends(&world.graph).await.len(), 2, "the template went once, the text never");
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_template_that_is_malformed_or_not_for_whatsapp_is_refused_naming_the_field() {
    let db = database::testing::fresh_sqlite();
    let world = MetaWorld::whatsapp(db.url(), "Hello").await;
    let path = format!("/api/v1/bots/{}/messages", world.bot);
    let to = |template: Value| json!({"platform": "whatsapp", "chat_id": "16315551234", "template": template});
    let cases = [
        (
            to(json!({"name": "Bad Name", "language": "en"})),
            "template.name",
        ),
        (
            to(json!({"name": "ok", "language": "english"})),
            "template.language",
        ),
        (
            to(
                json!({"name": "ok", "language": "en", "components": [{"type": "button", "parameters": []}]}),
            ),
            "template.components",
        ),
        (
            json!({"platform": "whatsapp", "chat_id": "1", "text": "hi", "template": {"name": "ok", "language": "en"}}),
            "template",
        ),
        (
            json!({"platform": "messenger", "chat_id": "1", "template": {"name": "ok", "language": "en"}}),
            "template",
        ),
    ];
    world.app.assert_refusals(Method::POST, &path, &cases).await;
    let unknown = to(json!({"name": "ok", "language": "en", "namespace": "x"}));
    let (status, problem) = world.app.admin(Method::POST, &path, Some(unknown)).await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("namespace"),
        "names the field: {problem}"
    );
    assert!(
        world.app.messages_of(&world.bot).await.is_empty(),
        "nothing stored"
    );
    world.app.stop().await;
}

#[tokio::test]
async fn past_the_window_a_text_goes_as_the_bots_window_template_or_not_at_all() {
    on_each_database(|db| async move {
        let world = MetaWorld::whatsapp(db.url(), "Hello from the model").await;
        let (app, bot) = (&world.app, &world.bot);
        assert_eq!(post(app, bot, &notification("hi"), APP_SECRET).await, 200);
        wait_until(|| async { sends(&world.graph).await.len() == 1 }).await;
        let conversation = app.messages_of(bot).await[0]["conversation_id"].clone();
        let path = format!(
            "/api/v1/conversations/{}/messages",
            conversation.as_str().unwrap()
        );
        world.clock.advance(chrono::Duration::hours(25));

        let (status, late) = app
            .admin(Method::POST, &path, Some(json!({"text": "Sorry, late!"})))
            .await;
        assert_eq!(status, 202, "{late}");
        let failed = app.wait_for_status(bot, "failed", 1, PATIENCE).await;
        let failed = failed.iter().find(|m| m["status"] == "failed").unwrap();
        assert!(
            failed["error"]
                .as_str()
                .unwrap()
                .contains("window_template"),
            "{failed}"
        );
        assert_eq!(sends(&world.graph).await.len(), 1, "Meta was not asked");

        let template = json!({"window_template": {"name": "follow_up", "language": "en"}});
        let (status, patched) = app
            .admin(
                Method::PATCH,
                &format!("/api/v1/bots/{bot}"),
                Some(template),
            )
            .await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(
            patched["window_template"],
            json!({"name": "follow_up", "language": "en", "components": []})
        );
        let (status, _) = app
            .admin(Method::POST, &path, Some(json!({"text": "Still there?"})))
            .await;
        assert_eq!(status, 202);
        wait_until(|| async { sends(&world.graph).await.len() == 2 }).await;
        let sent = sends(&world.graph).await;
        assert_eq!(sent[1]["type"], "template", "{:?}", sent[1]);
        assert_eq!(sent[1]["template"]["name"], "follow_up");
        app.wait_for_status(bot, "sent", 2, PATIENCE).await;
        world.app.stop().await;
    })
    .await;
}
