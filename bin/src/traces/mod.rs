//! OpenTelemetry traces: spans exported over OTLP as the standard `OTEL_*` variables say, and flushed at exit.
//!
//! Off (nothing built, no layer installed) unless an OTLP endpoint is set. When on, the
//! `tracing` spans at INFO and above become OpenTelemetry spans through the tracing-opentelemetry
//! layer, batched on the SDK's own thread and exported by `http/protobuf` (reqwest) or `grpc`
//! (tonic); jobs carry the enqueuing span's `traceparent` ([`W3cTraceContext`]).

mod context;
mod log_ids;
mod scrub;
mod settings;

pub use context::W3cTraceContext;
pub use log_ids::WithTraceIds;
pub use settings::{OtlpProtocol, TraceSettings, DEFAULT_SERVICE_NAME};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{ExporterBuildError, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// What is traced: spans and events at INFO and above, except the chatter of the libraries
/// under the database and HTTP clients, and OpenTelemetry's own.
const TRACED: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,hyper=off,h2=off,\
    tower=off,tonic=off,reqwest=off,opentelemetry=off,opentelemetry_sdk=off,opentelemetry_otlp=off";

/// The running trace pipeline; [`Traces::shutdown`] exports what is pending.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Builds the exporter and the tracer provider. Call it inside the tokio runtime: the gRPC
    /// exporter's channel runs on it.
    pub fn start(settings: &TraceSettings) -> Result<Self, ExporterBuildError> {
        let exporter = exporter(settings.protocol)?;
        let batches = BatchSpanProcessor::builder(exporter).build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(scrub::WithoutQueries(batches))
            .with_sampler(settings.sampler.clone())
            .with_resource(resource(settings))
            .build();
        Ok(Self { provider })
    }

    /// The layer that turns `tracing` spans into this pipeline's spans, filtered to [`TRACED`].
    pub fn layer<S>(
        &self,
    ) -> tracing_subscriber::filter::Filtered<OpenTelemetryLayer<S, SdkTracer>, EnvFilter, S>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        use tracing_subscriber::Layer as _;
        let tracer = self.provider.tracer("switchboard");
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(EnvFilter::new(TRACED))
    }

    /// Exports the spans still pending and stops the exporter (at exit, after a SIGTERM).
    pub async fn shutdown(self) {
        let provider = self.provider;
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("traces: the last spans were not all exported: {error}"),
            Err(error) => eprintln!("traces: the flush did not finish: {error}"),
        }
    }
}

fn exporter(protocol: OtlpProtocol) -> Result<SpanExporter, ExporterBuildError> {
    match protocol {
        OtlpProtocol::HttpProtobuf => SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build(),
        OtlpProtocol::Grpc => SpanExporter::builder()
            .with_tonic()
            .with_protocol(Protocol::Grpc)
            .build(),
    }
}

/// The SDK's resource (`OTEL_RESOURCE_ATTRIBUTES`, …), named as the settings say, with our version.
fn resource(settings: &TraceSettings) -> Resource {
    let mut resource = Resource::builder();
    if let Some(name) = &settings.service_name {
        resource = resource.with_service_name(name.clone());
    }
    resource
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;
    use std::collections::HashMap;

    fn loaded(vars: &[(&str, &str)]) -> Result<Settings, config::ConfigError> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load(None, &env)
    }

    #[test]
    fn traces_are_on_only_with_an_endpoint() {
        assert!(loaded(&[]).unwrap().traces.is_none());
        let empty = [("OTEL_EXPORTER_OTLP_ENDPOINT", "")];
        assert!(loaded(&empty).unwrap().traces.is_none(), "empty is unset");
        let on = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")];
        assert!(loaded(&on).unwrap().traces.is_some());
        let json = [on[0], ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")];
        let refused = loaded(&json).unwrap_err().to_string();
        assert!(refused.contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{refused}");
    }

    #[tokio::test]
    async fn either_exporter_starts_and_flushes_at_once_when_nothing_is_pending() {
        for protocol in [OtlpProtocol::HttpProtobuf, OtlpProtocol::Grpc] {
            let settings = TraceSettings {
                protocol,
                sampler: opentelemetry_sdk::trace::Sampler::AlwaysOn,
                service_name: Some(DEFAULT_SERVICE_NAME.to_owned()),
            };
            let traces = Traces::start(&settings).unwrap();
            let flushed =
                tokio::time::timeout(std::time::Duration::from_secs(10), traces.shutdown());
            assert!(flushed.await.is_ok(), "{protocol:?}");
        }
    }
}
