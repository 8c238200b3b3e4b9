//! OpenTelemetry across processes: one trace from a `serve` web tier's webhook to a separate `worker`'s model call and send, exported over OTLP/HTTP to a receiver on loopback.

use crate::binary;
use database::testing::fresh_postgres;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::time::Duration;
use switchboard_e2e::app::{BOT_TOKEN, SECRET};
use switchboard_e2e::fakes::{completion, FakeTelegram};
use switchboard_e2e::process::WorkerProcess;
use switchboard_e2e::{updates, TestApp, TestConfig};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What the user says: it must reach no span.
const QUESTION: &str = "what is my private number 4417";
/// What the model answers, with the tokens it reports.
const ANSWER: &str = "the reply nobody else may read";
const INPUT_TOKENS: i64 = 17;
const OUTPUT_TOKENS: i64 = 5;

/// An OpenAI-compatible fake that answers with [`ANSWER`] and reports its token usage.
async fn model() -> MockServer {
    let server = MockServer::start().await;
    let mut answer = completion(ANSWER);
    answer["usage"] = serde_json::json!({
        "prompt_tokens": INPUT_TOKENS,
        "completion_tokens": OUTPUT_TOKENS,
        "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS
    });
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    server
}

/// How each receiver's body frames the `ExportTraceServiceRequest`.
#[derive(Clone, Copy)]
enum Otlp {
    /// `POST /v1/traces`, the message as the body.
    Http,
    /// gRPC over h2c: `POST /…TraceService/Export`, the message after a 5-byte prefix.
    Grpc,
}

impl Otlp {
    fn path(self) -> &'static str {
        match self {
            Self::Http => "/v1/traces",
            Self::Grpc => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        }
    }

    /// The accepting answer: an empty message (for gRPC, framed, with an OK status).
    fn answer(self) -> ResponseTemplate {
        match self {
            Self::Http => ResponseTemplate::new(200),
            Self::Grpc => ResponseTemplate::new(200)
                .insert_header("content-type", "application/grpc")
                .insert_header("grpc-status", "0")
                .set_body_bytes(vec![0u8; 5]),
        }
    }

    fn message(self, body: &[u8]) -> &[u8] {
        match self {
            Self::Http => body,
            Self::Grpc => &body[5..],
        }
    }
}

/// An OTLP receiver on loopback: accepts every export; the bodies are read afterwards.
async fn collector(otlp: Otlp) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(otlp.path()))
        .respond_with(otlp.answer())
        .mount(&server)
        .await;
    server
}

/// A span as exported, with the service that exported it.
#[derive(Debug)]
struct Exported {
    service: String,
    span: Span,
}

impl Exported {
    fn attribute(&self, key: &str) -> Option<&Any> {
        value_of(&self.span.attributes, key)
    }

    fn text(&self, key: &str) -> Option<&str> {
        match self.attribute(key)? {
            Any::StringValue(text) => Some(text),
            _ => None,
        }
    }

    fn number(&self, key: &str) -> Option<i64> {
        match self.attribute(key)? {
            Any::IntValue(number) => Some(*number),
            _ => None,
        }
    }
}

fn value_of<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Any> {
    let attribute = attributes.iter().find(|a| a.key == key)?;
    attribute.value.as_ref()?.value.as_ref()
}

/// Every span the receiver got, decoded as the OTLP protobuf messages; and the raw bodies.
async fn exported(collector: &MockServer, otlp: Otlp) -> (Vec<Exported>, Vec<Vec<u8>>) {
    let bodies: Vec<Vec<u8>> = collector
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|request| request.body)
        .collect();
    let mut spans = Vec::new();
    for body in &bodies {
        let request = ExportTraceServiceRequest::decode(otlp.message(body)).unwrap();
        for resource_spans in request.resource_spans {
            let resource = resource_spans.resource.unwrap_or_default();
            let service = match value_of(&resource.attributes, "service.name") {
                Some(Any::StringValue(name)) => name.clone(),
                other => panic!("no service.name: {other:?}"),
            };
            let scoped = resource_spans.scope_spans.into_iter();
            spans.extend(scoped.flat_map(|s| s.spans).map(|span| Exported {
                service: service.clone(),
                span,
            }));
        }
    }
    (spans, bodies)
}

/// The webhook's request span.
fn webhook(spans: &[Exported]) -> &Exported {
    spans
        .iter()
        .find(|s| s.span.name == "POST /webhooks/{platform}/{bot_id}")
        .expect("the webhook's request span was exported")
}

