//! The Redis adapter against real Redis (`SWITCHBOARD_TEST_REDIS_URL`; with `CI=true` a missing
//! Redis fails): events cross between processes, never loop back, and readiness tells.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use application::ports::{EventPublisher, HealthCheck};
use domain::{BotId, ConversationId, DomainEvent};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_redis::RedisEvents;

/// The test Redis, or `None` to skip (only outside CI).
fn redis_url() -> Option<String> {
    match std::env::var("SWITCHBOARD_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("CI=true but SWITCHBOARD_TEST_REDIS_URL is not set")
        }
        _ => {
            eprintln!("SWITCHBOARD_TEST_REDIS_URL is not set: skipping");
            None
        }
    }
}

/// A channel prefix of this test alone.
fn prefix() -> String {
    format!("switchboard-test-{}", uuid::Uuid::new_v4())
}

fn ended() -> DomainEvent {
    DomainEvent::ConversationEnded {
        bot_id: BotId::new(),
        conversation_id: ConversationId::new(),
    }
}

type Seen = Arc<Mutex<Vec<DomainEvent>>>;

/// A process on `prefix` whose received events are collected.
async fn process(url: &str, prefix: &str) -> (RedisEvents, Seen) {
    let events = RedisEvents::new(url, prefix).unwrap();
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    events
        .listen(Arc::new(move |event| sink.lock().unwrap().push(event)))
        .await;
    (events, seen)
}

async fn eventually(seen: &Seen, count: usize) -> Vec<DomainEvent> {
    for _ in 0..100 {
        if seen.lock().unwrap().len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    seen.lock().unwrap().clone()
}

#[tokio::test]
async fn events_reach_the_other_process_in_order_and_not_their_publisher() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix();
    let (a, seen_by_a) = process(&url, &prefix).await;
    let (_b, seen_by_b) = process(&url, &prefix).await;
    let (_elsewhere, seen_elsewhere) = process(&url, &self::prefix()).await;
    let sent: Vec<DomainEvent> = (0..5).map(|_| ended()).collect();
    let publisher = a.publisher();
    for event in &sent {
        publisher.publish(event.clone());
    }
    assert_eq!(eventually(&seen_by_b, 5).await, sent);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(seen_by_a.lock().unwrap().is_empty(), "own events come back");
    assert!(
        seen_elsewhere.lock().unwrap().is_empty(),
        "another prefix hears nothing"
    );
    publisher.stop();
}

#[tokio::test]
async fn readiness_pings_redis() {
    let Some(url) = redis_url() else { return };
    let up = RedisEvents::new(&url, &prefix()).unwrap();
    assert_eq!(up.health().name(), "redis");
    assert_eq!(up.health().check().await, Ok(()));
    let down = RedisEvents::new("redis://127.0.0.1:1", &prefix()).unwrap();
    assert!(down.health().check().await.is_err());
}

#[tokio::test]
async fn a_malformed_url_is_refused_at_setup() {
    assert!(RedisEvents::new("not a url", "p").is_err());
}
