//! Posting the load: distinct Telegram text updates from many client tasks, each ack timed.

use crate::Args;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_e2e::app::SECRET;
use switchboard_e2e::{updates, TestApp};

/// When each update was posted and how long its acknowledgement took, indexed by update.
pub struct Acks {
    pub posted: Vec<Instant>,
    pub latency: Vec<Duration>,
    pub elapsed: Duration,
}

/// Posts every update from `concurrency` tasks; panics on any answer but 200.
pub async fn post_all(app: &TestApp, bot: &str, args: &Args) -> Acks {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (client, next) = (app.client.clone(), next.clone());
        let url = app.url(&format!("/webhooks/telegram/{bot}"));
        let (total, chats, rate) = (args.updates, args.chats, args.rate);
        tasks.spawn(async move {
            let mut timings = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return timings;
                }
                if rate > 0 {
                    let due = started + Duration::from_secs_f64(i as f64 / f64::from(rate));
                    tokio::time::sleep_until(due.into()).await;
                }
                let (at, took) = post_one(&client, &url, i, chats).await;
                timings.push((i, at, took));
            }
        });
    }
    let mut acks = Acks {
        posted: vec![started; args.updates],
        latency: vec![Duration::ZERO; args.updates],
        elapsed: Duration::ZERO,
    };
    while let Some(timings) = tasks.join_next().await {
        for (i, at, took) in timings.expect("a posting task") {
            acks.posted[i] = at;
            acks.latency[i] = took;
        }
    }
    acks.elapsed = started.elapsed();
    acks
}

/// Posts update `i` (chat `i % chats`, text `u<i>`); returns when it was sent and how long it took.
async fn post_one(
    client: &reqwest::Client,
    url: &str,
    i: usize,
    chats: usize,
) -> (Instant, Duration) {
    let chat = (i % chats) as i64 + 1;
    let update = updates::text(i as i64 + 1, chat, (i / chats) as i64 + 1, &format!("u{i}"));
    let at = Instant::now();
    let response = client
        .post(url)
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .json(&update)
        .send()
        .await
        .expect("the webhook answers");
    let took = at.elapsed();
    assert_eq!(response.status().as_u16(), 200, "update {i} was refused");
    (at, took)
}
