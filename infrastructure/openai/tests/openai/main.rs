//! Integration tests of the OpenAI adapter against a wiremock server on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use application::ports::{
    ChatRequest, ChatTurn, Completion, Flags, LanguageModel, ModelError, ModerationRequest,
    TokenUsage, TurnRole,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use switchboard_openai::{OpenAiModel, OpenAiSettings, ProviderClients, AZURE_API_VERSION};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MAX_RETRIES: u32 = 2;

fn settings(server: &MockServer, api_key: Option<&str>) -> OpenAiSettings {
    OpenAiSettings {
        base_url: format!("{}/v1", server.uri()),
        api_key: api_key.map(domain::Secret::new),
        default_model: "test-model".to_owned(),
        timeout: Duration::from_secs(5),
        max_retries: MAX_RETRIES,
        backoff_base: Duration::from_millis(1),
        backoff_cap: Duration::from_millis(5),
        ..OpenAiSettings::default()
    }
}

fn model(settings: OpenAiSettings) -> OpenAiModel {
    OpenAiModel::new(settings).unwrap()
}

fn chat() -> ChatRequest {
    let turn = |role, content: &str| ChatTurn {
        role,
        content: content.to_owned(),
    };
    ChatRequest {
        provider_id: None,
        model: None,
        temperature: None,
        system_prompt: "You are terse.".to_owned(),
        turns: vec![
            turn(TurnRole::User, "one"),
            turn(TurnRole::Assistant, "two"),
            turn(TurnRole::User, "three"),
        ],
        ..Default::default()
    }
}

/// A chat completion carrying `text`, and `usage` when given.
fn completion_body(text: &str, usage: Option<Value>) -> Value {
    let mut body = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop"
        }]
    });
    if let Some(usage) = usage {
        body["usage"] = usage;
    }
    body
}

fn completion(text: &str) -> ResponseTemplate {
    let usage = json!({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2});
    ResponseTemplate::new(200).set_body_json(completion_body(text, Some(usage)))
}

fn error(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {"message": format!("status {status}"), "type": "test"}
    }))
}

async fn mount(server: &MockServer, response: ResponseTemplate, times: Option<u64>) {
    let mock = Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(response);
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

async fn calls(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn request_carries_model_prompt_history_and_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test"))
        .respond_with(completion("four"))
        .expect(1)
        .mount(&server)
        .await;

    let answer = model(settings(&server, Some("sk-test")))
        .complete(&chat())
        .await
        .unwrap();

    assert_eq!(answer.text, "four");
    let request = &server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["model"], "test-model");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "two"},
            {"role": "user", "content": "three"},
        ])
    );
}

#[tokio::test]
async fn an_azure_provider_sends_its_key_as_api_key_with_the_api_version() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/chat/chat/completions"))
        .and(query_param("api-version", AZURE_API_VERSION))
        .and(header("api-key", "azure-secret"))
        .respond_with(completion("from azure"))
        .expect(1)
        .mount(&server)
        .await;
    let draft = domain::ProviderDraft {
        name: domain::ProviderName::parse("Azure").unwrap(),
        kind: domain::ProviderKind::AzureOpenai,
        base_url: domain::BaseUrl::parse(&format!("{}/openai/deployments/chat", server.uri()))
            .unwrap(),
        api_key: domain::Secret::new("azure-secret"),
        models: Vec::new(),
        prices: None,
    };
    let provider = domain::Provider::create(draft, chrono::Utc::now());
    let clients = ProviderClients::new(settings(&server, None));
    let model = application::ports::ModelFactory::model_for(&clients, &provider).unwrap();
    assert_eq!(model.complete(&chat()).await.unwrap().text, "from azure");
    let request = &server.received_requests().await.unwrap()[0];
    assert!(
        request.headers.get("authorization").is_none(),
        "no bearer key"
    );
}

