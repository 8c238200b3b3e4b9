//! Pacing benchmark: replies to many chats of several bots, against a fake platform that
//! refuses (429) every send beyond Telegram's or WhatsApp's published limits; reports the
//! refusals per 10,000 sends and the throughput against the limits' ceiling.
//!
//! ```text
//! cargo build --release -p switchboard -p switchboard-e2e --bins
//! SWITCHBOARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!   target/release/pacebench --server target/release/switchboard --platform telegram
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool: failing loudly is its job

use clap::{Parser, ValueEnum};
use database::testing::{fresh_postgres, fresh_sqlite, TestDatabase};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::limited::{LimitedPlatform, Limits};
use switchboard_e2e::{poll_until, updates, TestApp, TestConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Platform {
    Telegram,
    Whatsapp,
}

#[derive(Debug, Parser)]
#[command(about = "Replies to many chats against fakes enforcing a platform's send limits")]
struct Args {
    /// The switchboard binary to start (a release build).
    #[arg(long, default_value = "target/release/switchboard")]
    server: PathBuf,
    /// `postgres` (a fresh database on SWITCHBOARD_TEST_DATABASE_URL's server) or `sqlite`.
    #[arg(long, default_value = "postgres")]
    database: String,
    #[arg(long, value_enum, default_value_t = Platform::Telegram)]
    platform: Platform,
    /// How many replies in all (one per update).
    #[arg(long, default_value_t = 10_000)]
    replies: usize,
    #[arg(long, default_value_t = 500)]
    chats: usize,
    #[arg(long, default_value_t = 5)]
    bots: usize,
    /// How many updates are posted at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[arg(long, default_value_t = 900)]
    timeout_seconds: u64,
}

const APP_SECRET: &str = "0a9e5ec7e70000000000000000000001";

impl Platform {
    async fn fake(self) -> LimitedPlatform {
        match self {
            Self::Telegram => LimitedPlatform::telegram().await,
            Self::Whatsapp => LimitedPlatform::whatsapp().await,
        }
    }

    fn limits(self) -> Limits {
        match self {
            Self::Telegram => Limits::TELEGRAM,
            Self::Whatsapp => Limits::WHATSAPP,
        }
    }

    /// Bot `n`'s credentials: its own token (Telegram) or business number (WhatsApp).
    fn credentials(self, n: usize) -> (&'static str, Value) {
        match self {
            Self::Telegram => (
                "telegram",
                json!({"token": format!("{}:TEST-token-DEF1234ghIkl-zyx57W2v1u", 100_000 + n),
                       "secret_token": switchboard_e2e::app::SECRET}),
            ),
            Self::Whatsapp => (
                "whatsapp",
                json!({"phone_number_id": number(n), "access_token": "EAAG-bench-token",
                       "app_secret": APP_SECRET, "verify_token": "bench"}),
            ),
        }
    }
}

fn number(n: usize) -> String {
    (106_540_352_242_900 + n).to_string()
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let db = database(&args.database).await;
    let openai = FakeOpenAi::echoing_after(Duration::ZERO).await;
    let platform = args.platform.fake().await;
    let config = TestConfig::with_urls(db.url(), &openai.url(), &platform.url())
        .paced()
        .without("SWITCHBOARD__WORKER__POLL_INTERVAL_MS")
        .without("SWITCHBOARD__WORKER__RETRY_BASE_MS")
        .without("SWITCHBOARD__WORKER__RETRY_CAP_SECONDS")
        .with(
            "SWITCHBOARD__META__GRAPH_URL",
            format!("{}/v21.0", platform.url()),
        );
    let app = TestApp::spawn_process(&args.server, &config);
    let ready = app.url("/health/ready");
    poll_until(Duration::from_secs(60), "the server ready", || async {
        let answer = app.client.get(&ready).send().await;
        answer
            .is_ok_and(|a| a.status().as_u16() == 200)
            .then_some(())
    })
    .await;
    let mut bots = Vec::new();
    for n in 0..args.bots {
        bots.push(bind(&app, args.platform, n).await);
    }
    eprintln!(
        "posting {} updates to {} chats of {} bots…",
        args.replies, args.chats, args.bots
    );
    let started = Instant::now();
    post_all(&app, &bots, &args).await;
    let posted = started.elapsed();
    let timeout = Duration::from_secs(args.timeout_seconds);
    let tally = platform.wait_for_sent(args.replies as u64, timeout).await;
    let ceiling = ceiling(args.platform.limits(), &args);
    let attempts = tally.sent + tally.refused;
    println!(
        "| {:?} | {} bots, {} chats | {} sent | {} refused ({:.2} per 10,000 sends) | {:.1}/s | ceiling {:.1}/s | {:.3} of it | posted in {:.1} s |",
        args.platform,
        args.bots,
        args.chats,
        tally.sent,
        tally.refused,
        tally.refused as f64 * 10_000.0 / attempts.max(1) as f64,
        tally.throughput(),
        ceiling,
        tally.throughput() / ceiling,
        posted.as_secs_f64(),
    );
    app.kill().await;
    drop(db);
    if tally.sent < args.replies as u64 {
        eprintln!("not every reply was sent");
        std::process::exit(2);
    }
}

async fn database(kind: &str) -> TestDatabase {
    match kind {
        "sqlite" => fresh_sqlite(),
        _ => fresh_postgres()
            .await
            .expect("SWITCHBOARD_TEST_DATABASE_URL names a PostgreSQL server"),
    }
}

/// The most sends a second the limits allow these chats and bots: each bot's token, or each
/// chat's allowance, whichever binds first.
fn ceiling(limits: Limits, args: &Args) -> f64 {
    let tokens = limits.per_token.per_second * args.bots as f64;
    let chats = limits.per_chat.per_second * args.chats as f64;
    tokens.min(chats)
}

/// A bot bound to the platform as bot `n`, its per-user rate limit lifted (a chat here writes
/// faster than a person).
async fn bind(app: &TestApp, platform: Platform, n: usize) -> String {
    let bot = app.create_bot(&format!("bench {n}"), None).await;
    let (name, credentials) = platform.credentials(n);
    let path = format!("/api/v1/bots/{bot}/platforms/{name}");
    let (status, answer) = app
        .admin(reqwest::Method::PUT, &path, Some(credentials))
        .await;
    assert_eq!(status, 200, "bind: {answer}");
    app.lift_rate_limits(&bot).await;
    bot
}

/// Posts update `i` of chat `i % chats`, to the bot that chat belongs to.
async fn post_all(app: &TestApp, bots: &[String], args: &Args) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (client, next, bots) = (app.client.clone(), next.clone(), bots.to_vec());
        let (total, chats, platform, base) = (args.replies, args.chats, args.platform, app.url(""));
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return;
                }
                let chat = i % chats;
                let bot = chat % bots.len();
                let request = match platform {
                    Platform::Telegram => {
                        let update = updates::text(
                            i as i64 + 1,
                            chat as i64 + 1,
                            (i / chats) as i64 + 1,
                            &format!("u{i}"),
                        );
                        client
                            .post(format!("{base}/webhooks/telegram/{}", bots[bot]))
                            .header(
                                "X-Telegram-Bot-Api-Secret-Token",
                                switchboard_e2e::app::SECRET,
                            )
                            .json(&update)
                    }
                    Platform::Whatsapp => {
                        let body = whatsapp_message(bot, chat, i);
                        client
                            .post(format!("{base}/webhooks/whatsapp/{}", bots[bot]))
                            .header("content-type", "application/json")
                            .header("x-hub-signature-256", signature(&body))
                            .body(body)
                    }
                };
                let answer = request.send().await.expect("the webhook answers");
                assert_eq!(answer.status().as_u16(), 200, "update {i} was refused");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a posting task");
    }
}

/// A text from user `chat` to bot `bot`'s number, as the Cloud API notifies it.
fn whatsapp_message(bot: usize, chat: usize, i: usize) -> Vec<u8> {
    let user = (16_315_550_000u64 + chat as u64).to_string();
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": number(bot)},
            "contacts": [{"profile": {"name": "Bench"}, "wa_id": user}],
            "messages": [{"from": user, "id": format!("wamid.in.{i}"), "timestamp": "1726162852",
                          "text": {"body": format!("u{i}")}, "type": "text"}]
        },
        "field": "messages"
    }]}]})
    .to_string()
    .into_bytes()
}

fn signature(body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
