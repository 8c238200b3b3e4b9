//! Held connections against the real binary: slow partial webhook bodies time out and free their descriptors and memory, connections beyond the cap wait in the backlog, and the probes are never starved.

use crate::binary;
use futures::future::join_all;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use switchboard_e2e::app::SECRET;
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram};
use switchboard_e2e::{TestApp, TestConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connections that each announce a body and send only part of it.
const HELD: usize = 500;
const READ_TIMEOUT: Duration = Duration::from_millis(1500);

/// How the process stands: open descriptors and resident memory (KiB).
#[derive(Debug, Clone, Copy)]
struct Footprint {
    descriptors: usize,
    rss_kib: u64,
}

fn footprint(pid: u32) -> Footprint {
    let descriptors = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    Footprint {
        descriptors,
        rss_kib,
    }
}

/// The head of a webhook that announces `length` bytes of body, then `sent` of them.
fn partial_webhook(path: &str, length: usize, sent: usize, chunked: bool) -> Vec<u8> {
    let framing = if chunked {
        "Transfer-Encoding: chunked\r\n".to_owned()
    } else {
        format!("Content-Length: {length}\r\n")
    };
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n{framing}\r\n"
    )
    .into_bytes();
    if chunked {
        request.extend_from_slice(format!("{sent:x}\r\n").as_bytes());
    }
    request.extend(std::iter::repeat_n(b'{', sent));
    request
}

/// Opens a connection and sends `request`, leaving it open.
async fn hold(addr: &str, request: Vec<u8>) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&request).await.unwrap();
    stream
}

/// The status line the server answered on `stream` once it closed the connection, marked
/// `open` if it still held the connection after a while.
async fn answer(mut stream: TcpStream) -> String {
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes)).await;
    let text = String::from_utf8_lossy(&bytes);
    let status = text.lines().next().unwrap_or_default().to_owned();
    match read {
        Ok(_) => status,
        Err(_) => format!("open after {status}"),
    }
}

async fn ready_within(app: &TestApp, limit: Duration) -> bool {
    let client = reqwest::Client::builder().timeout(limit).build().unwrap();
    let response = client.get(app.url("/health/ready")).send().await;
    response.is_ok_and(|r| r.status() == 200)
}

/// What one burst of held connections did.
struct Burst {
    /// `kind: status line` and how many connections got it.
    answers: BTreeMap<String, usize>,
    during: Footprint,
    after: Footprint,
}

impl Burst {
    fn count(&self, status: &str) -> usize {
        self.answers
            .iter()
            .filter(|(line, _)| line.contains(&format!(": HTTP/1.1 {status}")))
            .map(|(_, n)| n)
            .sum()
    }
}

/// [`HELD`] connections at once: most to the bound bot (their secret passes, so their bodies are
/// read), a tenth of those chunked, a fifth to a bot that does not exist announcing 3 MB. Each
/// sends 60 kB of its body and stalls. Readiness must answer while they are held.
async fn burst(app: &TestApp, bot: &str, baseline: Footprint) -> Burst {
    let pid = app.pid().unwrap();
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::with_capacity(HELD);
    for n in 0..HELD {
        let (kind, path, length) = match (n % 5, n % 10 == 1) {
            (0, _) => (
                "stranger",
                format!("/webhooks/whatsapp/{}", uuid_of(n)),
                3_000_000,
            ),
            (_, true) => ("chunked", format!("/webhooks/telegram/{bot}"), 1_000_000),
            _ => ("bound", format!("/webhooks/telegram/{bot}"), 1_000_000),
        };
        let request = partial_webhook(&path, length, 60_000, kind == "chunked");
        held.push((kind, hold(&addr, request).await));
    }
    let during = footprint(pid);
    assert!(
        ready_within(app, Duration::from_secs(2)).await,
        "readiness answers while {HELD} bodies are held"
    );
    let statuses = join_all(
        held.into_iter()
            .map(|(kind, stream)| async move { format!("{kind}: {}", answer(stream).await) }),
    )
    .await;
    let mut answers = BTreeMap::new();
    for status in statuses {
        *answers.entry(status).or_default() += 1;
    }
    // The server closed every connection; let it finish releasing them.
    let settle = Instant::now();
    let mut after = footprint(pid);
    while after.descriptors > baseline.descriptors + 8 && settle.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = footprint(pid);
    }
    Burst {
        answers,
        during,
        after,
    }
}

