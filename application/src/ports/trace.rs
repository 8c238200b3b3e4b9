//! The trace-context port: carries a trace from the request that enqueues a job to the worker that runs it, as a W3C `traceparent`.

/// Reads the current span's trace context and makes spans children of a stored one. The use
/// cases only create `tracing` spans; which of them are exported, and how, is the adapter's.
pub trait TraceContext: Send + Sync {
    /// The current span's context as a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`);
    /// `None` when no trace is recorded.
    fn current(&self) -> Option<String>;

    /// Makes `span`, not yet entered, a child of the span `traceparent` names; a malformed
    /// `traceparent` is ignored (the span starts a trace of its own).
    fn adopt(&self, span: &tracing::Span, traceparent: &str);
}

/// Traces off: nothing is read and nothing is adopted.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTrace;

impl TraceContext for NoTrace {
    fn current(&self) -> Option<String> {
        None
    }

    fn adopt(&self, _: &tracing::Span, _: &str) {}
}
