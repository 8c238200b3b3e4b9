//! Load generator: distinct Telegram updates against a `switchboard serve` process and fakes.
//!
//! ```text
//! cargo build --release -p switchboard -p switchboard-e2e --bins
//! SWITCHBOARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!   target/release/loadgen --server target/release/switchboard --updates 20000 --concurrency 64
//! # 200 chats writing at once to a model that takes 2 s
//! target/release/loadgen --chats 200 --updates 200 --concurrency 200 --model-latency-ms 2000
//! # the web tier alone: acknowledgements only, no jobs run
//! target/release/loadgen --mode intake --updates 20000
//! # acknowledgements while a bot's retention purges 100,000 old messages
//! target/release/loadgen --updates 4000 --purge 100000
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool: failing loudly is its job

mod idle;
mod post;
mod purge;
mod report;

use clap::{Parser, ValueEnum};
use database::testing::{fresh_postgres, fresh_sqlite, TestDatabase};
use report::{Figures, Idle, Memory, Replies};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use switchboard_e2e::fakes::{FakeOpenAi, TimingTelegram};
use switchboard_e2e::{TestApp, TestConfig};

/// How long the server may take to answer `/health/ready` with 200 after being spawned.
const STARTUP_LIMIT: Duration = Duration::from_secs(60);
/// How long to let a SQLite-backed server settle after binding before reading its idle memory.
const SQLITE_SETTLE: Duration = Duration::from_secs(2);

/// What the server runs and what the run waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunMode {
    /// Serve and run jobs; wait for every reply.
    Full,
    /// A web tier only (`worker.concurrency = 0`): acknowledgements, no replies.
    Intake,
}

impl RunMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Intake => "intake",
        }
    }
}

#[derive(Debug, Parser)]
#[command(about = "Posts distinct Telegram updates to a switchboard process and measures it")]
pub struct Args {
    /// The switchboard binary to start (a release build).
    #[arg(long, default_value = "target/release/switchboard")]
    server: PathBuf,
    /// `postgres` (a fresh database on SWITCHBOARD_TEST_DATABASE_URL's server) or `sqlite`.
    #[arg(long, default_value = "postgres")]
    database: String,
    /// `full` waits for every reply; `intake` runs the server as a web tier and measures
    /// acknowledgements only.
    #[arg(long, value_enum, default_value_t = RunMode::Full)]
    mode: RunMode,
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
    /// The server's `worker.concurrency`; its own default when not given (full mode only).
    #[arg(long)]
    workers: Option<usize>,
    /// The server's `database.max_connections`; its own default when not given.
    #[arg(long)]
    db_pool: Option<u32>,
    /// The server's `worker.poll_interval_ms`; its own default when not given.
    #[arg(long)]
    poll_interval_ms: Option<u64>,
    /// How long the fake model takes to answer each request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    model_latency_ms: u64,
    /// Over how many seconds of idle to count the database's transactions (PostgreSQL).
    #[arg(long, default_value_t = 5)]
    idle_seconds: u64,
    /// How long to wait for every reply after the last update was acknowledged.
    #[arg(long, default_value_t = 300)]
    timeout_seconds: u64,
    /// Old messages of another bot that its retention purges while the updates are posted
    /// (0: none), to compare the acknowledgements with a run without.
    #[arg(long, default_value_t = 0)]
    purge: u64,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    assert!(
        args.mode == RunMode::Full || args.workers.is_none(),
        "--workers has no meaning in intake mode, which runs no jobs"
    );
    let db = database(&args.database).await;
    let latency = Duration::from_millis(args.model_latency_ms);
    let openai = FakeOpenAi::echoing_after(latency).await;
    let telegram = TimingTelegram::start().await;
    let config = server_config(&args, db.url(), &openai.url(), &telegram.url());
    let (app, startup) = start(&args.server, &config).await;
    let pid = app.pid().expect("a child process");
    let bot = app.telegram_bot(None).await;
    let idle = measure_idle(&db, pid, startup, &args).await;

