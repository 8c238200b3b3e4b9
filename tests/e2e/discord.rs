//! Discord end to end: signed interactions answered PONG or deferred, then the reply edits the original response; gateway mode answers DMs and mentions.

use crate::fake_gateway::{message, user, FakeGateway, BOT_USER};
use crate::{on_each_database, PATIENCE};
use ed25519_dalek::{Signer, SigningKey};
use rand::RngCore;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram, SETTLE};
use switchboard_e2e::streaming::StreamingOpenAi;
use switchboard_e2e::{wait_until, TestApp, TestConfig};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APPLICATION_ID: &str = "775799577604522054";
const BOT_TOKEN: &str = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.test-bot-token";
const CHANNEL: &str = "645027906669510667";
const INTERACTION_TOKEN: &str = "aW50ZXJhY3Rpb246dGVzdA";

fn original_path() -> String {
    format!("/api/v10/webhooks/{APPLICATION_ID}/{INTERACTION_TOKEN}/messages/@original")
}

fn follow_up_path() -> String {
    format!("/api/v10/webhooks/{APPLICATION_ID}/{INTERACTION_TOKEN}")
}

/// A REST API fake: edits of the original response, follow-ups, typing and channel posts.
async fn fake_discord() -> MockServer {
    let server = MockServer::start().await;
    let message = |id: &str| {
        ResponseTemplate::new(200).set_body_json(json!({"id": id, "channel_id": CHANNEL}))
    };
    Mock::given(method("PATCH"))
        .and(path(original_path()))
        .respond_with(message("1100000000000000001"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(follow_up_path()))
        .respond_with(message("1100000000000000002"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/v10/channels/\d+/typing$"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/v10/channels/\d+/messages$"))
        .respond_with(message("1100000000000000003"))
        .mount(&server)
        .await;
    server
}

fn key_pair() -> SigningKey {
    let mut seed = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut seed);
    SigningKey::from_bytes(&seed)
}

/// A Discord test world: the app, its fakes and the application's signing key.
struct World {
    app: TestApp,
    openai: FakeOpenAi,
    discord: MockServer,
    key: SigningKey,
    bot: String,
}

impl World {
    async fn start(db_url: &str) -> Self {
        Self::start_with(db_url, None).await
    }

    /// With `gateway`, the REST fake names it and the binding turns gateway mode on; leases
    /// last 3 s, so the supervisor looks every second.
    async fn start_with(db_url: &str, gateway: Option<&FakeGateway>) -> Self {
        Self::start_on(db_url, gateway, None).await
    }

    /// [`World::start_with`], the model at `model_url` instead of the echoing fake.
    async fn start_on(
        db_url: &str,
        gateway: Option<&FakeGateway>,
        model_url: Option<String>,
    ) -> Self {
        let openai = FakeOpenAi::echoing().await;
        let telegram = FakeTelegram::start().await;
        let discord = fake_discord().await;
        if let Some(gateway) = gateway {
            Mock::given(method("GET"))
                .and(path("/api/v10/gateway"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"url": gateway.url})))
                .mount(&discord)
                .await;
        }
        let model_url = model_url.unwrap_or_else(|| openai.url());
        let config = TestConfig::with_urls(db_url, &model_url, &telegram.url())
            .with(
                "SWITCHBOARD__DISCORD__API_URL",
                format!("{}/api/v10", discord.uri()),
            )
            .with("SWITCHBOARD__WORKER__LEASE_SECONDS", 3);
        let app = TestApp::spawn(&config).await;
        let key = key_pair();
        let bot = app.create_bot("Discord bot", None).await;
        let body = json!({"application_id": APPLICATION_ID, "bot_token": BOT_TOKEN,
                          "public_key": hex::encode(key.verifying_key().to_bytes()),
                          "gateway": gateway.is_some()});
        let (status, binding) = app
            .admin(
                Method::PUT,
                &format!("/api/v1/bots/{bot}/platforms/discord"),
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "bind discord: {binding}");
        Self {
            app,
            openai,
            discord,
            key,
            bot,
        }
    }

    /// Posts `body` signed by `key` now; the status and the JSON answer.
    async fn post(&self, body: &Value, key: &SigningKey) -> (u16, Value) {
        let body = body.to_string();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string();
        let signature = key.sign(format!("{timestamp}{body}").as_bytes());
        let response = self
            .app
            .client
            .post(self.app.url(&format!("/webhooks/discord/{}", self.bot)))
            .header("content-type", "application/json")
            .header("x-signature-ed25519", hex::encode(signature.to_bytes()))
            .header("x-signature-timestamp", timestamp)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The bodies of the fake API's requests of `verb` to `route`.
    async fn calls(&self, verb: &str, route: &str) -> Vec<Value> {
        self.discord
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == verb && r.url.path() == route)
            .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
            .collect()
    }

    async fn channel_posts(&self) -> usize {
        self.posts_to(CHANNEL).await.len()
    }

    /// The messages posted to `channel` with the bot token.
    async fn posts_to(&self, channel: &str) -> Vec<Value> {
        self.calls("POST", &format!("/api/v10/channels/{channel}/messages"))
            .await
    }
}