/// What the model makes of a 200 answer with `body`.
async fn completion_of(body: Value) -> Completion {
    let server = MockServer::start().await;
    mount(
        &server,
        ResponseTemplate::new(200).set_body_json(body),
        None,
    )
    .await;
    model(settings(&server, None))
        .complete(&chat())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_responses_token_usage_is_reported() {
    let usage = json!({
        "prompt_tokens": 321,
        "completion_tokens": 54,
        "total_tokens": 375,
        "prompt_tokens_details": {"cached_tokens": 300}
    });
    let answer = completion_of(completion_body("counted", Some(usage))).await;

    assert_eq!(answer.text, "counted");
    let expected = TokenUsage {
        prompt_tokens: 321,
        completion_tokens: 54,
    };
    assert_eq!(answer.usage, Some(expected));
}

#[tokio::test]
async fn a_response_without_usage_reports_none() {
    let answer = completion_of(completion_body("uncounted", None)).await;

    assert_eq!((answer.text.as_str(), answer.usage), ("uncounted", None));
}

#[tokio::test]
async fn no_key_means_no_authorization_header_and_the_requested_model_wins() {
    let server = MockServer::start().await;
    mount(&server, completion("ok"), None).await;
    let request = ChatRequest {
        provider_id: None,
        model: Some("other-model".to_owned()),
        temperature: Some(0.2),
        ..chat()
    };

    model(settings(&server, None))
        .complete(&request)
        .await
        .unwrap();

    let received = &server.received_requests().await.unwrap()[0];
    assert!(!received.headers.contains_key("authorization"));
    let body: Value = serde_json::from_slice(&received.body).unwrap();
    assert_eq!(body["model"], "other-model");
    assert!((body["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let server = MockServer::start().await;
    mount(&server, error(500), Some(2)).await;
    mount(&server, completion("finally"), None).await;

    let answer = model(settings(&server, None)).complete(&chat()).await;

    assert_eq!(answer.unwrap().text, "finally");
    assert_eq!(calls(&server).await, 3);
}

#[tokio::test]
async fn persistent_server_errors_end_unavailable_after_the_retries() {
    let server = MockServer::start().await;
    mount(&server, error(503), None).await;

    let answer = model(settings(&server, None)).complete(&chat()).await;

    assert!(
        matches!(answer, Err(ModelError::Unavailable(_))),
        "{answer:?}"
    );
    assert_eq!(calls(&server).await, MAX_RETRIES as usize + 1);
}

#[tokio::test]
async fn retry_after_is_honoured_instead_of_the_backoff() {
    let server = MockServer::start().await;
    mount(
        &server,
        error(429).insert_header("retry-after", "1"),
        Some(1),
    )
    .await;
    mount(&server, completion("patient"), None).await;

    let started = Instant::now();
    let answer = model(settings(&server, None)).complete(&chat()).await;

    assert_eq!(answer.unwrap().text, "patient");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(calls(&server).await, 2);
}

#[tokio::test]
async fn client_errors_are_rejected_without_retry() {
    let server = MockServer::start().await;
    mount(&server, error(400), None).await;

    let answer = model(settings(&server, None)).complete(&chat()).await;

    match answer {
        Err(ModelError::Rejected(reason)) => assert!(reason.contains("status 400"), "{reason}"),
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(calls(&server).await, 1);
}

#[tokio::test]
async fn an_empty_answer_is_rejected() {
    let server = MockServer::start().await;
    mount(&server, completion(""), None).await;

    let answer = model(settings(&server, None)).complete(&chat()).await;

    assert!(matches!(answer, Err(ModelError::Rejected(_))), "{answer:?}");
    assert_eq!(calls(&server).await, 1);
}

#[tokio::test]
async fn a_server_slower_than_the_timeout_is_unavailable() {
    let server = MockServer::start().await;
    mount(
        &server,
        completion("too late").set_delay(Duration::from_secs(3)),
        None,
    )
    .await;
    let settings = OpenAiSettings {
        timeout: Duration::from_millis(200),
        max_retries: 1,
        ..settings(&server, None)
    };

    let answer = model(settings).complete(&chat()).await;

    match answer {
        Err(ModelError::Unavailable(reason)) => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(calls(&server).await, 2);
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let server = MockServer::start().await;
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = OpenAiSettings {
        base_url: format!("http://127.0.0.1:{closed_port}/v1"),
        ..settings(&server, None)
    };

    let answer = model(settings).complete(&chat()).await;

    assert!(
        matches!(answer, Err(ModelError::Unavailable(_))),
        "{answer:?}"
    );
}

/// A moderation response with one result.
fn moderation(flagged: bool, categories: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "modr-1",
        "model": "omni-moderation-latest",
        "results": [{"flagged": flagged, "categories": categories}]
    }))
}

fn checking(text: &str) -> ModerationRequest {
    ModerationRequest {
        provider_id: None,
        text: text.to_owned(),
    }
}

#[tokio::test]
async fn moderation_names_the_categories_a_flagged_text_is_in() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/moderations"))
        .and(header("authorization", "Bearer sk-mod"))
        .respond_with(moderation(
            true,
            json!({"violence": true, "hate": false, "harassment/threatening": true}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let flags = model(settings(&server, Some("sk-mod")))
        .moderate(&checking("a bad text"))
        .await
        .unwrap();
    assert_eq!(
        flags,
        Flags(vec!["harassment/threatening".into(), "violence".into()])
    );
    let sent: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(sent, json!({"input": "a bad text"}));
}

#[tokio::test]
async fn moderation_passes_a_clean_text_and_retries_an_outage_like_a_completion() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/moderations"))
        .respond_with(error(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/moderations"))
        .respond_with(moderation(false, json!({"violence": false})))
        .mount(&server)
        .await;
    let flags = model(settings(&server, None))
        .moderate(&checking("hello"))
        .await;
    assert_eq!(flags.unwrap(), Flags::default());

    let down = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error(503))
        .mount(&down)
        .await;
    let failed = model(settings(&down, None))
        .moderate(&checking("hello"))
        .await;
    assert!(
        matches!(failed, Err(ModelError::Unavailable(_))),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_key_quoted_back_in_an_error_is_not_repeated_in_the_reason() {
    let server = MockServer::start().await;
    let key = "sk-live-quoted-3f9c1a";
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"message": format!("Incorrect API key provided: {key}."), "type": "auth"}
        })))
        .mount(&server)
        .await;
    let refused = model(settings(&server, Some(key))).complete(&chat()).await;
    let Err(ModelError::Rejected(reason)) = refused else {
        panic!("a refused key is a rejection: {refused:?}")
    };
    assert_eq!(reason, "HTTP 401: Incorrect API key provided: [redacted].");
}

/// What a streamed answer showed: its pieces, and `None` where it was told to start again.
#[derive(Default)]
struct Shown(std::sync::Mutex<Vec<Option<String>>>);

impl application::ports::AnswerSink for Shown {
    fn piece(&self, text: &str) {
        self.0.lock().unwrap().push(Some(text.to_owned()));
    }
    fn restart(&self) {
        self.0.lock().unwrap().push(None);
    }
}

/// An event stream of `pieces`, finished (`stop`, usage, `[DONE]`) unless `cut`.
fn event_stream(pieces: &[&str], cut: bool) -> ResponseTemplate {
    let mut events: Vec<String> = pieces
        .iter()
        .map(|piece| {
            let chunk = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
            format!("data: {chunk}\n\n")
        })
        .collect();
    if !cut {
        let stop = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        let usage = json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}});
        events.push(format!("data: {stop}\n\ndata: {usage}\n\ndata: [DONE]\n\n"));
    }
    ResponseTemplate::new(200).set_body_raw(events.concat(), "text/event-stream")
}

