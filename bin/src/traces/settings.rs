//! Trace settings from the standard OpenTelemetry variables: traces are off without an OTLP endpoint.

use opentelemetry_sdk::trace::Sampler;
use std::collections::HashMap;

/// The service name when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names one.
pub const DEFAULT_SERVICE_NAME: &str = "switchboard";

/// How spans are exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// `http/protobuf` (the default): `POST {endpoint}/v1/traces`.
    HttpProtobuf,
    /// `grpc`, in plain text (no TLS is built in: use `http/protobuf` for an `https` collector).
    Grpc,
}

/// Traces on: how to export and sample them. The exporter reads the endpoint, headers,
/// timeout and compression from the `OTEL_EXPORTER_OTLP_*` variables itself.
#[derive(Debug, Clone)]
pub struct TraceSettings {
    pub protocol: OtlpProtocol,
    pub sampler: Sampler,
    /// `None` when `OTEL_RESOURCE_ATTRIBUTES` names the service (the SDK reads it there).
    pub service_name: Option<String>,
}

impl TraceSettings {
    /// The settings in `env` (empty values already left out); `None` when no OTLP endpoint is
    /// set, and then nothing of OpenTelemetry runs.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Option<Self>, String> {
        let var = |name: &str| env.get(name).map(String::as_str);
        let Some(endpoint) = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"))
        else {
            return Ok(None);
        };
        let protocol = var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .map_or(Ok(OtlpProtocol::HttpProtobuf), protocol)?;
        if protocol == OtlpProtocol::Grpc && endpoint.starts_with("https:") {
            return Err(
                "OTEL_EXPORTER_OTLP_PROTOCOL: grpc is built without TLS; use \
                http/protobuf for an https endpoint"
                    .into(),
            );
        }
        let ratio = var("OTEL_TRACES_SAMPLER_ARG").map_or(Ok(1.0), ratio)?;
        let sampler = var("OTEL_TRACES_SAMPLER")
            .map_or(Ok(default_sampler()), |name| sampler(name, ratio))?;
        Ok(Some(Self {
            protocol,
            sampler,
            service_name: service_name(&var),
        }))
    }
}

fn protocol(name: &str) -> Result<OtlpProtocol, String> {
    match name {
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        "grpc" => Ok(OtlpProtocol::Grpc),
        other => Err(format!(
            "OTEL_EXPORTER_OTLP_PROTOCOL: `{other}` is not supported (http/protobuf or grpc)"
        )),
    }
}

/// The specification's default: follow the caller's decision, sample every new trace.
fn default_sampler() -> Sampler {
    Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
}

fn sampler(name: &str, ratio: f64) -> Result<Sampler, String> {
    let parent_based = |root: Sampler| Sampler::ParentBased(Box::new(root));
    Ok(match name {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio),
        "parentbased_always_on" => parent_based(Sampler::AlwaysOn),
        "parentbased_always_off" => parent_based(Sampler::AlwaysOff),
        "parentbased_traceidratio" => parent_based(Sampler::TraceIdRatioBased(ratio)),
        other => {
            return Err(format!(
                "OTEL_TRACES_SAMPLER: `{other}` is not supported (always_on, always_off, \
                 traceidratio, parentbased_always_on, parentbased_always_off, \
                 parentbased_traceidratio)"
            ))
        }
    })
}

fn ratio(arg: &str) -> Result<f64, String> {
    match arg.trim().parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(format!(
            "OTEL_TRACES_SAMPLER_ARG: `{arg}` is not a ratio between 0 and 1"
        )),
    }
}

/// `OTEL_SERVICE_NAME`; else none when `OTEL_RESOURCE_ATTRIBUTES` names the service; else ours.
fn service_name<'a>(var: &impl Fn(&str) -> Option<&'a str>) -> Option<String> {
    if let Some(name) = var("OTEL_SERVICE_NAME") {
        return Some(name.to_owned());
    }
    let attributes = var("OTEL_RESOURCE_ATTRIBUTES").unwrap_or_default();
    let named = attributes
        .split(',')
        .any(|pair| pair.split('=').next().map(str::trim) == Some("service.name"));
    (!named).then(|| DEFAULT_SERVICE_NAME.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Option<TraceSettings>, String> {
        let env = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TraceSettings::from_env(&env)
    }

    const ENDPOINT: (&str, &str) = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");

    #[test]
    fn without_an_endpoint_traces_are_off() {
        let unrelated = [("OTEL_SERVICE_NAME", "bots"), ("OTEL_TRACES_SAMPLER", "x")];
        assert!(settings(&unrelated).unwrap().is_none());
    }

    #[test]
    fn an_endpoint_turns_them_on_with_the_defaults() {
        let on = settings(&[ENDPOINT]).unwrap().unwrap();
        assert_eq!(on.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(on.service_name.as_deref(), Some("switchboard"));
        assert_eq!(
            format!("{:?}", on.sampler),
            format!("{:?}", default_sampler())
        );
        let traces_only = (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://c:4318/v1/traces",
        );
        assert!(settings(&[traces_only]).unwrap().is_some());
    }

    #[test]
    fn the_protocol_and_service_name_are_read() {
        let grpc = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_SERVICE_NAME", "bots-eu"),
        ]);
        let grpc = grpc.unwrap().unwrap();
        assert_eq!(grpc.protocol, OtlpProtocol::Grpc);
        assert_eq!(grpc.service_name.as_deref(), Some("bots-eu"));
        let traces_protocol = settings(&[
            ENDPOINT,
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
        ]);
        assert_eq!(
            traces_protocol.unwrap().unwrap().protocol,
            OtlpProtocol::HttpProtobuf
        );
        let named = [
            ENDPOINT,
            ("OTEL_RESOURCE_ATTRIBUTES", "a=b, service.name=x"),
        ];
        assert_eq!(settings(&named).unwrap().unwrap().service_name, None);
    }

    #[test]
    fn samplers_take_their_ratio() {
        let sampled = |name: &str, arg: &str| {
            let vars = [
                ENDPOINT,
                ("OTEL_TRACES_SAMPLER", name),
                ("OTEL_TRACES_SAMPLER_ARG", arg),
            ];
            format!("{:?}", settings(&vars).unwrap().unwrap().sampler)
        };
        let expected = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.25)));
        assert_eq!(
            sampled("parentbased_traceidratio", "0.25"),
            format!("{expected:?}")
        );
        assert_eq!(sampled("always_off", "1"), "AlwaysOff");
        assert_eq!(sampled("traceidratio", "0.5"), "TraceIdRatioBased(0.5)");
    }

    #[test]
    fn what_cannot_be_honoured_is_refused() {
        for vars in [
            vec![ENDPOINT, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
            vec![ENDPOINT, ("OTEL_TRACES_SAMPLER", "jaeger_remote")],
            vec![ENDPOINT, ("OTEL_TRACES_SAMPLER_ARG", "1.5")],
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ],
        ] {
            let refused = settings(&vars).unwrap_err();
            assert!(refused.starts_with("OTEL_"), "{refused}");
        }
    }
}
