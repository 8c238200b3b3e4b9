//! Admin API authentication and roles.

use crate::support::{assert_problem, TestApp, OPERATOR_KEY, VIEWER_KEY};
use actix_web::test::TestRequest;
use serde_json::json;

fn create_bot() -> TestRequest {
    TestRequest::post()
        .uri("/api/v1/bots")
        .set_json(json!({"name": "Ada", "system_prompt": "be brief"}))
}

#[actix_web::test]
async fn a_missing_key_is_401_with_a_bearer_challenge() {
    let app = TestApp::new().await;
    let reply = app.send(TestRequest::get().uri("/api/v1/bots")).await;
    assert_problem(&reply, 401, "unauthenticated");
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
}

#[actix_web::test]
async fn a_wrong_key_is_401() {
    let app = TestApp::new().await;
    let reply = app
        .as_key("sb_not_a_key", TestRequest::get().uri("/api/v1/bots"))
        .await;
    assert_problem(&reply, 401, "unauthenticated");
    let basic = app
        .send(
            TestRequest::get()
                .uri("/api/v1/bots")
                .insert_header(("Authorization", "Basic YWRtaW46YWRtaW4=")),
        )
        .await;
    assert_problem(&basic, 401, "unauthenticated");
}

#[actix_web::test]
async fn anonymous_callers_learn_nothing_about_routes_or_bodies() {
    let app = TestApp::new().await;
    let unknown = app
        .send(TestRequest::get().uri("/api/v1/nothing-here"))
        .await;
    assert_problem(&unknown, 401, "unauthenticated");
    let malformed = app
        .send(
            TestRequest::post()
                .uri("/api/v1/bots")
                .insert_header(("content-type", "application/json"))
                .set_payload("{oops"),
        )
        .await;
    assert_problem(&malformed, 401, "unauthenticated");
}

#[actix_web::test]
async fn a_viewer_may_read_but_not_create_a_bot() {
    let app = TestApp::new().await;
    let reply = app.as_key(VIEWER_KEY, create_bot()).await;
    assert_problem(&reply, 403, "forbidden");
    assert!(app.stored_bots().await.is_empty());
    let list = app
        .as_key(VIEWER_KEY, TestRequest::get().uri("/api/v1/bots"))
        .await;
    assert_eq!(list.status, 200);
}

#[actix_web::test]
async fn an_operator_may_not_write_bots() {
    let app = TestApp::new().await;
    let reply = app.as_key(OPERATOR_KEY, create_bot()).await;
    assert_problem(&reply, 403, "forbidden");
}

#[actix_web::test]
async fn the_role_is_checked_before_the_body_is_read() {
    let app = TestApp::new().await;
    let reply = app
        .as_key(
            VIEWER_KEY,
            TestRequest::post()
                .uri("/api/v1/bots")
                .insert_header(("content-type", "application/json"))
                .set_payload("{oops"),
        )
        .await;
    assert_problem(&reply, 403, "forbidden");
}

#[actix_web::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::new().await;
    let reply = app
        .send(
            TestRequest::get()
                .uri("/api/v1/bots")
                .insert_header(("Authorization", format!("bearer {VIEWER_KEY}"))),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
}
