//! `/health/live` and `/health/ready`.

use crate::support::{assert_problem, FixedCheck, Options, TestApp};
use actix_web::test::TestRequest;
use serde_json::json;

async fn with_checks(checks: Vec<FixedCheck>) -> TestApp {
    TestApp::with(Options {
        checks,
        ..Default::default()
    })
    .await
}

#[actix_web::test]
async fn liveness_only_needs_the_process() {
    let app = with_checks(vec![FixedCheck {
        name: "database",
        healthy: false,
    }])
    .await;
    let reply = app.send(TestRequest::get().uri("/health/live")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, json!({"status": "ok"}));
    assert!(reply.header("x-request-id").is_some());
}

#[actix_web::test]
async fn readiness_reports_every_check() {
    let app = with_checks(vec![
        FixedCheck {
            name: "database",
            healthy: true,
        },
        FixedCheck {
            name: "redis",
            healthy: true,
        },
    ])
    .await;
    let reply = app.send(TestRequest::get().uri("/health/ready")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body,
        json!({"status": "ok", "checks": {"database": "ok", "redis": "ok"}})
    );
}

#[actix_web::test]
async fn readiness_is_503_naming_the_failing_check_but_not_its_cause() {
    let app = with_checks(vec![
        FixedCheck {
            name: "database",
            healthy: false,
        },
        FixedCheck {
            name: "redis",
            healthy: true,
        },
    ])
    .await;
    let reply = app.send(TestRequest::get().uri("/health/ready")).await;
    assert_problem(&reply, 503, "not_ready");
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(detail.contains("database"), "{detail}");
    assert!(!detail.contains("redis"), "{detail}");
    assert!(!reply.raw.contains("10.0.0.7"), "{}", reply.raw);
}
