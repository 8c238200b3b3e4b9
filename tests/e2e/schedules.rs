//! Schedules end to end on a clock the test moves: a conversation idle past its bot's timeout ends once (announced once), messages past the bot's retention are deleted with their emptied conversation, and `GET /api/v1/schedules` tells each schedule's last and next run.

use crate::{on_each_database, PATIENCE};
use application::ports::Clock;
use chrono::DateTime;
use domain::DomainEvent;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{poll_until, updates, ShiftedClock, TelegramWorld};

async fn schedule(world: &TelegramWorld, name: &str) -> Value {
    let (status, list) = world
        .app
        .admin(Method::GET, "/api/v1/schedules", None)
        .await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    items.iter().find(|s| s["name"] == name).unwrap().clone()
}

/// Moves `clock` on by `by`, then waits until schedule `name` has finished a run that began
/// at that time or later, and returns it: a run already under way when the clock moved (begun
/// before it) does not count.
async fn advance_and_run(
    world: &TelegramWorld,
    clock: &ShiftedClock,
    by: chrono::Duration,
    name: &str,
) -> Value {
    clock.advance(by);
    // A second early, as the store keeps milliseconds; a run begun before the move began `by`
    // earlier still.
    let moved = clock.now() - chrono::Duration::seconds(1);
    poll_until(PATIENCE, "the schedule's next run", || async {
        let found = schedule(world, name).await;
        let began = found["last_run_at"]
            .as_str()
            .map(|at| DateTime::parse_from_rfc3339(at).expect("last_run_at is RFC 3339"));
        let done = !found["running"].as_bool().unwrap();
        (done && began.is_some_and(|began| began >= moved)).then_some(found)
    })
    .await
}

/// The bot's conversations, newest first.
async fn conversations(world: &TelegramWorld) -> Value {
    let path = format!("/api/v1/conversations?bot_id={}", world.bot);
    let (status, page) = world.app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{page}");
    page["items"].clone()
}

async fn set(world: &TelegramWorld, body: Value) {
    let path = format!("/api/v1/bots/{}", world.bot);
    let (status, bot) = world.app.admin(Method::PATCH, &path, Some(body)).await;
    assert_eq!(status, 200, "{bot}");
}

#[tokio::test]
async fn an_idle_conversation_ends_once_and_old_messages_are_purged_with_it() {
    on_each_database(|db| async move {
        let clock = Arc::new(ShiftedClock::default());
        let world = TelegramWorld::start_on(
            db.url(),
            FakeOpenAi::answering("Hello").await,
            |config| config,
            None,
            clock.clone(),
        )
        .await;
        let names: Vec<Value> = {
            let (_, list) = world
                .app
                .admin(Method::GET, "/api/v1/schedules", None)
                .await;
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["name"].clone())
                .collect()
        };
        assert_eq!(
            names,
            [
                json!("housekeeping"),
                json!("idle_conversations"),
                json!("retention")
            ]
        );
        set(&world, json!({"idle_timeout": 30, "retention_days": 2})).await;
        world.deliver(&updates::text(1, 90, 1, "hi")).await;
        world
            .app
            .wait_for_status(&world.bot, "sent", 1, PATIENCE)
            .await;
        let mut events = world.app.events();

        // Past the idle timeout: the conversation ends, once.
        let idle_timeout = chrono::Duration::minutes(31);
        let idle = advance_and_run(&world, &clock, idle_timeout, "idle_conversations").await;
        assert_eq!(idle["last_outcome"], "ended 1 idle conversations", "{idle}");
        assert!(idle["next_run_at"].is_string());
        let again = advance_and_run(&world, &clock, idle_timeout, "idle_conversations").await;
        assert_eq!(
            again["last_outcome"], "ended 0 idle conversations",
            "{again}"
        );
        let mut ended = 0;
        while let Ok(published) = events.try_recv() {
            ended += usize::from(matches!(
                published.event,
                DomainEvent::ConversationEnded { .. }
            ));
        }
        assert_eq!(ended, 1, "announced once");
        assert_eq!(conversations(&world).await[0]["status"], "ended");

        // Past the retention: its messages go, and the conversation they leave empty.
        let three_days = chrono::Duration::days(3);
        let retention = advance_and_run(&world, &clock, three_days, "retention").await;
        assert_eq!(
            retention["last_outcome"], "deleted 2 messages and 1 conversations",
            "{retention}"
        );
        assert!(world.messages().await.is_empty());
        assert_eq!(conversations(&world).await, json!([]));
    })
    .await;
}