    let purge = match args.purge {
        0 => None,
        count => Some(purge::arm(&app, &db, count).await),
    };
    eprintln!(
        "posting {} updates, {} at a time…",
        args.updates, args.concurrency
    );
    let acks = post::post_all(&app, &bot, &args).await;
    if let Some(purge) = purge {
        purge.report().await;
    }
    let loaded = Memory::of(pid);
    let replies = match args.mode {
        RunMode::Full => Some(await_replies(&telegram, pid, &args).await),
        RunMode::Intake => None,
    };

    let figures = Figures::new(idle, &acks, loaded, replies.as_ref());
    println!("{}", figures.markdown(&args));
    app.kill().await;
    drop(db);
    if !figures.complete() {
        eprintln!("not every update was answered exactly once");
        std::process::exit(2);
    }
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

/// The server's settings: the test fakes, and the server's own defaults for everything this run
/// does not set (the e2e tests' fast worker poll and retries are left out).
fn server_config(args: &Args, db_url: &str, openai_url: &str, telegram_url: &str) -> TestConfig {
    let mut config = TestConfig::with_urls(db_url, openai_url, telegram_url)
        .without("SWITCHBOARD__WORKER__POLL_INTERVAL_MS")
        .without("SWITCHBOARD__WORKER__RETRY_BASE_MS")
        .without("SWITCHBOARD__WORKER__RETRY_CAP_SECONDS");
    let workers = match args.mode {
        RunMode::Full => args.workers,
        RunMode::Intake => Some(0),
    };
    if let Some(workers) = workers {
        config = config.with("SWITCHBOARD__WORKER__CONCURRENCY", workers);
    }
    if let Some(pool) = args.db_pool {
        config = config.with("SWITCHBOARD__DATABASE__MAX_CONNECTIONS", pool);
    }
    if let Some(poll) = args.poll_interval_ms {
        config = config.with("SWITCHBOARD__WORKER__POLL_INTERVAL_MS", poll);
    }
    // Pacing is off (this measures the pipeline, not Telegram's limits), except for binaries
    // older than it, which refuse its settings.
    if !knows_pacing(&args.server) {
        config = config.paced();
    }
    config
}

/// Whether `binary` has the outbound pacing settings.
fn knows_pacing(binary: &Path) -> bool {
    let shown = std::process::Command::new(binary)
        .args(["config", "show"])
        .output();
    shown.is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("[pacing]"))
}

/// Spawns the server; returns it and how long it took from the spawn to a ready answer.
async fn start(binary: &Path, config: &TestConfig) -> (TestApp, Duration) {
    let spawned = Instant::now();
    let app = TestApp::spawn_process(binary, config);
    let ready = app.url("/health/ready");
    loop {
        let answer = app.client.get(&ready).send().await;
        if answer.is_ok_and(|a| a.status().as_u16() == 200) {
            return (app, spawned.elapsed());
        }
        assert!(
            spawned.elapsed() < STARTUP_LIMIT,
            "the server was not ready within {STARTUP_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Lets the bound server settle, then measures what it does with nothing to do.
async fn measure_idle(db: &TestDatabase, pid: u32, startup: Duration, args: &Args) -> Idle {
    let postgres = db.backend() == "postgres";
    let settle = if postgres {
        idle::POSTGRES_SETTLE
    } else {
        SQLITE_SETTLE
    };
    eprintln!(
        "bot bound; measuring idle for {settle:?} + {} s…",
        args.idle_seconds
    );
    tokio::time::sleep(settle).await;
    let window = Duration::from_secs(args.idle_seconds);
    let transactions_per_second = idle::transactions_per_second(db, window).await;
    Idle {
        startup,
        transactions_per_second,
        memory: Memory::of(pid),
    }
}

async fn await_replies(telegram: &TimingTelegram, pid: u32, args: &Args) -> Replies {
    let timeout = Duration::from_secs(args.timeout_seconds);
    let (first_arrivals, sends) = telegram.wait_for_distinct(args.updates, timeout).await;
    Replies {
        first_arrivals,
        sends,
        memory: Memory::of(pid),
    }
}
