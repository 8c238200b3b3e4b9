//! JSON log lines with the `trace_id` and `span_id` of the span they were written in, when traces are on.

use std::fmt;
use tracing::{Event, Subscriber};
use tracing_opentelemetry::OtelData;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Wraps a JSON event format: a line written inside a traced span ends with its ids.
pub struct WithTraceIds<F>(pub F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some(ids) = trace_ids(ctx) else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        writer.write_str(&with_ids(line, &ids))
    }
}

/// The ids of the innermost traced span around the event (spans filtered out of traces have none).
fn trace_ids<S, N>(ctx: &FmtContext<'_, S, N>) -> Option<String>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    ctx.event_scope()?.find_map(|span| {
        let extensions = span.extensions();
        let data = extensions.get::<OtelData>()?;
        let (trace_id, span_id) = (data.trace_id()?, data.span_id()?);
        Some(format!(
            r#""trace_id":"{trace_id:032x}","span_id":"{span_id:016x}""#
        ))
    })
}

/// `line`, one JSON object and a newline, with `ids` (`"key":"value",…`) as its last members.
fn with_ids(line: String, ids: &str) -> String {
    let object = line.trim_end();
    match object.strip_suffix('}') {
        Some(open) if open.len() > 1 => format!("{open},{ids}}}\n"),
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use serde_json::Value;
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::layer::SubscriberExt;

    /// Collects what the formatter writes.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The JSON lines `f` logs under JSON logs with the OpenTelemetry layer, and what `f` returned.
    fn logged<T>(f: impl FnOnce() -> T) -> (Vec<Value>, T) {
        let lines = Lines::default();
        let sink = lines.clone();
        let json = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(move || sink.clone())
            .map_event_format(WithTraceIds);
        let provider = SdkTracerProvider::builder().build();
        let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let subscriber = tracing_subscriber::registry().with(json).with(otel);
        let returned = tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let parsed = text.lines().map(|l| serde_json::from_str(l).unwrap());
        (parsed.collect(), returned)
    }

    #[test]
    fn a_line_in_a_span_carries_its_trace_and_span_ids() {
        let (lines, (trace_id, span_id)) = logged(|| {
            let span = tracing::info_span!("job", job_id = 7);
            let _entered = span.enter();
            tracing::info!(answer = 42, "ran");
            let context = span.context();
            let ids = context.span().span_context().clone();
            (ids.trace_id().to_string(), ids.span_id().to_string())
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["message"], "ran");
        assert_eq!(line["answer"], 42, "the event's own fields are kept");
        assert_eq!(line["trace_id"], trace_id.as_str());
        assert_eq!(line["span_id"], span_id.as_str());
        assert_eq!(trace_id.len(), 32);
    }

    #[test]
    fn a_line_outside_any_span_has_no_ids() {
        let (lines, ()) = logged(|| tracing::info!("alone"));
        assert_eq!(lines[0]["message"], "alone");
        assert!(lines[0].get("trace_id").is_none(), "{}", lines[0]);
    }
}
