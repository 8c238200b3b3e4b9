//! Inbound rate limits end to end: a user flooding a bot gets answers up to the limit and one
//! notice, every message is stored (the excess marked `rate_limited`), other users are answered
//! on; replicas share the allowance through Redis; bad settings are refused naming the field.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{updates, TelegramWorld, TestApp};

const NOTICE: &str = "Slow down, please.";
/// Ten messages an hour per user, all at once: what a flood is answered with, whatever its pace.
const TEN_AN_HOUR: u32 = 10;
const FLOOD: i64 = 50;

async fn limit_to_ten_an_hour(app: &TestApp, bot: &str) {
    let settings = json!({
        "rate_limit": {"per_user": {"messages": TEN_AN_HOUR, "per_seconds": 3600}},
        "rate_limit_message": NOTICE,
    });
    let (status, body) = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/bots/{bot}"),
            Some(settings),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["rate_limit"],
        json!({"per_user": {"messages": 10, "per_seconds": 3600, "burst": 10}, "per_bot": null})
    );
}

/// Posts [`FLOOD`] messages of chat 7 within a few seconds, each to the next of `apps`.
async fn flood(apps: &[&TestApp], bot: &str) {
    for n in 1..=FLOOD {
        let app = apps[n as usize % apps.len()];
        app.deliver(bot, &updates::text(n, 7, n, &format!("message {n}")))
            .await;
    }
}

/// Once every message of the flood is settled: ten answered by the model, one notice, forty
/// stored as `rate_limited`; then another user is answered as usual.
async fn assert_limited(world: &TelegramWorld, app: &TestApp) {
    let limited = FLOOD as usize - TEN_AN_HOUR as usize;
    let messages = app
        .wait_for_status(&world.bot, "rate_limited", limited, PATIENCE)
        .await;
    let inbound: Vec<&Value> = messages
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .collect();
    assert_eq!(inbound.len(), FLOOD as usize, "every message is stored");
    let sent = world.telegram.wait_for_sent(11, PATIENCE).await;
    let notices = sent.iter().filter(|s| s.text == NOTICE).count();
    assert_eq!(notices, 1, "one notice in the window");
    assert_eq!(world.openai.requests().await.len(), TEN_AN_HOUR as usize);

    app.deliver(&world.bot, &updates::text(FLOOD + 1, 8, 1, "hi, I'm new"))
        .await;
    let sent = world.telegram.wait_for_sent(12, PATIENCE).await;
    assert_eq!(sent.len(), 12, "nothing more was sent to the flooding user");
    assert_eq!(sent[11].text, "sure");
    let stored = app
        .wait_for_status(&world.bot, "rate_limited", limited, PATIENCE)
        .await;
    let counted = stored.iter().filter(|m| m["status"] == "rate_limited");
    assert_eq!(counted.count(), limited, "the other user was not limited");
}

#[tokio::test]
async fn a_flooding_user_gets_answers_up_to_the_limit_and_one_notice() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("sure").await).await;
        limit_to_ten_an_hour(&world.app, &world.bot).await;
        flood(&[&world.app], &world.bot).await;
        assert_limited(&world, &world.app).await;
        assert!(world.app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn replicas_share_a_users_allowance_through_redis() {
    let Some((db, redis)) = crate::webchat::postgres_and_redis().await else {
        return;
    };
    let prefix = format!("sb-test-{}", uuid::Uuid::new_v4().simple());
    let shared = |config: switchboard_e2e::TestConfig| {
        config
            .with("SWITCHBOARD__REDIS__URL", &redis)
            .with("SWITCHBOARD__REDIS__CHANNEL_PREFIX", &prefix)
    };
    let openai = FakeOpenAi::answering("sure").await;
    let world = TelegramWorld::start_with(db.url(), openai, shared, None).await;
    let other = TestApp::spawn(&world.config).await;
    limit_to_ten_an_hour(&world.app, &world.bot).await;
    // Each replica takes every other message and runs jobs: alone, each would allow ten.
    flood(&[&world.app, &other], &world.bot).await;
    assert_limited(&world, &other).await;
    assert!(other.stop().await);
    assert!(world.app.stop().await);
}

#[tokio::test]
async fn bad_rate_limits_are_refused_naming_the_field() {
    let db = database::testing::fresh_sqlite();
    let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("unused").await).await;
    let path = format!("/api/v1/bots/{}", world.bot);
    let cases = [
        (
            json!({"rate_limit": {"per_user": {"messages": 0, "per_seconds": 60}}}),
            "rate_limit.per_user",
        ),
        (
            json!({"rate_limit": {"per_bot": {"messages": 5, "per_seconds": 100000}}}),
            "rate_limit.per_bot",
        ),
        (
            json!({"rate_limit": {"per_user": {"messages": 5, "per_seconds": 60, "burst": -1}}}),
            "rate_limit.per_user",
        ),
    ];
    world
        .app
        .assert_refusals(Method::PATCH, &path, &cases)
        .await;
    let (_, bot) = world.app.admin(Method::GET, &path, None).await;
    assert_eq!(
        bot["rate_limit"]["per_user"],
        json!({"messages": 20, "per_seconds": 60, "burst": 10}),
        "the default holds"
    );
    assert!(world.app.stop().await);
}