/// `/ask question:<question>` as Discord sends it from a guild.
fn ask(id: &str, question: &str) -> Value {
    json!({
        "type": 2, "id": id, "application_id": APPLICATION_ID, "token": INTERACTION_TOKEN,
        "version": 1, "guild_id": "290926798626357999", "channel_id": CHANNEL,
        "member": {"user": {"id": "53908232506183680", "username": "Mason"}, "roles": [],
                   "permissions": "2147483647", "joined_at": "2017-03-13T19:19:14.040000+00:00"},
        "data": {"id": "771825006014889984", "name": "ask", "type": 1,
                 "options": [{"type": 3, "name": "question", "value": question}]}
    })
}

#[tokio::test]
async fn a_signed_ping_is_answered_pong_and_forged_requests_are_refused() {
    on_each_database(|db| async move {
        let world = World::start(db.url()).await;
        let ping = json!({"type": 1, "id": "1", "application_id": APPLICATION_ID,
                          "token": "t", "version": 1});
        assert_eq!(
            world.post(&ping, &world.key).await,
            (200, json!({"type": 1}))
        );

        let (status, problem) = world
            .post(&ask("786008729715212338", "hi"), &key_pair())
            .await;
        assert_eq!(status, 401, "{problem}");
        assert!(problem["request_id"].is_string(), "{problem}");
        let unsigned = world
            .app
            .client
            .post(world.app.url(&format!("/webhooks/discord/{}", world.bot)))
            .json(&ask("786008729715212339", "hi"))
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status().as_u16(), 401);

        tokio::time::sleep(SETTLE).await;
        assert!(
            world.app.messages_of(&world.bot).await.is_empty(),
            "a forged interaction stored nothing"
        );
        assert!(world.discord.received_requests().await.unwrap().is_empty());
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_signed_ask_is_deferred_then_answered_once_by_editing_the_original() {
    on_each_database(|db| async move {
        let world = World::start(db.url()).await;
        let interaction = ask("786008729715212338", "What is the airspeed of a swallow?");
        assert_eq!(
            world.post(&interaction, &world.key).await,
            (200, json!({"type": 5}))
        );
        assert_eq!(
            world.post(&interaction, &world.key).await,
            (200, json!({"type": 5})),
            "a redelivery is acknowledged"
        );

        wait_until(|| async { !world.calls("PATCH", &original_path()).await.is_empty() }).await;
        tokio::time::sleep(SETTLE).await;
        assert_eq!(
            world.calls("PATCH", &original_path()).await,
            [json!({"content": "re: What is the airspeed of a swallow?",
                    "allowed_mentions": {"parse": []}})],
            "exactly one edit of the deferred response"
        );
        assert!(world.calls("POST", &follow_up_path()).await.is_empty());
        assert_eq!(world.channel_posts().await, 0);
        let typing = format!("/api/v10/channels/{CHANNEL}/typing");
        assert!(
            world.calls("POST", &typing).await.is_empty(),
            "the deferred response shows \"thinking…\" instead"
        );
        let stored = world
            .app
            .wait_for_status(&world.bot, "sent", 1, PATIENCE)
            .await;
        assert_eq!(
            stored.len(),
            2,
            "the question and its one reply: {stored:?}"
        );
        assert_eq!(world.openai.requests().await.len(), 1);
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_long_reply_edits_the_original_then_follows_up() {
    on_each_database(|db| async move {
        let world = World::start(db.url()).await;
        let question = "swallow ".repeat(400).trim_end().to_owned();
        let (status, _) = world
            .post(&ask("786008729715212340", &question), &world.key)
            .await;
        assert_eq!(status, 200);

        world
            .app
            .wait_for_status(&world.bot, "sent", 1, PATIENCE)
            .await;
        let original = world.calls("PATCH", &original_path()).await;
        let follow_ups = world.calls("POST", &follow_up_path()).await;
        assert_eq!((original.len(), follow_ups.len()), (1, 1));
        let parts: Vec<&str> = original
            .iter()
            .chain(&follow_ups)
            .map(|body| body["content"].as_str().unwrap())
            .collect();
        assert!(parts.iter().all(|p| p.chars().count() <= 2000), "{parts:?}");
        assert_eq!(parts.join(" "), format!("re: {question}"));
        assert!(follow_ups[0]["allowed_mentions"] == json!({"parse": []}));
        world.app.stop().await;
    })
    .await;
}

const DM_CHANNEL: &str = "1300000000000000001";
const GUILD_CHANNEL: &str = "1300000000000000002";
const GUILD: &str = "1400000000000000001";

/// A user's DM, another bot's DM, a guild message mentioning the bot, and one that does not.
fn gateway_events() -> Vec<(&'static str, Value)> {
    let person = || user("1500000000000000001", "mason", false);
    let mention = format!("<@{BOT_USER}> how are you?");
    let us = user(BOT_USER, "switchboard", true);
    vec![
        (
            "MESSAGE_CREATE",
            message(
                "1200000000000000001",
                DM_CHANNEL,
                None,
                person(),
                "hello there",
                vec![],
            ),
        ),
        (
            "MESSAGE_CREATE",
            message(
                "1200000000000000002",
                DM_CHANNEL,
                None,
                user("1500000000000000002", "other-bot", true),
                "beep",
                vec![],
            ),
        ),
        (
            "MESSAGE_CREATE",
            message(
                "1200000000000000003",
                GUILD_CHANNEL,
                Some(GUILD),
                person(),
                &mention,
                vec![us],
            ),
        ),
        (
            "MESSAGE_CREATE",
            message(
                "1200000000000000004",
                GUILD_CHANNEL,
                Some(GUILD),
                person(),
                "just chatting",
                vec![],
            ),
        ),
    ]
}

#[tokio::test]
async fn gateway_mode_answers_direct_messages_and_mentions_once_in_their_channel() {
    on_each_database(|db| async move {
        let gateway = FakeGateway::start(APPLICATION_ID, gateway_events()).await;
        let world = World::start_with(db.url(), Some(&gateway)).await;

        wait_until(|| async {
            !world.posts_to(DM_CHANNEL).await.is_empty()
                && !world.posts_to(GUILD_CHANNEL).await.is_empty()
        })
        .await;
        tokio::time::sleep(SETTLE).await;
        assert_eq!(
            world.posts_to(DM_CHANNEL).await,
            [json!({"content": "re: hello there", "allowed_mentions": {"parse": []}})],
            "the user's DM answered once, the bot's not at all"
        );
        assert_eq!(
            world.posts_to(GUILD_CHANNEL).await,
            [json!({"content": "re: how are you?", "allowed_mentions": {"parse": []}})],
            "the mention answered once, without the mention"
        );
        let identifies = gateway.identifies();
        assert_eq!(identifies.len(), 1, "one connection: {identifies:?}");
        assert!(
            identifies[0]["token"]
                .as_str()
                .unwrap()
                .ends_with(BOT_TOKEN),
            "identified with the bot token"
        );
        let stored = world.app.messages_of(&world.bot).await;
        assert_eq!(stored.len(), 4, "two questions and two replies: {stored:?}");
        assert_eq!(world.openai.requests().await.len(), 2);
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_streaming_bot_grows_the_deferred_response_then_rolls_over_at_2000_characters() {
    let pieces: Vec<String> = (0..60)
        .map(|n| format!("sentence {n:02} of a long streamed answer. "))
        .collect();
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let whole = pieces.concat();
    assert!(whole.len() > 2000);
    let model = StreamingOpenAi::start(&pieces, Duration::from_millis(50), 0).await;
    let db = database::testing::fresh_sqlite();
    let world = World::start_on(db.url(), None, Some(model.url())).await;
    let path = format!("/api/v1/bots/{}", world.bot);
    let (status, _) = world
        .app
        .admin(Method::PATCH, &path, Some(json!({"streaming": true})))
        .await;
    assert_eq!(status, 200);

    let (status, _) = world
        .post(&ask("786008729715212400", "go on"), &world.key)
        .await;
    assert_eq!(status, 200);
    wait_until(|| async { !world.calls("POST", &follow_up_path()).await.is_empty() }).await;

    let edits = world.calls("PATCH", &original_path()).await;
    assert!(
        edits.len() >= 3,
        "drafts, then the reply: {} edits",
        edits.len()
    );
    let texts: Vec<&str> = edits
        .iter()
        .map(|e| e["content"].as_str().unwrap())
        .collect();
    let (reply, drafts) = texts.split_last().unwrap();
    for pair in drafts.windows(2) {
        assert!(pair[1].len() >= pair[0].len(), "the draft grows");
    }
    for draft in drafts {
        assert!(
            draft.chars().count() <= 2000 && whole.starts_with(draft),
            "{draft:?}"
        );
    }
    let follow_ups = world.calls("POST", &follow_up_path()).await;
    assert_eq!(follow_ups.len(), 1, "the rest in one follow-up");
    let rest = follow_ups[0]["content"].as_str().unwrap();
    assert!(reply.chars().count() <= 2000 && whole.starts_with(reply.trim_end()));
    assert!(whole.trim_end().ends_with(rest.trim()), "{rest:?}");
    assert!(world.app.stop().await);
}
