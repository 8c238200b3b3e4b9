//! The error contract: problem+json everywhere, with the request id of the `X-Request-Id` header.

use crate::support::{assert_problem, TestApp, META_VERIFY_TOKEN};
use actix_web::test::TestRequest;

#[actix_web::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = TestApp::new().await;
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
async fn no_answer_may_be_sniffed_as_another_type() {
    let app = TestApp::new().await;
    let meta = app.seed_meta_bound_bot().await;
    let handshake = format!(
        "/webhooks/whatsapp/{}?hub.mode=subscribe&hub.verify_token={META_VERIFY_TOKEN}&hub.challenge=%3Cb%3E1%3C%2Fb%3E",
        meta.id
    );
    for uri in [
        "/nope",
        "/docs",
        "/openapi.json",
        "/health/live",
        &handshake,
    ] {
        let reply = app.send(TestRequest::get().uri(uri)).await;
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{uri}"
        );
    }
    let refused = app.send(TestRequest::get().uri("/api/v1/bots")).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("x-content-type-options"), Some("nosniff"));
}

#[actix_web::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = TestApp::new().await;
    let reply = app.send(TestRequest::delete().uri("/health/live")).await;
    assert_problem(&reply, 405, "method_not_allowed");
    assert!(
        reply.header("allow").is_some(),
        "a 405 says what is allowed"
    );
    let admin = app.admin(TestRequest::put().uri("/api/v1/bots")).await;
    assert_problem(&admin, 405, "method_not_allowed");
}

#[actix_web::test]
async fn every_request_gets_its_own_id() {
    let app = TestApp::new().await;
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
    let bytes = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["code"], "bad_request");
    assert!(body["request_id"].is_null(), "no request, no id: {body}");
}

#[actix_web::test]
async fn a_panicking_handler_answers_a_500_problem_with_the_request_id() {
    use actix_web::{middleware::from_fn, test, web, App};
    let app = test::init_service(
        App::new()
            .route("/boom", web::get().to(|| async { panic!("boom") as &str }))
            .wrap(from_fn(presentation::request_id::middleware)),
    )
    .await;
    // Errors leaving the middleware are rendered by the server from the error's response.
    let response =
        match test::try_call_service(&app, TestRequest::get().uri("/boom").to_request()).await {
            Ok(response) => response.into_parts().1,
            Err(error) => error.error_response(),
        };
    assert_eq!(response.status(), 500);
    let id = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["code"], "internal_error");
    assert_eq!(body["request_id"], id);
}
