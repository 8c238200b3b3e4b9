//! The Redis adapter against real Redis (`SWITCHBOARD_TEST_REDIS_URL`; with `CI=true` a missing
//! Redis fails): events cross between processes, never loop back, rate limits are shared, and
//! readiness tells.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use application::ports::{Admission, EventRelay, HealthCheck, Limit, Rate, RateLimiter};
use domain::{BotId, ConversationId, DomainEvent, EventId, PublishedEvent};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_redis::{RedisEvents, RedisRateLimiter};

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

fn ended() -> PublishedEvent {
    let id = EventId::new();
    PublishedEvent {
        id,
        at: id.created_at().unwrap(),
        event: DomainEvent::ConversationEnded {
            bot_id: BotId::new(),
            conversation_id: ConversationId::new(),
        },
    }
}

type Seen = Arc<Mutex<Vec<PublishedEvent>>>;

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

async fn eventually(seen: &Seen, count: usize) -> Vec<PublishedEvent> {
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
    let sent: Vec<PublishedEvent> = (0..5).map(|_| ended()).collect();
    let publisher = a.publisher();
    for event in &sent {
        publisher.relay(event);
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

fn limit(key: &str, per_minute: u32, burst: u32) -> Limit {
    Limit {
        key: key.into(),
        rate: Rate::per_minute(per_minute, burst).unwrap(),
    }
}

/// How many of `attempts` acquisitions, alternating between the limiters, were allowed.
async fn allowed(limiters: &[&RedisRateLimiter], limits: &[Limit], attempts: usize) -> usize {
    let mut allowed = 0;
    for n in 0..attempts {
        if limiters[n % limiters.len()].acquire(limits).await == Admission::Allowed {
            allowed += 1;
        }
    }
    allowed
}

#[tokio::test]
async fn two_replicas_on_one_prefix_share_an_allowance() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix();
    let a = RedisRateLimiter::new(&url, &prefix).unwrap();
    let b = RedisRateLimiter::new(&url, &prefix).unwrap();
    let visitor = [limit("visitor", 6, 4)];
    assert_eq!(
        allowed(&[&a, &b], &visitor, 10).await,
        4,
        "the burst, once between both"
    );
    let Admission::Limited { retry_after } = b.acquire(&visitor).await else {
        panic!("the allowance is spent");
    };
    assert!(
        retry_after > Duration::from_secs(9) && retry_after <= Duration::from_secs(10),
        "one unit every 10 s: {retry_after:?}"
    );
    let elsewhere = RedisRateLimiter::new(&url, &self::prefix()).unwrap();
    assert_eq!(
        elsewhere.acquire(&visitor).await,
        Admission::Allowed,
        "another prefix"
    );
    assert_eq!(
        a.acquire(&[limit("other", 6, 4)]).await,
        Admission::Allowed,
        "another key"
    );
}

#[tokio::test]
async fn units_are_taken_from_every_key_or_from_none_and_the_keys_expire() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix();
    let limiter = RedisRateLimiter::new(&url, &prefix).unwrap();
    let (visitor, address) = (limit("visitor", 60, 2), limit("address", 60, 3));
    let both = [visitor.clone(), address.clone()];
    assert_eq!(allowed(&[&limiter], &both, 3).await, 2);
    // The third attempt, refused by the visitor's allowance, took nothing from the address's.
    assert_eq!(allowed(&[&limiter], &[address], 2).await, 1);

    let client = deadpool_redis::redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = deadpool_redis::redis::cmd("PTTL")
        .arg(format!("{prefix}:rate:visitor"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        (1..=2000).contains(&ttl),
        "the key lives until its allowance is whole again: {ttl} ms"
    );
}

#[tokio::test]
async fn replicas_reserve_turns_of_one_allowance_in_order() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix();
    let a = RedisRateLimiter::new(&url, &prefix).unwrap();
    let b = RedisRateLimiter::new(&url, &prefix).unwrap();
    // One a second: each reservation comes a second after the one before, whoever asks.
    let token = [limit("token", 60, 1)];
    let mut waits = Vec::new();
    for limiter in [&a, &b, &a, &b] {
        let reserved = limiter.reserve(&token, Duration::ZERO, Duration::MAX).await;
        waits.push(reserved.unwrap());
    }
    for (turn, wait) in waits.iter().enumerate() {
        let expected = Duration::from_secs(turn as u64);
        assert!(
            *wait <= expected && expected - *wait < Duration::from_millis(300),
            "turn {turn}: {waits:?}"
        );
    }
    let soon = Duration::from_secs(2);
    let too_far = a.reserve(&token, Duration::ZERO, soon).await;
    assert!(
        too_far.is_err_and(|wait| wait > soon),
        "{too_far:?}: nothing taken"
    );
    let chat = [limit("chat", 60, 1)];
    let pushed = b
        .reserve(&chat, Duration::from_secs(5), Duration::MAX)
        .await;
    assert!(
        pushed.unwrap() >= Duration::from_secs(5),
        "a platform's wait"
    );
    assert!(
        matches!(a.acquire(&token).await, Admission::Limited { .. }),
        "a reserved allowance is spent for acquire too"
    );
}

#[tokio::test]
async fn while_redis_is_away_the_process_keeps_the_limits() {
    let away = RedisRateLimiter::new("redis://127.0.0.1:1", &prefix()).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(allowed(&[&away], &[limit("k", 6, 3)], 10).await, 3);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "one wait for Redis, then the process answers alone: {:?}",
        started.elapsed()
    );
}
