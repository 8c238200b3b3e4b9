//! The trace-context port on the OpenTelemetry layer: W3C `traceparent`s read from and adopted by `tracing` spans.

use application::ports::TraceContext;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;

const TRACEPARENT: &str = "traceparent";

/// Spans' contexts through the OpenTelemetry layer; wired only when traces are on.
#[derive(Debug, Default)]
pub struct W3cTraceContext {
    propagator: TraceContextPropagator,
}

impl TraceContext for W3cTraceContext {
    fn current(&self) -> Option<String> {
        let context = tracing::Span::current().context();
        if !context.span().span_context().is_valid() {
            return None;
        }
        let mut carrier = HashMap::new();
        self.propagator.inject_context(&context, &mut carrier);
        carrier.remove(TRACEPARENT)
    }

    fn adopt(&self, span: &tracing::Span, traceparent: &str) {
        let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
        let parent = self.propagator.extract(&carrier);
        if parent.span().span_context().is_valid() {
            // Refused only when the span was entered already or is filtered out of traces.
            let _ = span.set_parent(parent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// Runs `f` under a subscriber with the OpenTelemetry layer (no exporter).
    fn traced<T>(f: impl FnOnce() -> T) -> T {
        let provider = SdkTracerProvider::builder().build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f)
    }

    #[test]
    fn an_adopted_span_continues_the_stored_trace() {
        let context = W3cTraceContext::default();
        let child = traced(|| {
            let span = tracing::info_span!("job");
            context.adopt(&span, PARENT);
            span.in_scope(|| context.current())
        });
        let child = child.unwrap();
        let parts: Vec<&str> = child.split('-').collect();
        assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736", "{child}");
        assert_ne!(parts[2], "00f067aa0ba902b7", "a span of its own: {child}");
        assert_eq!(parts[3], "01", "sampled, as the parent was");
    }

    #[test]
    fn a_malformed_parent_leaves_the_span_a_root() {
        let context = W3cTraceContext::default();
        let root = traced(|| {
            let span = tracing::info_span!("job");
            context.adopt(&span, "00-not-a-trace-01");
            span.in_scope(|| context.current())
        });
        assert!(root.is_some_and(|root| !root.contains("4bf92f35")));
    }

    #[test]
    fn without_a_span_or_the_layer_there_is_no_trace() {
        let context = W3cTraceContext::default();
        assert_eq!(traced(|| context.current()), None);
        let span = tracing::info_span!("untraced");
        assert_eq!(span.in_scope(|| context.current()), None);
    }
}