/// The span named `name` in `trace`; exactly one.
fn one<'a>(spans: &'a [Exported], trace: &[u8], name: &str) -> &'a Exported {
    let found: Vec<&Exported> = spans
        .iter()
        .filter(|s| s.span.trace_id == trace && s.span.name == name)
        .collect();
    assert_eq!(found.len(), 1, "one `{name}` span in the trace: {found:#?}");
    found[0]
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn one_trace_follows_a_message_from_the_web_tiers_webhook_to_the_workers_send() {
    let Some(db) = fresh_postgres().await else {
        eprintln!("skipped: SWITCHBOARD_TEST_DATABASE_URL is not set");
        return;
    };
    let (openai, telegram, collector) = (
        model().await,
        FakeTelegram::start().await,
        collector(Otlp::Http).await,
    );
    let config = TestConfig::with_urls(db.url(), &openai.uri(), &telegram.url())
        .with("OTEL_EXPORTER_OTLP_ENDPOINT", collector.uri())
        .with("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    let web_tier = config
        .clone()
        .with("OTEL_SERVICE_NAME", "switchboard-web")
        .with("SWITCHBOARD__WORKER__CONCURRENCY", 0);
    let web = TestApp::spawn_process(binary(), &web_tier);
    let workers = config.with("OTEL_SERVICE_NAME", "switchboard-worker");
    let worker = WorkerProcess::spawn(binary(), &workers.env());

    let bot = web.telegram_bot(None).await;
    web.deliver(&bot, &updates::text(1, 7, 1, QUESTION)).await;
    let sent = telegram.wait_for_sent(1, Duration::from_secs(30)).await;
    assert_eq!(sent[0].text, ANSWER);
    // SIGTERM: each process flushes its pending spans before it exits.
    assert!(web.stop().await, "the web tier exits 0 on SIGTERM");
    let worker_exit = tokio::task::spawn_blocking(move || worker.terminate()).await;
    assert!(
        worker_exit.unwrap().success(),
        "the worker exits 0 on SIGTERM"
    );

    let (spans, bodies) = exported(&collector, Otlp::Http).await;
    let webhook = webhook(&spans);
    assert_eq!(webhook.service, "switchboard-web");
    assert!(
        webhook.span.parent_span_id.is_empty(),
        "a webhook starts its trace"
    );
    let trace = webhook.span.trace_id.as_slice();

    let intake = one(&spans, trace, "intake");
    assert_eq!(intake.service, "switchboard-web");
    let job = one(&spans, trace, "job reply");
    assert_eq!(job.service, "switchboard-worker");
    assert_eq!(
        job.span.parent_span_id, intake.span.span_id,
        "the job continues the intake's span, through the traceparent stored with it"
    );
    assert_eq!(job.text("outcome"), Some("completed"));

    let call = one(&spans, trace, "chat test-model");
    assert_eq!(call.service, "switchboard-worker");
    assert_eq!(call.text("gen_ai.system"), Some("openai"));
    assert_eq!(call.text("gen_ai.operation.name"), Some("chat"));
    assert_eq!(call.text("gen_ai.request.model"), Some("test-model"));
    assert_eq!(call.number("gen_ai.usage.input_tokens"), Some(INPUT_TOKENS));
    assert_eq!(
        call.number("gen_ai.usage.output_tokens"),
        Some(OUTPUT_TOKENS)
    );

    let send = one(&spans, trace, "send telegram");
    assert_eq!(send.service, "switchboard-worker");
    assert_eq!(send.text("platform"), Some("telegram"));
    assert_eq!(send.text("outcome"), Some("sent"));

    // Every exported byte: span names, attributes, events and resources alike.
    assert!(bodies.iter().any(|b| contains(b, "gen_ai.request.model")));
    for secret in [BOT_TOKEN, SECRET, QUESTION, ANSWER, "sk-test"] {
        let leaked = bodies.iter().any(|body| contains(body, secret));
        assert!(!leaked, "`{secret}` reached an exported span");
    }
}

#[tokio::test]
async fn over_grpc_one_serve_process_exports_the_same_trace() {
    let db = database::testing::fresh_sqlite();
    let (openai, telegram, collector) = (
        model().await,
        FakeTelegram::start().await,
        collector(Otlp::Grpc).await,
    );
    let config = TestConfig::with_urls(db.url(), &openai.uri(), &telegram.url())
        .with("OTEL_EXPORTER_OTLP_ENDPOINT", collector.uri())
        .with("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    let app = TestApp::spawn_process(binary(), &config);
    let bot = app.telegram_bot(None).await;
    app.deliver(&bot, &updates::text(1, 7, 1, QUESTION)).await;
    telegram.wait_for_sent(1, Duration::from_secs(30)).await;
    assert!(app.stop().await, "exit code 0 after SIGTERM");

    let (spans, _) = exported(&collector, Otlp::Grpc).await;
    let webhook = webhook(&spans);
    assert_eq!(webhook.service, "switchboard", "the default service name");
    let trace = webhook.span.trace_id.as_slice();
    for name in ["intake", "job reply", "chat test-model", "send telegram"] {
        assert_eq!(one(&spans, trace, name).service, "switchboard");
    }
}
