//! Broadcasts end to end: one message to many Telegram chats, sent once each under the bot's pacing, its progress followed, its unsent rest cancelled, and each refusal naming its field.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard_e2e::fakes::{FakeOpenAi, Sent};
use switchboard_e2e::{updates, wait_for_empty_queue, wait_until, TelegramWorld};

const SALE: &str = "Sale today";

/// A Telegram world paced at `per_second` sends per bot, whose `chats` (1..=chats) wrote
/// once each and were answered.
async fn world_with_chats(url: &str, per_second: u32, chats: i64) -> TelegramWorld {
    let configure = |config: switchboard_e2e::TestConfig| {
        config
            .paced()
            .with("SWITCHBOARD__PACING__TELEGRAM_BOT_PER_SECOND", per_second)
    };
    let world =
        TelegramWorld::start_with(url, FakeOpenAi::answering("Hi!").await, configure, None).await;
    for chat in 1..=chats {
        world.deliver(&updates::text(chat, chat, 1, "hello")).await;
    }
    world.telegram.wait_for_sent(chats as usize, PATIENCE).await;
    world
}

/// Broadcasts [`SALE`] to `chats`; the status and the body.
async fn broadcast(world: &TelegramWorld, chats: Value) -> (u16, Value) {
    let path = format!("/api/v1/bots/{}/broadcasts", world.bot);
    let body = json!({"platform": "telegram", "chat_ids": chats, "text": SALE});
    world.app.admin(Method::POST, &path, Some(body)).await
}