#[tokio::test]
async fn a_streamed_answer_hands_on_its_pieces_and_returns_the_whole_with_its_usage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(event_stream(&["Hel", "lo ", "there"], false))
        .expect(1)
        .mount(&server)
        .await;
    let shown = std::sync::Arc::new(Shown::default());

    let answer = model(settings(&server, Some("sk-test")))
        .stream(&chat(), shown.clone())
        .await
        .unwrap();

    assert_eq!(answer.text, "Hello there");
    assert_eq!(
        answer.usage,
        Some(TokenUsage {
            prompt_tokens: 9,
            completion_tokens: 3
        })
    );
    let pieces: Vec<Option<String>> = ["Hel", "lo ", "there"]
        .iter()
        .map(|p| Some((*p).to_owned()))
        .collect();
    assert_eq!(*shown.0.lock().unwrap(), pieces);
    let sent: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn a_stream_cut_off_midway_is_asked_for_again_whole_after_a_restart() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(event_stream(&["Half an", " ans"], true))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(event_stream(&["Whole answer"], false))
        .mount(&server)
        .await;
    let shown = std::sync::Arc::new(Shown::default());

    let answer = model(settings(&server, None))
        .stream(&chat(), shown.clone())
        .await
        .unwrap();

    assert_eq!(answer.text, "Whole answer");
    let expected = vec![
        Some("Half an".to_owned()),
        Some(" ans".to_owned()),
        None,
        Some("Whole answer".to_owned()),
    ];
    assert_eq!(*shown.0.lock().unwrap(), expected);

    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(event_stream(&["never", " ends"], true))
        .mount(&failing)
        .await;
    let refused = model(settings(&failing, None))
        .stream(&chat(), std::sync::Arc::new(Shown::default()))
        .await;
    assert!(
        matches!(refused, Err(ModelError::Unavailable(ref reason)) if reason.contains("cut off")),
        "{refused:?}"
    );
    let asked = failing.received_requests().await.unwrap().len();
    assert_eq!(asked as u32, MAX_RETRIES + 1, "asked again whole each time");
}

#[tokio::test]
async fn a_server_that_ignores_stream_answers_whole_and_is_shown_whole() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(completion_body("All at once", None)),
        )
        .mount(&server)
        .await;
    let shown = std::sync::Arc::new(Shown::default());

    let answer = model(settings(&server, None))
        .stream(&chat(), shown.clone())
        .await
        .unwrap();

    assert_eq!(answer.text, "All at once");
    assert_eq!(*shown.0.lock().unwrap(), [Some("All at once".to_owned())]);
}
