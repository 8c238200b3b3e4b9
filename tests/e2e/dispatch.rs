//! The dispatcher end to end: a burst of chats with a slow model is answered all at once, and an idle process barely touches the database.

use crate::on_each_database;
use database::testing::TestDatabase;
use futures::future::join_all;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram};
use switchboard_e2e::proxy::{postgres_addr, TcpProxy};
use switchboard_e2e::{updates, TelegramWorld, TestApp, TestConfig};

/// How long the fake model takes to answer each request.
const MODEL_TAKES: Duration = Duration::from_secs(2);
const CHATS: i64 = 200;

#[tokio::test]
async fn two_hundred_chats_at_once_with_a_two_second_model_are_answered_together() {
    on_each_database(|db| async move {
        // Default worker settings: no `worker.concurrency` set.
        let world =
            TelegramWorld::start(db.url(), FakeOpenAi::slow("answer", MODEL_TAKES).await).await;

        let started = Instant::now();
        let updates: Vec<_> = (1..=CHATS)
            .map(|n| updates::text(n, 10_000 + n, 1, "hi"))
            .collect();
        join_all(updates.iter().map(|update| world.deliver(update))).await;
        let acknowledged = started.elapsed();
        let sent = world
            .telegram
            .wait_for_sent(CHATS as usize, Duration::from_secs(120))
            .await;
        let last = started.elapsed();

        let chats: HashSet<String> = sent.iter().map(|s| s.chat_id.to_string()).collect();
        assert_eq!((sent.len(), chats.len()), (200, 200), "one reply per chat");
        // One at a time per worker this took 100 s with four workers; all in flight at once it
        // is one model call plus the pipeline's own time. The bound leaves room for a debug
        // build on a busy machine; docs/performance.md has the release figure.
        assert!(
            last < Duration::from_secs(12),
            "the last of {CHATS} chats was answered after {last:?}"
        );
        eprintln!(
            "{CHATS} chats with a {MODEL_TAKES:?} model: all acknowledged after \
             {acknowledged:?}, the last answered after {last:?}"
        );
        world.app.stop().await;
    })
    .await;
}

/// A fresh PostgreSQL database behind a proxy that counts round trips and can be cut.
async fn proxied_postgres() -> Option<(TestDatabase, TcpProxy)> {
    let Some(db) = database::testing::fresh_postgres().await else {
        eprintln!("skipped: SWITCHBOARD_TEST_DATABASE_URL is not set");
        return None;
    };
    let proxy = TcpProxy::start(postgres_addr(db.url())).await;
    Some((db, proxy))
}

#[tokio::test]
async fn an_idle_process_makes_at_most_five_queries_a_second() {
    let Some((db, proxy)) = proxied_postgres().await else {
        return;
    };
    // Default settings, not the quick poll the other tests use.
    let world = TelegramWorld::start_with(
        &proxy.proxied(db.url()),
        FakeOpenAi::answering("unused").await,
        |config| config.with("SWITCHBOARD__WORKER__POLL_INTERVAL_MS", 1000),
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let before = proxy.round_trips();
    let window = Duration::from_secs(6);
    tokio::time::sleep(window).await;
    let idle = proxy.round_trips() - before;
    eprintln!("idle: {idle} round trips in {window:?}");
    assert!(
        idle <= 5 * window.as_secs() as usize,
        "{idle} round trips in {window:?} while idle"
    );
    assert!(idle > 0, "the count sees the dispatcher's idle poll");
    world.app.stop().await;
}

#[tokio::test]
async fn a_reply_costs_at_most_six_round_trips_to_the_database() {
    const WARM_UP: usize = 10;
    const REPLIES: usize = 20;
    let Some((db, proxy)) = proxied_postgres().await else {
        return;
    };
    let openai = FakeOpenAi::answering("fine, thanks").await;
    let telegram = FakeTelegram::start().await;
    // Webhooks go to a replica without a dispatcher, on its own connections; the replica that
    // answers them (woken by NOTIFY) talks to the database only through the counting proxy.
    let intake =
        TestConfig::new(db.url(), &openai, &telegram).with("SWITCHBOARD__WORKER__CONCURRENCY", 0);
    let intake = TestApp::spawn(&intake).await;
    let worker = TestConfig::new(&proxy.proxied(db.url()), &openai, &telegram)
        .with("SWITCHBOARD__WORKER__POLL_INTERVAL_MS", 60_000);
    let worker = TestApp::spawn(&worker).await;
    let bot = intake.telegram_bot(None).await;
    // Each in a chat of its own, one after the other, so that every reply pays its own claim.
    let answer = |n: usize| {
        let (intake, bot) = (&intake, &bot);
        async move {
            let n = n as i64;
            intake
                .deliver(bot, &updates::text(n, 30_000 + n, 1, "hi"))
                .await;
            let sent = usize::try_from(n).unwrap();
            intake
                .wait_for_status(bot, "sent", sent, Duration::from_secs(30))
                .await;
        }
    };
    // The worker's connections prepare their statements, and its binding cache fills.
    for n in 1..=WARM_UP {
        answer(n).await;
    }

    let (trips, pings) = (proxy.round_trips(), proxy.pings());
    for n in WARM_UP + 1..=WARM_UP + REPLIES {
        answer(n).await;
    }
    let per_reply = |count: usize| count as f64 / REPLIES as f64;
    let pinged = per_reply(proxy.pings() - pings);
    let statements = per_reply(proxy.round_trips() - trips) - pinged;
    eprintln!(
        "per reply: {statements:.2} statements, and {pinged:.2} pings of released connections"
    );
    // Claim; message, conversation and bot; history; reply stored as its delivery; sent and
    // done. A missed statement cache or a binding cache refresh may add one now and then.
    assert!(statements <= 6.0, "{statements:.2} statements per reply");
    assert!(
        statements >= 4.0,
        "the count sees the work: {statements:.2}"
    );
    // sqlx pings a connection when it goes back to the pool, after the caller has its answer:
    // one per statement at most. That ping comes late, so the last warm-up statement's may
    // fall inside the measured window: one ping more than statements is the boundary.
    let boundary = 1.0 / REPLIES as f64;
    assert!(
        pinged <= statements + boundary,
        "{pinged:.2} pings per reply"
    );
    assert_eq!(
        telegram
            .wait_for_sent(WARM_UP + REPLIES, Duration::from_secs(5))
            .await
            .len(),
        WARM_UP + REPLIES
    );
    worker.stop().await;
    intake.stop().await;
}

#[tokio::test]
async fn fifty_chats_of_twenty_messages_racing_are_each_answered_in_order() {
    const RACING: i64 = 50;
    const EACH: i64 = 20;
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::echoing().await).await;
        world.without_rate_limits().await;

        // Each chat writes its messages one after the other, as a platform delivers a chat's
        // updates; the chats race each other.
        let chat = |c: i64| {
            let (app, bot) = (&world.app, &world.bot);
            async move {
                for m in 0..EACH {
                    let update =
                        updates::text(c * 100 + m + 1, 20_000 + c, m + 1, &format!("c{c}m{m}"));
                    app.deliver(bot, &update).await;
                }
            }
        };
        join_all((0..RACING).map(chat)).await;
        let sent = world
            .telegram
            .wait_for_sent((RACING * EACH) as usize, Duration::from_secs(120))
            .await;

        for c in 0..RACING {
            let replies: Vec<&str> = sent
                .iter()
                .filter(|s| s.chat_id == serde_json::json!(20_000 + c))
                .map(|s| s.text.as_str())
                .collect();
            let expected: Vec<String> = (0..EACH).map(|m| format!("re: c{c}m{m}")).collect();
            assert_eq!(replies, expected, "chat {c} was answered out of order");
        }
        world.app.stop().await;
    })
    .await;
}

