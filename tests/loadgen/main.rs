//! Load generator: distinct Telegram updates against a `switchboard serve` process and fast fakes.
//!
//! ```text
//! cargo build --release -p switchboard -p switchboard-e2e
//! SWITCHBOARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!   target/release/loadgen --server target/release/switchboard --updates 20000 --concurrency 64
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool: failing loudly is its job

mod report;

use clap::Parser;
use database::testing::{fresh_postgres, fresh_sqlite, TestDatabase};
use report::{Figures, Memory};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_e2e::app::SECRET;
use switchboard_e2e::fakes::{FakeOpenAi, TimingTelegram};
use switchboard_e2e::{updates, TestApp, TestConfig};

#[derive(Debug, Parser)]
#[command(about = "Posts distinct Telegram updates to a switchboard process and measures it")]
pub struct Args {
    /// The switchboard binary to start (a release build).
    #[arg(long, default_value = "target/release/switchboard")]
    server: PathBuf,
    /// `postgres` (a fresh database on SWITCHBOARD_TEST_DATABASE_URL's server) or `sqlite`.
    #[arg(long, default_value = "postgres")]
    database: String,
    /// How many updates to post.
    #[arg(long, default_value_t = 20_000)]
    updates: usize,
    /// How many requests are in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// How many distinct chats the updates come from.
    #[arg(long, default_value_t = 1_000)]
    chats: usize,
    /// Updates per second, spread evenly; 0 posts as fast as the server acknowledges.
    #[arg(long, default_value_t = 0)]
    rate: u32,
    /// The server's `worker.concurrency`.
    #[arg(long, default_value_t = 16)]
    workers: usize,
    /// How long to wait for every reply after the last update was acknowledged.
    #[arg(long, default_value_t = 300)]
    timeout_seconds: u64,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let db = database(&args.database).await;
    let openai = FakeOpenAi::echoing_unrecorded().await;
    let telegram = TimingTelegram::start().await;
    let config = TestConfig::with_urls(db.url(), &openai.url(), &telegram.url())
        .with("SWITCHBOARD__WORKER__CONCURRENCY", args.workers)
        .with("SWITCHBOARD__WORKER__POLL_INTERVAL_MS", 200);
    let app = TestApp::spawn_process(&args.server, &config);
    let pid = app.pid().expect("a child process");
    let bot = app.telegram_bot(None).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = Memory::of(pid);

    eprintln!(
        "posting {} updates, {} at a time…",
        args.updates, args.concurrency
    );
    let acks = post_all(&app, &bot, &args).await;
    let loaded = Memory::of(pid);
    let timeout = Duration::from_secs(args.timeout_seconds);
    let (replies, sends) = telegram.wait_for_distinct(args.updates, timeout).await;
    let after = Memory::of(pid);

    let figures = Figures::new(&acks, &replies, sends, [idle, loaded, after]);
    println!("{}", figures.markdown(&args));
    app.kill().await;
}

async fn database(kind: &str) -> TestDatabase {
    match kind {
        "sqlite" => fresh_sqlite(),
        "postgres" => fresh_postgres()
            .await
            .expect("set SWITCHBOARD_TEST_DATABASE_URL to a PostgreSQL server"),
        other => panic!("unknown database {other:?}: use postgres or sqlite"),
    }
}

/// When each update was posted and how long its acknowledgement took, indexed by update.
pub struct Acks {
    pub posted: Vec<Instant>,
    pub latency: Vec<Duration>,
    pub elapsed: Duration,
}

/// Posts every update from `concurrency` tasks; panics on any answer but 200.
async fn post_all(app: &TestApp, bot: &str, args: &Args) -> Acks {
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