#[tokio::test]
async fn slow_partial_bodies_time_out_and_neither_hold_descriptors_nor_memory_nor_starve_the_probes(
) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("slow.db").display());
    let openai = FakeOpenAi::echoing().await;
    let telegram = FakeTelegram::start().await;
    let config = TestConfig::new(&url, &openai, &telegram).with(
        "SWITCHBOARD__SERVER__BODY_READ_TIMEOUT_MS",
        READ_TIMEOUT.as_millis(),
    );
    let app = TestApp::spawn_process(binary(), &config);
    let bot = app.telegram_bot(None).await;
    assert!(ready_within(&app, Duration::from_secs(5)).await);
    let baseline = footprint(app.pid().unwrap());

    let first = burst(&app, &bot, baseline).await;
    let second = burst(&app, &bot, baseline).await;
    for (n, burst) in [&first, &second].into_iter().enumerate() {
        eprintln!(
            "burst {n}: baseline {baseline:?}, while held {:?}, after {:?}: {:?}",
            burst.during, burst.after, burst.answers
        );
        let answers = &burst.answers;
        assert_eq!(
            burst.count("404"),
            HELD / 5,
            "strangers refused unread: {answers:?}"
        );
        assert_eq!(
            burst.count("408") + burst.count("503"),
            HELD - HELD / 5,
            "every slow body timed out or found no slot: {answers:?}"
        );
        assert!(burst.count("408") > 0, "{answers:?}");
        assert!(
            burst.after.descriptors <= baseline.descriptors + 8,
            "descriptors are released: {baseline:?} -> {:?}",
            burst.after
        );
    }
    // glibc's allocator keeps what the first burst freed (about 55 MB here; mimalloc kept as
    // much) for reuse: a second burst must reuse it rather than add to it.
    let grown_kib = |burst: &Burst| burst.after.rss_kib.saturating_sub(baseline.rss_kib);
    assert!(
        grown_kib(&first) <= 96 * 1024,
        "{baseline:?} -> {:?}",
        first.after
    );
    // Kept bodies would add their 30 MB again.
    assert!(
        second.after.rss_kib <= first.after.rss_kib + 12 * 1024,
        "a second burst holds no more: {:?} -> {:?}",
        first.after,
        second.after
    );
    assert!(app.stop().await);
}

/// A bot id that names no bot.
fn uuid_of(n: usize) -> String {
    format!("00000000-0000-7000-8000-{n:012}")
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_in_the_backlog_and_are_served_after() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cap.db").display());
    let openai = FakeOpenAi::echoing().await;
    let telegram = FakeTelegram::start().await;
    let config =
        TestConfig::new(&url, &openai, &telegram).with("SWITCHBOARD__SERVER__MAX_CONNECTIONS", 4);
    let app = TestApp::spawn_process(binary(), &config);
    assert!(ready_within(&app, Duration::from_secs(5)).await);
    let pid = app.pid().unwrap();
    let baseline = footprint(pid);
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = footprint(pid);
    // Four across the workers (more only if a worker's share rounds up).
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let cap = 4_usize.div_ceil(workers) * workers;
    assert!(
        held.descriptors <= baseline.descriptors + cap,
        "at most {cap} connections accepted: {baseline:?} -> {held:?}"
    );
    drop(idle);
    assert!(
        ready_within(&app, Duration::from_secs(5)).await,
        "served once the held connections went"
    );
    assert!(app.stop().await);
}
