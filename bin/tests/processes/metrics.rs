//! `/metrics` of the real binary: counters moved by webhooks, a reply, a refused signature and a platform 429, read by a real Prometheus; no secret in a scrape; `metrics.listen` and `metrics.enabled`.

use crate::binary;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use switchboard_e2e::app::{ADMIN_KEY, BOT_TOKEN, SECRET};
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram};
use switchboard_e2e::wait::poll_until;
use switchboard_e2e::{updates, TestApp, TestConfig, PATIENCE};

/// A scrape's value of one series, written exactly as exposed (`name{labels}`).
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

async fn scrape(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.expect("a scrape");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// The tool on PATH, or `None`; on CI (`CI=true`) a missing tool fails the test.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is not installed (CI installs Debian's prometheus package)"
        );
        eprintln!("skipped the {name} part: not installed");
    }
    found
}

const STORED: &str = r#"switchboard_webhooks_total{platform="telegram",outcome="stored"}"#;
const REFUSED: &str = r#"switchboard_webhooks_total{platform="telegram",outcome="refused"}"#;
/// The reply job's send met the 429: it is retried, as a delivery, which then completes.
const RETRIED: &str = r#"switchboard_job_runs_total{kind="reply",outcome="retried"}"#;
const DELIVERED: &str = r#"switchboard_job_runs_total{kind="deliver",outcome="completed"}"#;
const RATE_LIMITED: &str = r#"switchboard_platform_send_duration_seconds_count{platform="telegram",outcome="rate_limited"}"#;
const SENT: &str =
    r#"switchboard_platform_send_duration_seconds_count{platform="telegram",outcome="sent"}"#;
const MODEL_OK: &str = r#"switchboard_model_request_duration_seconds_count{provider="openai",model="test-model",outcome="ok"}"#;
const WEBHOOK_ROUTE: &str = r#"http_server_request_duration_seconds_count{http_route="/webhooks/{platform}/{bot_id}",http_request_method="POST",http_status_class="2xx"}"#;

#[tokio::test]
async fn webhooks_a_reply_a_refusal_and_a_429_move_the_counters_prometheus_reads() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let openai = FakeOpenAi::echoing().await;
    let mut telegram = FakeTelegram::start().await;
    telegram.rate_limit_first(1, 1).await;
    let app = TestApp::spawn_process(binary(), &TestConfig::new(&database, &openai, &telegram));
    let metrics_url = app.url("/metrics");
    let bot = app.telegram_bot(None).await;

    app.deliver(&bot, &updates::text(1, 42, 1, "hello")).await;
    let refused = app
        .post_update(&bot, Some("not-the-secret"), &updates::text(2, 42, 2, "x"))
        .await;
    assert_eq!(refused.status().as_u16(), 401);
    telegram.wait_for_sent(1, PATIENCE).await;

    let text = poll_until(PATIENCE, "the reply counted", || async {
        let (_, text) = scrape(&metrics_url).await;
        (value(&text, DELIVERED) >= Some(1.0)).then_some(text)
    })
    .await;
    for (series, at_least) in [
        (STORED, 1.0),
        (REFUSED, 1.0),
        (RETRIED, 1.0),
        (RATE_LIMITED, 1.0),
        (SENT, 1.0),
        (MODEL_OK, 1.0),
        (WEBHOOK_ROUTE, 1.0),
    ] {
        let found = value(&text, series);
        assert!(found >= Some(at_least), "{series} = {found:?}\n{text}");
    }
    assert!(
        value(
            &text,
            r#"switchboard_http_refusals_total{code="invalid_signature"}"#
        ) >= Some(1.0)
    );
    assert_eq!(value(&text, r#"switchboard_up{role="serve"}"#), Some(1.0));
    assert!(value(&text, "process_resident_memory_bytes") > Some(0.0));
    for secret in [ADMIN_KEY, BOT_TOKEN, SECRET, "sk-test", &bot, "hello"] {
        assert!(!text.contains(secret), "the scrape exposes `{secret}`");
    }
    promtool_checks(&text);
    if let Some(prometheus) = tool("prometheus") {
        prometheus_sees_the_counters_move(&prometheus, &app, &bot).await;
    }
    assert!(app.stop().await);
}

/// `promtool check metrics`: the exposition is well-formed and follows the naming rules.
fn promtool_checks(text: &str) {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = check.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool check metrics:\n{said}");
    assert!(
        said.trim().is_empty(),
        "promtool check metrics warned:\n{said}"
    );
}

/// A Prometheus server scraping the app every 250 ms, stopped on drop.
struct Prometheus {
    child: Child,
    api: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(binary: &Path, target: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "global:\n  scrape_interval: 250ms\n  scrape_timeout: 200ms\nscrape_configs:\n  \
             - job_name: switchboard\n    static_configs:\n      - targets: ['{target}']\n"
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        Self {
            child,
            api: format!("http://127.0.0.1:{port}/api/v1/query"),
            _dir: dir,
        }
    }

    /// The instant value of `query`, when Prometheus answers one sample.
    async fn value(&self, query: &str) -> Option<f64> {
        let response = reqwest::Client::new()
            .get(&self.api)
            .query(&[("query", query)])
            .send()
            .await
            .ok()?;
        let body: Value = response.json().await.ok()?;
        body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }

    async fn wait_for(&self, query: &str, at_least: f64) -> f64 {
        poll_until(PATIENCE, query, || async {
            self.value(query).await.filter(|seen| *seen >= at_least)
        })
        .await
    }
}

async fn prometheus_sees_the_counters_move(binary: &Path, app: &TestApp, bot: &str) {
    let target = app.base.trim_start_matches("http://");
    let prometheus = Prometheus::start(binary, target);
    let stored = "sum(switchboard_webhooks_total{outcome=\"stored\"})";
    let before = prometheus.wait_for(stored, 1.0).await;
    prometheus
        .wait_for("sum(switchboard_webhooks_total{outcome=\"refused\"})", 1.0)
        .await;
    prometheus.wait_for("up{job=\"switchboard\"}", 1.0).await;
    for n in 0..3 {
        app.deliver(bot, &updates::text(10 + n, 43, 10 + n, "more"))
            .await;
    }
    let after = prometheus.wait_for(stored, before + 3.0).await;
    assert!(after >= before + 3.0, "{before} -> {after}");
}

#[tokio::test]
async fn metrics_listen_serves_them_there_alone_and_disabled_metrics_are_a_404() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let openai = FakeOpenAi::echoing().await;
    let telegram = FakeTelegram::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let config = TestConfig::new(&database, &openai, &telegram)
        .with("SWITCHBOARD__METRICS__LISTEN", &listen);
    let app = TestApp::spawn_process(binary(), &config);

    let (status, _) = scrape(&app.url("/metrics")).await;
    assert_eq!(status, 404, "not on the main port");
    let (status, text) = scrape(&format!("http://{listen}/metrics")).await;
    assert_eq!(status, 200);
    assert_eq!(value(&text, r#"switchboard_up{role="serve"}"#), Some(1.0));
    let (status, _) = scrape(&format!("http://{listen}/health/live")).await;
    assert_eq!(status, 404, "the metrics port serves nothing else");
    assert!(app.stop().await);

    let off = TestConfig::new(&database, &openai, &telegram)
        .with("SWITCHBOARD__METRICS__ENABLED", "false");
    let app = TestApp::spawn_process(binary(), &off);
    let (status, _) = scrape(&app.url("/metrics")).await;
    assert_eq!(status, 404);
    assert!(app.stop().await);
}
