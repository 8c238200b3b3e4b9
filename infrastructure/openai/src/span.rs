//! The model call's span, with the OpenTelemetry GenAI semantic-convention attributes; never the prompt or the answer.

use application::ports::{Completion, ModelError};
use tracing::field::Empty;

/// The span of one chat completion against `model`, its retries included.
pub(crate) fn chat_span(model: &str) -> tracing::Span {
    tracing::info_span!(
        "gen_ai",
        otel.name = format!("chat {model}"),
        otel.kind = "client",
        otel.status_code = Empty,
        gen_ai.operation.name = "chat",
        gen_ai.system = "openai",
        gen_ai.request.model = model,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        "error.type" = Empty,
    )
}

/// Records on `span` what came of the call: the tokens it took (as `i64`: the trace layer
/// exports unsigned numbers as text), or the kind of failure.
pub(crate) fn record(span: &tracing::Span, answer: &Result<Completion, ModelError>) {
    match answer {
        Ok(Completion {
            usage: Some(usage), ..
        }) => {
            span.record("gen_ai.usage.input_tokens", i64::from(usage.prompt_tokens));
            span.record(
                "gen_ai.usage.output_tokens",
                i64::from(usage.completion_tokens),
            );
        }
        Ok(_) => {}
        Err(error) => {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", error_type(error));
        }
    }
}

fn error_type(error: &ModelError) -> &'static str {
    match error {
        ModelError::Unavailable(_) => "unavailable",
        ModelError::Rejected(_) => "rejected",
    }
}
