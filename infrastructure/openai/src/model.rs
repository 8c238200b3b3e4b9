//! `OpenAiModel`: the language-model port over HTTP (chat completions and moderations), with retries that honour `Retry-After`.

use crate::settings::{KeyHeader, OpenAiSettings};
use crate::span;
use crate::stream::{StreamError, StreamReader};
use crate::wire;
use application::backoff::{backoff_delay, parse_retry_after};
use application::metrics::{self, ModelOutcome};
use application::ports::{
    AnswerSink, ChatRequest, Completion, Flags, LanguageModel, ModelError, ModerationRequest,
};
use async_openai::types::{ChatCompletionStreamOptions, CreateChatCompletionRequest};
use async_trait::async_trait;
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Why the adapter could not be built from its settings.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("invalid AI base URL `{url}`: {reason}")]
    BaseUrl { url: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The provider label of this adapter's metrics.
const PROVIDER: &str = "openai";

/// Calls `{base_url}/chat/completions` with async-openai's request and response types (and
/// `{base_url}/moderations`) over our own reqwest client, so that status codes and
/// `Retry-After` stay visible.
#[derive(Debug, Clone)]
pub struct OpenAiModel {
    client: reqwest::Client,
    endpoint: Url,
    moderations: Url,
    settings: OpenAiSettings,
}

/// Why one attempt failed.
enum Failure {
    /// Worth another attempt; `wait` is the server's `Retry-After`, when it sent one.
    Retry {
        reason: String,
        wait: Option<Duration>,
        outcome: ModelOutcome,
    },
    /// No retry can help.
    Fatal(ModelError),
}

impl OpenAiModel {
    pub fn new(settings: OpenAiSettings) -> Result<Self, BuildError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()?;
        Ok(Self {
            client,
            endpoint: endpoint(&settings, "chat/completions")?,
            moderations: endpoint(&settings, "moderations")?,
            settings,
        })
    }

    /// One attempt, recorded in the model metrics under the request's model name.
    async fn measured(
        &self,
        model: &str,
        attempt: impl Future<Output = Result<Completion, Failure>>,
    ) -> Result<Completion, Failure> {
        let started = Instant::now();
        let result = attempt.await;
        let outcome = match &result {
            Ok(answer) => {
                if let Some(usage) = &answer.usage {
                    metrics::model_tokens(PROVIDER, model, usage);
                }
                ModelOutcome::Ok
            }
            Err(Failure::Retry { outcome, .. }) => *outcome,
            Err(Failure::Fatal(_)) => ModelOutcome::Error,
        };
        metrics::model_call(PROVIDER, model, outcome, started.elapsed());
        result
    }

    async fn attempt(&self, body: &CreateChatCompletionRequest) -> Result<Completion, Failure> {
        let text = self.post(&self.endpoint, body).await?;
        wire::answer_from(&text).map_err(Failure::Fatal)
    }

    /// One streamed attempt: the events read as they arrive, their pieces handed to `sink`.
    async fn streamed(
        &self,
        body: &CreateChatCompletionRequest,
        sink: &ShownPieces,
    ) -> Result<Completion, Failure> {
        sink.begin_attempt();
        let mut response = self.send(&self.endpoint, body).await?;
        if !is_event_stream(response.headers()) {
            // A server that ignores `stream: true` answers the whole completion at once.
            let text = response.text().await.map_err(transport_failure)?;
            let answer = wire::answer_from(&text).map_err(Failure::Fatal)?;
            sink.piece(&answer.text);
            return Ok(answer);
        }
        let mut reader = StreamReader::default();
        while let Some(bytes) = response.chunk().await.map_err(transport_failure)? {
            reader.feed(&bytes, sink).map_err(stream_failure)?;
        }
        reader.answer().map_err(stream_failure)
    }

    /// One moderation attempt.
    async fn moderation(&self, body: &serde_json::Value) -> Result<Flags, Failure> {
        let text = self.post(&self.moderations, body).await?;
        wire::flags_from(&text).map_err(Failure::Fatal)
    }

    /// Posts `body` to `url` with the key; the body of a successful answer.
    async fn post(&self, url: &Url, body: &impl serde::Serialize) -> Result<String, Failure> {
        let response = self.send(url, body).await?;
        response.text().await.map_err(transport_failure)
    }

    /// Posts `body` to `url` with the key; the response, when its status is a success.
    async fn send(
        &self,
        url: &Url,
        body: &impl serde::Serialize,
    ) -> Result<reqwest::Response, Failure> {
        let mut request = self.client.post(url.clone()).json(body);
        if let Some(key) = &self.settings.api_key {
            request = match self.settings.key_header {
                KeyHeader::Bearer => request.bearer_auth(key.expose()),
                KeyHeader::AzureApiKey => request.header("api-key", key.expose()),
            };
        }
        let response = request.send().await.map_err(transport_failure)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let wait = retry_after(response.headers());
        let text = response.text().await.map_err(transport_failure)?;
        let reason = self.redacted(wire::error_summary(status.as_u16(), &text));
        if is_retryable(status) {
            let outcome = status_outcome(status);
            Err(Failure::Retry {
                reason,
                wait,
                outcome,
            })
        } else {
            Err(Failure::Fatal(ModelError::Rejected(reason)))
        }
    }

    /// `reason` without the key, should a server quote it back (some answer a refused key
    /// with "Incorrect API key provided: …"): the reason is logged.
    fn redacted(&self, reason: String) -> String {
        match &self.settings.api_key {
            Some(key) if !key.expose().is_empty() => reason.replace(key.expose(), "[redacted]"),
            _ => reason,
        }
    }

    fn backoff(&self, retry: u32) -> Duration {
        backoff_delay(
            retry + 1,
            self.settings.backoff_base,
            self.settings.backoff_cap,
        )
    }
}

