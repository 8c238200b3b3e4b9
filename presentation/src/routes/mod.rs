//! The route table: probes, documents, webhooks, first setup, signed attachment links, and the authenticated admin API under `/api/v1`.

pub mod api_keys;
pub mod attachments;
pub mod audit_log;
pub mod bots;
pub mod broadcasts;
pub mod chat;
pub mod console;
pub mod conversations;
pub mod docs;
pub mod erasure;
pub mod health;
pub mod jobs;
pub mod metrics;
pub mod outgoing_webhooks;
pub mod platforms;
pub mod proactive;
pub mod providers;
pub mod schedules;
pub mod setup;
pub mod status;
pub mod webhooks;

use crate::errors::ApiError;
use crate::{audit, auth, idempotency};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(health::configure)
        .configure(docs::configure)
        .configure(webhooks::configure)
        .configure(setup::configure)
        .configure(console::configure)
        .configure(attachments::configure)
        .configure(crate::web_chat::configure)
        // Before the `/api/v1` scope: the socket authenticates itself (a browser cannot set
        // the header, so the key may come in the first frame).
        .configure(crate::live_events::configure)
        .service(
            web::scope("/api/v1")
                // The last wrap runs first: authentication, the audit log, then idempotency.
                .wrap(from_fn(idempotency::middleware))
                .wrap(from_fn(audit::middleware))
                .wrap(from_fn(auth::authenticate))
                .configure(bots::configure)
                .configure(chat::configure)
                .configure(platforms::configure)
                .configure(providers::configure)
                .configure(outgoing_webhooks::configure)
                .configure(conversations::configure)
                .configure(proactive::configure)
                .configure(broadcasts::configure)
                .configure(erasure::configure)
                .configure(audit_log::configure)
                .configure(api_keys::configure)
                .configure(status::configure)
                .configure(jobs::configure)
                .configure(schedules::configure),
        );
}

/// The default service: no route matches.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no route matches this path".into()))
}
