//! The HTTP metrics middleware: each request's duration by route template, method and status class, and the requests in flight.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::Error;
use application::metrics::{HTTP_ACTIVE, HTTP_DURATION};
use metrics::{gauge, histogram};
use std::time::Instant;

/// The route label of a request no route matched: raw paths never become labels.
pub const UNMATCHED: &str = "unmatched";

/// Times the rest of the chain; sits outside the request-id middleware, so the status it
/// sees is the one answered.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let in_flight = InFlight::enter();
    let result = next.call(req).await;
    drop(in_flight);
    let (route, status) = match &result {
        Ok(res) => (res.request().match_pattern(), res.status()),
        Err(err) => (None, err.as_response_error().status_code()),
    };
    let route = route.unwrap_or_else(|| UNMATCHED.to_owned());
    histogram!(
        HTTP_DURATION,
        "http_route" => route,
        "http_request_method" => method,
        "http_status_class" => status_class(status)
    )
    .record(started.elapsed().as_secs_f64());
    result
}

/// The standard methods by name; any other is `_OTHER`, as OpenTelemetry names it.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 7] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("_OTHER", |(_, name)| name)
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// One request in flight until dropped (also when the client goes away mid-request).
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        gauge!(HTTP_ACTIVE).increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(HTTP_ACTIVE).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_set_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let odd = Method::from_bytes(b"BREW").unwrap_or(Method::GET);
        assert_eq!(method_label(&odd), "_OTHER");
    }

    #[test]
    fn statuses_are_labelled_by_class() {
        assert_eq!(status_class(StatusCode::OK), "2xx");
        assert_eq!(status_class(StatusCode::TOO_MANY_REQUESTS), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
    }
}