async fn progress(world: &TelegramWorld, id: &Value) -> Value {
    let path = format!(
        "/api/v1/bots/{}/broadcasts/{}",
        world.bot,
        id.as_str().unwrap()
    );
    let (status, body) = world.app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until the broadcast has nothing queued; its last progress.
async fn settled(world: &TelegramWorld, id: &Value) -> Value {
    wait_until(|| async { progress(world, id).await["queued"] == 0 }).await;
    progress(world, id).await
}

fn sales(sent: &[Sent]) -> Vec<&Sent> {
    sent.iter().filter(|sent| sent.text == SALE).collect()
}

fn ids(chats: std::ops::RangeInclusive<i64>) -> Value {
    chats.map(|chat| chat.to_string()).collect()
}

#[tokio::test]
async fn a_broadcast_reaches_each_chat_once_under_the_bots_pacing() {
    on_each_database(|db| async move {
        let chats = 60;
        let world = world_with_chats(db.url(), 20, chats).await;
        let mut named = ids(1..=chats);
        named.as_array_mut().unwrap().push(json!("7"));

        let (status, started) = broadcast(&world, named).await;
        assert_eq!(status, 202, "{started}");
        assert_eq!(
            (&started["status"], &started["total"], &started["queued"]),
            (&json!("sending"), &json!(chats), &json!(chats)),
            "a chat named twice counts once: {started}"
        );
        let done = settled(&world, &started["id"]).await;
        assert_eq!(
            (&done["status"], &done["sent"], &done["failed"]),
            (&json!("completed"), &json!(chats), &json!(0)),
            "{done}"
        );

        let sent = world.telegram.sent_after_settling().await;
        let mut reached: Vec<i64> = sales(&sent)
            .iter()
            .map(|sent| sent.chat_id.as_i64().unwrap())
            .collect();
        reached.sort_unstable();
        assert_eq!(reached, (1..=chats).collect::<Vec<_>>(), "each chat once");
        // 20 a second, one at a time: 60 sends take 59 intervals of 50 ms at the least.
        let gaps = world.telegram.arrival_gaps();
        let span = gaps[gaps.len() - 1] - gaps[gaps.len() - chats as usize];
        assert!(
            span >= Duration::from_millis(2600),
            "paced: 60 sends in {span:?}"
        );
        assert!(world.app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn a_cancelled_broadcast_sends_nothing_more_and_says_how_far_it_came() {
    on_each_database(|db| async move {
        let chats = 20;
        let world = world_with_chats(db.url(), 5, chats).await;
        let (status, started) = broadcast(&world, ids(1..=chats)).await;
        assert_eq!(status, 202, "{started}");
        let path = format!(
            "/api/v1/bots/{}/broadcasts/{}/cancel",
            world.bot,
            started["id"].as_str().unwrap()
        );

        let (status, cancelled) = world.app.admin(Method::POST, &path, None).await;
        assert_eq!(status, 200, "{cancelled}");
        assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
        assert!(cancelled["cancelled_at"].is_string());
        // One going out when it came still goes, and is counted sent once it has; one waiting
        // for its turn reads its message again and does not. Once every delivery job has
        // ended, nothing more goes.
        let id = &started["id"];
        wait_for_empty_queue(&db).await;
        let sent = world.telegram.sent_after_settling().await;
        let last = settled(&world, id).await;
        let (reached, stopped) = (sales(&sent).len(), last["cancelled"].as_u64().unwrap());
        assert!(
            stopped > chats as u64 / 2,
            "5 a second: most were still queued or waiting for their turn: {last}"
        );
        assert_eq!(last["sent"], reached, "what it says went out did: {last}");
        assert_eq!(reached as u64 + stopped, chats as u64, "{last}");
        let (status, again) = world.app.admin(Method::POST, &path, None).await;
        assert_eq!(
            (status, &again["cancelled_at"]),
            (200, &last["cancelled_at"])
        );
        assert!(world.app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn a_broadcast_that_cannot_go_to_every_chat_is_refused_with_nothing_stored() {
    let db = database::testing::fresh_sqlite();
    let configure = |config: switchboard_e2e::TestConfig| {
        config.with("SWITCHBOARD__BROADCASTS__MAX_RECIPIENTS", 2)
    };
    let openai = FakeOpenAi::answering("Hi!").await;
    let world = TelegramWorld::start_with(db.url(), openai, configure, None).await;
    world.deliver(&updates::text(1, 1, 1, "hello")).await;
    world.deliver(&updates::text(2, 2, 1, "hello")).await;
    world.telegram.wait_for_sent(2, PATIENCE).await;
    let path = format!("/api/v1/bots/{}/broadcasts", world.bot);
    let to = |chats: Value| json!({"platform": "telegram", "chat_ids": chats, "text": SALE});
    let cases = [
        (to(json!(["1", "2", "3"])), "chat_ids"),
        (to(json!(["1", "9999"])), "chat_ids"),
        (to(json!([])), "chat_ids"),
        (to(json!(["1", ""])), "chat_ids"),
        (json!({"platform": "telegram", "text": SALE}), "chat_ids"),
        (
            json!({"platform": "telegram", "chat_ids": ["1"], "user_ids": ["1"], "text": SALE}),
            "user_ids",
        ),
        (
            json!({"platform": "telegram", "chat_ids": ["1"], "template": {"name": "sale", "language": "en"}}),
            "template",
        ),
        (json!({"platform": "telegram", "chat_ids": ["1"]}), "text"),
    ];
    world.app.assert_refusals(Method::POST, &path, &cases).await;
    let (_, never) = world
        .app
        .admin(Method::POST, &path, Some(to(json!(["1", "9999"]))))
        .await;
    let detail = never["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("chat 9999 has never written"), "{never}");
    let (_, too_many) = world
        .app
        .admin(Method::POST, &path, Some(to(json!(["1", "2", "3"]))))
        .await;
    let detail = too_many["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("at most 2"), "{too_many}");
    let unknown = json!({"platform": "telegram", "chat_ids": ["1"], "text": SALE, "pace": 1});
    let (status, problem) = world.app.admin(Method::POST, &path, Some(unknown)).await;
    assert_eq!(status, 400, "an unknown field: {problem}");

    let missing = format!("{path}/0193a000-0000-7000-8000-000000000000");
    let (status, problem) = world.app.admin(Method::GET, &missing, None).await;
    assert_eq!(status, 404, "{problem}");
    assert_eq!(world.messages().await.len(), 4, "nothing stored");
    assert_eq!(world.telegram.sent_after_settling().await.len(), 2);
    assert!(world.app.stop().await);
}
