//! The web chat's page and socket refusals, and the REST channel, over in-memory fakes.

use crate::support::{assert_invalid_field, assert_problem, TestApp, OPERATOR_KEY, VIEWER_KEY};
use actix_web::test::TestRequest;
use serde_json::json;

fn page(bot_id: impl std::fmt::Display) -> TestRequest {
    TestRequest::get().uri(&format!("/chat/{bot_id}"))
}

fn socket(bot_id: impl std::fmt::Display, query: &str) -> TestRequest {
    TestRequest::get().uri(&format!("/ws/chat/{bot_id}{query}"))
}

fn chat(bot_id: impl std::fmt::Display, body: serde_json::Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!("/api/v1/bots/{bot_id}/chat"))
        .set_json(body)
}

/// Every `src`/`href` of the page, and any absolute URL in it.
fn external_references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (index, _) in html.match_indices(attribute) {
            let value: String = html[index + attribute.len()..]
                .chars()
                .take_while(|c| *c != '"')
                .collect();
            if !value.starts_with('/') || value.starts_with("//") {
                found.push(value);
            }
        }
    }
    found.extend(
        ["http://", "https://", "ws://", "wss://"]
            .iter()
            .filter(|scheme| html.contains(*scheme))
            .map(|scheme| scheme.to_string()),
    );
    found
}

#[actix_web::test]
async fn the_page_is_served_only_for_a_bound_bot_under_a_strict_csp() {
    let app = TestApp::new().await;
    let bound = app.seed_web_chat_bot(&[]).await;
    let telegram_only = app.seed_bound_bot().await;
    assert_problem(&app.send(page(telegram_only.id)).await, 404, "not_found");
    assert_problem(
        &app.send(page(domain::BotId::new())).await,
        404,
        "not_found",
    );
    assert_problem(&app.send(page("not-an-id")).await, 404, "not_found");

    let reply = app.send(page(bound.id)).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = reply.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    for directive in [
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains('*'),
        "{csp}"
    );
    assert!(reply.raw.contains(&format!("data-bot-id=\"{}\"", bound.id)));
    assert!(!reply.raw.contains("{{"), "the template is filled");
    assert!(
        !reply.raw.contains("<script>"),
        "no inline script under the CSP"
    );
    assert_eq!(external_references(&reply.raw), Vec::<String>::new());
}

#[actix_web::test]
async fn the_page_may_be_framed_by_this_server_and_the_allowed_origins_only() {
    let app = TestApp::new().await;
    let private = app.seed_web_chat_bot(&[]).await;
    let reply = app.send(page(private.id)).await;
    let csp = reply.header("content-security-policy").unwrap();
    assert!(csp.ends_with("; frame-ancestors 'self'"), "{csp}");
    assert_eq!(reply.header("x-frame-options"), Some("SAMEORIGIN"));

    let embedded = app
        .seed_web_chat_bot(&["https://shop.example", "http://localhost:3000"])
        .await;
    let reply = app.send(page(embedded.id)).await;
    let csp = reply.header("content-security-policy").unwrap();
    assert!(
        csp.ends_with("; frame-ancestors 'self' https://shop.example http://localhost:3000"),
        "{csp}"
    );
    // X-Frame-Options cannot name several origins: CSP alone decides.
    assert_eq!(reply.header("x-frame-options"), None);
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
}

#[actix_web::test]
async fn the_page_assets_are_built_in_and_load_nothing_from_elsewhere() {
    let app = TestApp::new().await;
    for (path, kind) in [
        ("/chat/assets/chat.js", "text/javascript"),
        ("/chat/assets/chat.css", "text/css"),
    ] {
        let reply = app.send(TestRequest::get().uri(path)).await;
        assert_eq!(reply.status, 200, "{path}");
        assert!(reply.header("content-type").unwrap().starts_with(kind));
        assert!(reply.header("content-security-policy").is_some());
        assert!(
            !reply.raw.contains("http://") && !reply.raw.contains("https://"),
            "{path}"
        );
        assert!(!reply.raw.contains("@import"), "{path}");
    }
}

#[actix_web::test]
async fn a_socket_is_refused_before_the_upgrade_when_unbound_foreign_or_malformed() {
    let app = TestApp::new().await;
    let telegram_only = app.seed_bound_bot().await;
    let reply = app.send(socket(telegram_only.id, "")).await;
    assert_problem(&reply, 404, "not_found");

    let shop = app.seed_web_chat_bot(&["https://shop.example"]).await;
    let foreign = socket(shop.id, "").insert_header(("origin", "https://evil.example"));
    assert_problem(&app.send(foreign).await, 403, "origin_not_allowed");
    assert_problem(
        &app.send(socket(shop.id, "")).await,
        403,
        "origin_not_allowed",
    );

    let open = app.seed_web_chat_bot(&[]).await;
    let malformed = app.send(socket(open.id, "?visitor_id=not-a-uuid")).await;
    assert_invalid_field(&malformed, "visitor_id");
    // Allowed, but no WebSocket handshake: a problem, not a socket.
    let allowed = socket(shop.id, "").insert_header(("origin", "https://shop.example"));
    assert_problem(&app.send(allowed).await, 400, "bad_request");
    // The same origin spelled otherwise (RFC 6454) is the same origin.
    let spelled = socket(shop.id, "").insert_header(("origin", "HTTPS://Shop.Example:443"));
    assert_problem(&app.send(spelled).await, 400, "bad_request");
}

