//! The request span: tracing-actix-web's root span, continuing the caller's trace (`traceparent`) on the admin API and the REST channel.

use crate::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{web, Error};
use tracing::Span;
use tracing_actix_web::{root_span, DefaultRootSpanBuilder, RootSpanBuilder};

/// Where a caller's `traceparent` is honoured: the admin API and the REST channel, whose
/// clients (operators' tools, services) may trace their calls. A platform's webhook starts a
/// trace of its own: whatever a platform sends is not ours to continue.
const TRACED_PREFIX: &str = "/api/";

/// tracing-actix-web's root span, with the caller as its parent where that is honoured and
/// traces are on (`AppState::trace`); with traces off it is the default span, nothing more.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let span = root_span!(request);
        if let Some(parent) = caller_trace(request) {
            if let Some(trace) = traces(request) {
                trace.adopt(&span, parent);
            }
        }
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The caller's `traceparent`, on a route that honours it.
fn caller_trace(request: &ServiceRequest) -> Option<&str> {
    if !request.path().starts_with(TRACED_PREFIX) {
        return None;
    }
    request.headers().get("traceparent")?.to_str().ok()
}

fn traces(request: &ServiceRequest) -> Option<&dyn application::ports::TraceContext> {
    let state = request.app_data::<web::Data<AppState>>()?;
    state.trace.as_deref()
}
