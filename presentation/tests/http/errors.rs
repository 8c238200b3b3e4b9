//! The error contract: problem+json everywhere, with the request id of the `X-Request-Id` header.

use crate::support::{assert_problem, TestApp};
use actix_web::test::TestRequest;

#[actix_web::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = TestApp::new();
    for uri in ["/nope", "/webhooks", "/health"] {
        let reply = app.send(TestRequest::get().uri(uri)).await;
        assert_problem(&reply, 404, "not_found");
    }
    let api = app
        .admin(TestRequest::get().uri("/api/v1/nothing-here"))
        .await;
    assert_problem(&api, 404, "not_found");
}

#[actix_web::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = TestApp::new();
    let reply = app.send(TestRequest::delete().uri("/health/live")).await;
    assert_problem(&reply, 405, "method_not_allowed");
    let admin = app.admin(TestRequest::put().uri("/api/v1/bots")).await;
    assert_problem(&admin, 405, "method_not_allowed");
}

#[actix_web::test]
async fn every_request_gets_its_own_id() {
    let app = TestApp::new();
    let first = app.send(TestRequest::get().uri("/health/live")).await;
    let second = app.send(TestRequest::get().uri("/nope")).await;
    let (a, b) = (
        first.header("x-request-id").unwrap(),
        second.header("x-request-id").unwrap(),
    );
    assert_ne!(a, b);
    uuid::Uuid::parse_str(a).unwrap();
    assert_eq!(second.body["request_id"], b);
}

#[actix_web::test]
async fn outside_a_request_errors_render_without_an_id() {
    use actix_web::ResponseError;
    let response = presentation::ApiError::BadRequest.error_response();
    assert_eq!(response.status(), 400);
    assert!(presentation::request_id::current().is_none());
}
