//! Schedules end to end on a clock the test moves: a conversation idle past its bot's timeout ends once (announced once), messages past the bot's retention are deleted with their emptied conversation, and `GET /api/v1/schedules` tells each schedule's last and next run.

use crate::{on_each_database, PATIENCE};
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

/// Waits until schedule `name` has run since `since` (its last run's time), and returns it.
async fn ran_since(world: &TelegramWorld, name: &str, since: &Value) -> Value {
    poll_until(PATIENCE, "the schedule's next run", || async {
        let found = schedule(world, name).await;
        (found["last_run_at"] != *since && !found["running"].as_bool().unwrap()).then_some(found)
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
        let idle = schedule(&world, "idle_conversations").await;
        clock.advance(chrono::Duration::minutes(31));
        let idle = ran_since(&world, "idle_conversations", &idle["last_run_at"]).await;
        assert_eq!(idle["last_outcome"], "ended 1 idle conversations", "{idle}");
        assert!(idle["next_run_at"].is_string());
        clock.advance(chrono::Duration::minutes(31));
        let again = ran_since(&world, "idle_conversations", &idle["last_run_at"]).await;
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
        let retention = schedule(&world, "retention").await;
        clock.advance(chrono::Duration::days(3));
        let retention = ran_since(&world, "retention", &retention["last_run_at"]).await;
        assert_eq!(
            retention["last_outcome"], "deleted 2 messages and 1 conversations",
            "{retention}"
        );
        assert!(world.messages().await.is_empty());
        assert_eq!(conversations(&world).await, json!([]));
    })
    .await;
}