/// Waits a minute for `total` replies; past it, fails saying what the store holds, so that an
/// update never stored can be told from a job left waiting for a wake-up.
async fn all_answered(world: &TelegramWorld, db: &TestDatabase, total: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if world.telegram.send_attempts().await.len() >= total {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let store = database::connect(db.url()).await.unwrap();
    let rows = |sql: &'static str| {
        let store = &store;
        async move {
            let statement = Statement::from_string(DbBackend::Postgres, sql);
            let rows = store.query_all(statement).await.unwrap();
            rows.iter()
                .map(|row| row.try_get_by_index::<String>(0).unwrap())
                .collect::<Vec<_>>()
        }
    };
    let jobs = rows(
        "SELECT concat_ws(' ', id, lane, kind, state, attempts, run_at, locked_until, last_error) \
         FROM jobs ORDER BY id",
    )
    .await;
    let inbound = rows("SELECT COUNT(*)::text FROM messages WHERE direction = 'inbound'").await;
    let sent = world.telegram.send_attempts().await.len();
    panic!("{sent} of {total} replies within a minute; {inbound:?} inbound stored; jobs: {jobs:?}");
}

#[tokio::test]
async fn a_database_outage_under_load_loses_no_acknowledged_update() {
    let Some((db, proxy)) = proxied_postgres().await else {
        return;
    };
    // A slow safety poll: after the outage, wake-ups alone (the listener's reconnect, the
    // enqueues, a job's lease running out) must bring the dispatcher back.
    let slow_poll = |config: TestConfig| {
        config
            .with("SWITCHBOARD__WORKER__POLL_INTERVAL_MS", 60_000)
            .with("SWITCHBOARD__WORKER__LEASE_SECONDS", 3)
    };
    let world = TelegramWorld::start_with(
        &proxy.proxied(db.url()),
        FakeOpenAi::echoing().await,
        slow_poll,
        None,
    )
    .await;

    let total = 300_i64;
    let mut refused = Vec::new();
    for n in 1..=total {
        if n == 100 {
            proxy.cut();
        }
        if n == 200 {
            proxy.restore();
        }
        let update = updates::text(n, 30_000 + n % 30, n, &format!("u{n}"));
        let response = world
            .app
            .post_update(&world.bot, Some(switchboard_e2e::app::SECRET), &update)
            .await;
        match response.status().as_u16() {
            200 => {}
            503 => refused.push(update),
            other => panic!("update {n} answered {other}"),
        }
    }
    assert!(!refused.is_empty(), "the outage refused some updates");
    // The platform retries what was refused, as Telegram does.
    for update in &refused {
        switchboard_e2e::wait_until(|| async {
            let response = world
                .app
                .post_update(&world.bot, Some(switchboard_e2e::app::SECRET), update)
                .await;
            response.status().as_u16() == 200
        })
        .await;
    }
    all_answered(&world, &db, total as usize).await;
    let sent = world.telegram.sent_after_settling().await;
    let texts: HashSet<&str> = sent.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts.len(), total as usize, "every update answered");
    assert_eq!(sent.len(), total as usize, "none twice");
    world.app.stop().await;
}
