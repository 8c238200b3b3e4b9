//! Callers' `traceparent`: continued on the admin API and the REST channel, not on platform webhooks.

use crate::support::{Options, TestApp, TELEGRAM_SECRET};
use actix_web::test::TestRequest;
use application::ports::TraceContext;
use serde_json::json;
use std::sync::{Arc, Mutex};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Remembers the parents it was asked to adopt.
#[derive(Default)]
struct Adopted(Mutex<Vec<String>>);

impl TraceContext for Adopted {
    fn current(&self) -> Option<String> {
        None
    }

    fn adopt(&self, _: &tracing::Span, traceparent: &str) {
        self.0.lock().unwrap().push(traceparent.to_owned());
    }
}

async fn traced() -> (TestApp, Arc<Adopted>) {
    let adopted = Arc::new(Adopted::default());
    let app = TestApp::with(Options {
        trace: Some(adopted.clone()),
        ..Options::default()
    })
    .await;
    (app, adopted)
}

fn parents(adopted: &Adopted) -> Vec<String> {
    adopted.0.lock().unwrap().clone()
}

#[actix_web::test]
async fn the_admin_apis_callers_trace_is_continued() {
    let (app, adopted) = traced().await;
    let request = TestRequest::get()
        .uri("/api/v1/bots")
        .insert_header(("traceparent", TRACEPARENT));
    let reply = app.admin(request).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(parents(&adopted), [TRACEPARENT]);

    let untraced = app.admin(TestRequest::get().uri("/api/v1/bots")).await;
    assert_eq!(untraced.status, 200);
    assert_eq!(parents(&adopted).len(), 1, "no header, no parent");
}

#[actix_web::test]
async fn a_platforms_traceparent_is_not_continued() {
    let (app, adopted) = traced().await;
    let bot = app.seed_bound_bot().await;
    let update =
        json!({"update_id": 1, "message": {"message_id": 10, "chat_id": 42, "text": "hi"}});
    let request = TestRequest::post()
        .uri(&format!("/webhooks/telegram/{}", bot.id))
        .insert_header(("X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET))
        .insert_header(("traceparent", TRACEPARENT))
        .set_json(update);
    let reply = app.send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert!(parents(&adopted).is_empty(), "{:?}", parents(&adopted));
}