#[actix_web::test]
async fn a_socket_naming_two_origins_is_refused_whatever_the_binding_allows() {
    let app = TestApp::new().await;
    for bot in [
        app.seed_web_chat_bot(&[]).await,
        app.seed_web_chat_bot(&["https://shop.example"]).await,
    ] {
        let twice = socket(bot.id, "")
            .append_header(("origin", "https://shop.example"))
            .append_header(("origin", "https://evil.example"));
        let reply = app.send(twice).await;
        assert_problem(&reply, 400, "repeated_header");
        assert!(
            reply.body["detail"].as_str().unwrap().contains("Origin"),
            "{}",
            reply.raw
        );
        let listed = socket(bot.id, "")
            .insert_header(("origin", "https://shop.example https://evil.example"));
        assert_problem(&app.send(listed).await, 400, "repeated_header");
    }
}

#[actix_web::test]
async fn a_forged_visitor_token_is_refused_and_a_bare_id_accepted_this_release() {
    let app = TestApp::new().await;
    let bot = app.seed_web_chat_bot(&[]).await;
    let forged = format!("v1.{}.{}", uuid::Uuid::new_v4(), "0".repeat(64));
    // Without a WebSocket handshake the refusal is a problem; a browser's socket is told on the
    // socket itself (tests/e2e/webchat.rs).
    let reply = app
        .send(socket(bot.id, &format!("?visitor_token={forged}")))
        .await;
    assert_problem(&reply, 401, "invalid_visitor_token");
    let plain = format!("?visitor_id={}", uuid::Uuid::new_v4());
    assert_problem(&app.send(socket(bot.id, &plain)).await, 400, "bad_request");
}

#[actix_web::test]
async fn the_rest_channel_answers_429_beyond_the_users_allowance() {
    let app = TestApp::new().await;
    let bot = app.seed_web_chat_bot(&[]).await;
    let ask = |user: &str| chat(bot.id, json!({"user_id": user, "text": "hello"}));
    // The default allowance: a burst of 5, then one every 2 s.
    for _ in 0..5 {
        let reply = app.as_key(OPERATOR_KEY, ask("customer-1")).await;
        assert_eq!(reply.status, 202, "{}", reply.raw);
    }
    let limited = app.as_key(OPERATOR_KEY, ask("customer-1")).await;
    assert_problem(&limited, 429, "rate_limited");
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    assert_eq!(app.ledger_calls(), 5, "nothing stored beyond the allowance");
    let other = app.as_key(OPERATOR_KEY, ask("customer-2")).await;
    assert_eq!(
        other.status, 202,
        "another user has an allowance of their own"
    );
}

#[actix_web::test]
async fn the_rest_channel_records_the_message_and_answers_202_when_no_reply_comes() {
    let app = TestApp::new().await;
    let bot = app.seed_web_chat_bot(&[]).await;
    let body = json!({"user_id": "customer-42", "text": "  hello  "});
    let started = std::time::Instant::now();
    let reply = app.as_key(OPERATOR_KEY, chat(bot.id, body.clone())).await;
    assert_eq!(reply.status, 202, "{}", reply.raw);
    assert!(started.elapsed() >= crate::support::REPLY_WAIT, "it waited");
    assert!(reply.body["conversation_id"].is_string());
    assert!(reply.body["message_id"].is_string());
    assert_eq!(app.ledger_calls(), 1, "stored through the pipeline");

    let viewer = app.as_key(VIEWER_KEY, chat(bot.id, body.clone())).await;
    assert_problem(&viewer, 403, "forbidden");
    let unbound = app.seed_bot("Ada").await;
    let reply = app.as_key(OPERATOR_KEY, chat(unbound.id, body)).await;
    assert_problem(&reply, 404, "not_found");
    for (field, body) in [
        ("user_id", json!({"user_id": "has space", "text": "hi"})),
        ("user_id", json!({"user_id": "", "text": "hi"})),
        ("text", json!({"user_id": "u", "text": "   "})),
        ("text", json!({"user_id": "u", "text": "x".repeat(4097)})),
    ] {
        let reply = app.as_key(OPERATOR_KEY, chat(bot.id, body)).await;
        assert_invalid_field(&reply, field);
    }
    assert_eq!(app.ledger_calls(), 1, "nothing else was stored");
}
