//! The installed recorder as a scrape sees it: catalogue series at zero, recorded values, buckets, process figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use application::metrics::{self, SendOutcome, WebhookOutcome};
use application::ports::Exposition;
use domain::PlatformKind;
use std::time::Duration;
use switchboard_prometheus::PrometheusExposition;

fn line_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[test]
fn a_scrape_shows_registered_series_recorded_values_buckets_and_the_process() {
    let exposition = PrometheusExposition::install().expect("the first recorder installs");
    assert!(
        PrometheusExposition::install().is_some(),
        "a second call shares it"
    );
    metrics::register(&[("openai", "gpt-4o-mini")]);
    metrics::announce("1.2.3", "abc123", "serve");
    metrics::webhook(PlatformKind::Telegram, WebhookOutcome::Stored);
    metrics::webhook(PlatformKind::Telegram, WebhookOutcome::Stored);
    metrics::platform_send(
        PlatformKind::Discord,
        SendOutcome::RateLimited,
        Duration::from_millis(30),
    );

    let text = exposition.render();

    let stored = r#"switchboard_webhooks_total{platform="telegram",outcome="stored"}"#;
    assert_eq!(line_value(&text, stored), Some(2.0), "{text}");
    let refused = r#"switchboard_webhooks_total{platform="whatsapp",outcome="refused"}"#;
    assert_eq!(line_value(&text, refused), Some(0.0), "registered at zero");
    let bucket = r#"switchboard_platform_send_duration_seconds_bucket{platform="discord",outcome="rate_limited",le="0.05"}"#;
    assert_eq!(line_value(&text, bucket), Some(1.0));
    let below = r#"switchboard_platform_send_duration_seconds_bucket{platform="discord",outcome="rate_limited",le="0.025"}"#;
    assert_eq!(line_value(&text, below), Some(0.0));
    let model = r#"switchboard_model_request_duration_seconds_count{provider="openai",model="gpt-4o-mini",outcome="timeout"}"#;
    assert_eq!(
        line_value(&text, model),
        Some(0.0),
        "an unused histogram is listed"
    );
    let info = r#"switchboard_build_info{version="1.2.3",commit="abc123"}"#;
    assert_eq!(line_value(&text, info), Some(1.0));
    assert!(line_value(&text, "process_resident_memory_bytes").unwrap() > 0.0);
    assert!(line_value(&text, "process_start_time_seconds").unwrap() > 1.7e9);
    assert!(text.contains("# HELP switchboard_webhooks_total"));
    assert!(text.contains("# TYPE switchboard_job_run_duration_seconds histogram"));
}