#[async_trait]
impl LanguageModel for OpenAiModel {
    async fn complete(&self, request: &ChatRequest) -> Result<Completion, ModelError> {
        let body = wire::completion_request(request, &self.settings.default_model)?;
        let span = span::chat_span(&body.model);
        let attempt = || self.measured(&body.model, self.attempt(&body));
        let answer = self.with_retries(attempt).instrument(span.clone()).await;
        span::record(&span, &answer);
        answer
    }

    /// Streams with `stream: true` (usage asked for in the last chunk). A stream cut off or
    /// failing mid-way is asked for again whole, as a failed call is, after `sink` is told to
    /// forget what it was shown.
    async fn stream(
        &self,
        request: &ChatRequest,
        sink: Arc<dyn AnswerSink>,
    ) -> Result<Completion, ModelError> {
        let mut body = wire::completion_request(request, &self.settings.default_model)?;
        body.stream = Some(true);
        body.stream_options = Some(ChatCompletionStreamOptions {
            include_usage: true,
        });
        let span = span::chat_span(&body.model);
        let sink = ShownPieces::new(sink);
        let attempt = || self.measured(&body.model, self.streamed(&body, &sink));
        let answer = self.with_retries(attempt).instrument(span.clone()).await;
        span::record(&span, &answer);
        answer
    }

    async fn moderate(&self, request: &ModerationRequest) -> Result<Flags, ModelError> {
        let body = serde_json::json!({ "input": request.text });
        self.with_retries(|| self.moderation(&body)).await
    }
}

impl OpenAiModel {
    /// Runs `attempt` until it is answered, refused, or the retries are spent.
    async fn with_retries<T, F, Fut>(&self, attempt: F) -> Result<T, ModelError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut retry = 0;
        loop {
            let (reason, wait) = match attempt().await {
                Ok(answer) => return Ok(answer),
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Retry { reason, wait, .. }) => (reason, wait),
            };
            if retry >= self.settings.max_retries {
                return Err(ModelError::Unavailable(reason));
            }
            let delay = wait.unwrap_or_else(|| self.backoff(retry));
            tracing::warn!(retry, ?delay, %reason, "model call failed; retrying");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }
}

/// `{base_url}/{path}`, with the settings' query (Azure's `api-version`).
fn endpoint(settings: &OpenAiSettings, path: &str) -> Result<Url, BuildError> {
    let base_url = &settings.base_url;
    let url = format!("{}/{path}", base_url.trim_end_matches('/'));
    let mut url = Url::parse(&url).map_err(|e| BuildError::BaseUrl {
        url: base_url.to_owned(),
        reason: e.to_string(),
    })?;
    if !settings.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&settings.query);
    }
    Ok(url)
}

/// 408, 429 and 5xx are worth retrying; any other status is the request's fault.
fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// A retried status as the metrics count it: 429 is rate limiting, 408 and 504 time-outs.
fn status_outcome(status: StatusCode) -> ModelOutcome {
    match status {
        StatusCode::TOO_MANY_REQUESTS => ModelOutcome::RateLimited,
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ModelOutcome::Timeout,
        _ => ModelOutcome::Error,
    }
}

/// The longest wait a server's `Retry-After` may impose on one attempt.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, RETRY_AFTER_CAP)
}

/// Whether an answer is server-sent events rather than one JSON completion.
fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"))
}

/// A stream that broke is retried; one that finished with nothing is the answer's fault.
fn stream_failure(error: StreamError) -> Failure {
    match error {
        StreamError::Broken(reason) => Failure::Retry {
            reason,
            wait: None,
            outcome: ModelOutcome::Error,
        },
        StreamError::Empty => Failure::Fatal(ModelError::Rejected(
            "the completion has no content".to_owned(),
        )),
    }
}

/// The caller's sink, remembering whether an attempt showed it anything: the next attempt
/// first tells it to forget that.
struct ShownPieces {
    sink: Arc<dyn AnswerSink>,
    shown: AtomicBool,
}

impl ShownPieces {
    fn new(sink: Arc<dyn AnswerSink>) -> Self {
        Self {
            sink,
            shown: AtomicBool::new(false),
        }
    }

    fn begin_attempt(&self) {
        if self.shown.swap(false, Ordering::Relaxed) {
            self.sink.restart();
        }
    }
}

impl AnswerSink for ShownPieces {
    fn piece(&self, text: &str) {
        self.shown.store(true, Ordering::Relaxed);
        self.sink.piece(text);
    }

    fn restart(&self) {
        self.sink.restart();
    }
}

/// Timeouts, refused connections and cut-off bodies are retried; a request we could not
/// even build is not.
fn transport_failure(error: reqwest::Error) -> Failure {
    let (reason, outcome) = if error.is_timeout() {
        (format!("timed out: {error}"), ModelOutcome::Timeout)
    } else {
        (format!("network error: {error}"), ModelOutcome::Error)
    };
    if error.is_builder() {
        Failure::Fatal(ModelError::Rejected(reason))
    } else {
        Failure::Retry {
            reason,
            wait: None,
            outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_appends_the_path_once() {
        let at = |base_url: &str| OpenAiSettings {
            base_url: base_url.to_owned(),
            ..OpenAiSettings::default()
        };
        let with_slash = endpoint(&at("http://localhost:1/v1/"), "moderations").unwrap();
        assert_eq!(with_slash.as_str(), "http://localhost:1/v1/moderations");
        assert!(matches!(
            endpoint(&at("not a url"), "chat/completions"),
            Err(BuildError::BaseUrl { .. })
        ));
    }

    #[test]
    fn only_timeouts_rate_limits_and_server_errors_are_retried() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [400, 401, 403, 404, 422] {
            assert!(!is_retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }
}
