//! Outbound pacing end to end, against a Telegram fake that refuses (429) any send beyond a
//! chat's or a bot's allowance: one chat's replies go out a second apart, and two replicas
//! share a bot's 30 a second through Redis.

use crate::{on_each_database, PATIENCE};
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::limited::LimitedPlatform;
use switchboard_e2e::{updates, TestApp, TestConfig};

/// The app on the limited fake, with the server's own pacing.
fn paced(db_url: &str, openai: &FakeOpenAi, telegram: &LimitedPlatform) -> TestConfig {
    TestConfig::with_urls(db_url, &openai.url(), &telegram.url()).paced()
}

#[tokio::test]
async fn one_chats_replies_go_out_in_its_turns_and_none_is_refused() {
    on_each_database(|db| async move {
        let (openai, telegram) = (
            FakeOpenAi::answering("ok").await,
            LimitedPlatform::telegram().await,
        );
        let app = TestApp::spawn(&paced(db.url(), &openai, &telegram)).await;
        let bot = app.telegram_bot(None).await;
        app.lift_rate_limits(&bot).await;
        for n in 1..=4 {
            app.deliver(&bot, &updates::text(n, 7, n, "quick")).await;
        }
        let tally = telegram.wait_for_sent(4, PATIENCE).await;
        assert_eq!((tally.sent, tally.refused), (4, 0), "{tally:?}");
        let spread = tally.last.unwrap() - tally.first.unwrap();
        assert!(spread.as_secs_f64() > 2.9, "a second apart: {spread:?}");
        assert!(app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn replicas_share_a_bots_allowance_through_redis() {
    let Some((db, redis)) = crate::webchat::postgres_and_redis().await else {
        return;
    };
    let (openai, telegram) = (
        FakeOpenAi::answering("ok").await,
        LimitedPlatform::telegram().await,
    );
    let prefix = format!("sb-test-{}", uuid::Uuid::new_v4().simple());
    let config = paced(db.url(), &openai, &telegram)
        .with("SWITCHBOARD__REDIS__URL", &redis)
        .with("SWITCHBOARD__REDIS__CHANNEL_PREFIX", &prefix);
    let (a, b) = (TestApp::spawn(&config).await, TestApp::spawn(&config).await);
    let bot = a.telegram_bot(None).await;
    // 150 chats at once: each replica alone would send 30 a second, 60 between them.
    const CHATS: i64 = 150;
    for chat in 1..=CHATS {
        let replica = if chat % 2 == 0 { &a } else { &b };
        replica
            .deliver(&bot, &updates::text(chat, 1_000 + chat, 1, "hi"))
            .await;
    }
    let tally = telegram.wait_for_sent(CHATS as u64, PATIENCE).await;
    assert_eq!(tally.sent, CHATS as u64, "{tally:?}");
    // Unshared, about half the sends would be refused; a stall of either process (a loaded
    // machine) may still bunch a few past the fake's small burst.
    assert!(tally.refused <= 3, "{tally:?}");
    assert!(tally.throughput() <= 31.0, "{tally:?}");
    assert!(a.stop().await);
    assert!(b.stop().await);
}
