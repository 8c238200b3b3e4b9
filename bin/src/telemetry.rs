//! Logging and traces: a tracing subscriber, human-readable or JSON, filtered by `RUST_LOG` or `log.level`, with the OpenTelemetry layer when traces are on.

use crate::settings::{LogFormat, LogSettings};
use crate::traces::{TraceSettings, Traces, WithTraceIds};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Installs the global subscriber once; later calls (tests start several apps) are no-ops.
pub fn init(settings: &LogSettings) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log_filter(settings))
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// [`init`], and with `traces` set the trace pipeline and its layer beside the log; the
/// caller flushes the returned pipeline at exit. Without `traces` nothing of OpenTelemetry
/// is built or installed.
pub fn init_with_traces(
    log: &LogSettings,
    traces: Option<&TraceSettings>,
) -> Result<Option<Traces>, opentelemetry_otlp::ExporterBuildError> {
    let Some(settings) = traces else {
        init(log);
        return Ok(None);
    };
    let traces = Traces::start(settings)?;
    let _ = tracing_subscriber::registry()
        .with(log_layer(log).with_filter(log_filter(log)))
        .with(traces.layer())
        .try_init();
    Ok(Some(traces))
}

fn log_filter(settings: &LogSettings) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level))
}

/// The log's own layer beside traces: JSON lines carry the trace and span ids.
fn log_layer(settings: &LogSettings) -> Box<dyn Layer<Registry> + Send + Sync> {
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match settings.format {
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .map_event_format(WithTraceIds)
            .boxed(),
        LogFormat::Pretty => layer.boxed(),
    }
}
