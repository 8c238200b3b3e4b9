//! A span processor that strips query strings from request targets before export: a query may carry a token (`hub.verify_token`, a visitor's).

use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;
use std::time::Duration;

/// The attribute tracing-actix-web fills with the path and query.
const TARGET: &str = "http.target";

/// Hands `inner` each finished span with its request target cut at the `?`.
#[derive(Debug)]
pub struct WithoutQueries<P>(pub P);

impl<P: SpanProcessor> SpanProcessor for WithoutQueries<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        strip_queries(&mut span.attributes);
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

fn strip_queries(attributes: &mut [KeyValue]) {
    for attribute in attributes.iter_mut().filter(|a| a.key.as_str() == TARGET) {
        let target = attribute.value.as_str();
        if let Some((path, _query)) = target.split_once('?') {
            attribute.value = Value::from(path.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_loses_its_query_and_nothing_else_changes() {
        let mut attributes = vec![
            KeyValue::new(
                TARGET,
                "/webhooks/messenger/b1?hub.verify_token=s3cret&hub.challenge=1",
            ),
            KeyValue::new("http.route", "/webhooks/messenger/{bot_id}?"),
        ];
        strip_queries(&mut attributes);
        assert_eq!(attributes[0].value.as_str(), "/webhooks/messenger/b1");
        assert_eq!(
            attributes[1].value.as_str(),
            "/webhooks/messenger/{bot_id}?"
        );
        let mut plain = vec![KeyValue::new(TARGET, "/api/v1/bots")];
        strip_queries(&mut plain);
        assert_eq!(plain[0].value.as_str(), "/api/v1/bots");
    }
}
