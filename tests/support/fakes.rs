//! Wiremock fakes of an OpenAI-compatible API and of the Telegram Bot API, on loopback.

use crate::wait::poll_until;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// How long to keep watching for a message that must not come.
pub const SETTLE: Duration = Duration::from_millis(700);

/// A chat-completion response carrying `text`.
pub fn completion(text: &str) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    })
}

/// What [`FakeOpenAi::using_tools`] answers to `body`.
fn tool_answer(body: &Value) -> Value {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let asked = messages.iter().rev().find(|m| m["role"] == "user");
    let asked = asked
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    let (tool, arguments) = asked
        .strip_prefix("use ")
        .map(|rest| rest.split_once(' ').unwrap_or((rest, "{}")))
        .unwrap_or(("none", "{}"));
    let last = messages.last().cloned().unwrap_or(Value::Null);
    if body.get("tools").is_none() {
        return completion(&format!("no tools: {asked}"));
    }
    if body["tool_choice"] == "none" {
        return completion("I stop here.");
    }
    if last["role"] == "tool" && tool != "again" {
        let result = last["content"].as_str().unwrap_or_default();
        return completion(&format!("{tool} said: {result}"));
    }
    let id = format!(
        "call_{}",
        messages.iter().filter(|m| m["role"] == "tool").count()
    );
    let call = json!({"id": id, "type": "function",
        "function": {"name": tool, "arguments": arguments}});
    let mut answer = completion("");
    answer["choices"][0]["message"] =
        json!({"role": "assistant", "content": null, "tool_calls": [call]});
    answer["choices"][0]["finish_reason"] = json!("tool_calls");
    answer
}

pub struct FakeOpenAi {
    pub server: MockServer,
}

impl FakeOpenAi {
    /// Answers every request with `text`, after `failures` answers of 500.
    pub async fn failing_then_answering(failures: u64, text: &str) -> Self {
        let server = MockServer::start().await;
        if failures > 0 {
            Mock::given(method("POST"))
                .and(path("/chat/completions"))
                .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
                .up_to_n_times(failures)
                .with_priority(1)
                .mount(&server)
                .await;
        }
        Self::mount_answer(
            &server,
            ResponseTemplate::new(200).set_body_json(completion(text)),
        )
        .await;
        Self { server }
    }

    pub async fn answering(text: &str) -> Self {
        Self::failing_then_answering(0, text).await
    }

    /// Answers `text` after `delay`, to keep a job busy.
    pub async fn slow(text: &str, delay: Duration) -> Self {
        let server = MockServer::start().await;
        let slow = ResponseTemplate::new(200)
            .set_body_json(completion(text))
            .set_delay(delay);
        Self::mount_answer(&server, slow).await;
        Self { server }
    }

    /// Answers `re: <the last user message>`, so that replies can be told apart.
    pub async fn echoing() -> Self {
        Self::echoing_on(MockServer::start().await, Duration::ZERO).await
    }

    /// Echoes like [`Self::echoing`] without keeping the requests, for load runs, each answer
    /// `latency` late as a real model's is: hundreds of requests may wait at once.
    pub async fn echoing_after(latency: Duration) -> Self {
        Self::echoing_on(load_server().await, latency).await
    }

    async fn echoing_on(server: MockServer, latency: Duration) -> Self {
        Mock::given(method("POST"))
            .and(path("/chat/completions"))
            .respond_with(move |request: &Request| {
                let body: Value = request.body_json().unwrap_or(Value::Null);
                let last = body["messages"]
                    .as_array()
                    .and_then(|m| m.last())
                    .cloned()
                    .unwrap_or(Value::Null);
                let text = format!("re: {}", last["content"].as_str().unwrap_or_default());
                let answer = ResponseTemplate::new(200).set_body_json(completion(&text));
                if latency.is_zero() {
                    answer
                } else {
                    answer.set_delay(latency)
                }
            })
            .mount(&server)
            .await;
        Self { server }
    }

    /// A model that uses tools: a user message `use TOOL {json}` makes it call `TOOL` with
    /// those arguments; given the result, it answers `TOOL said: RESULT` — except for `again`,
    /// which it calls once more each time, until `tool_choice` is `none` (then: `I stop here.`).
    /// Offered no tools, it answers `no tools: MESSAGE`.
    pub async fn using_tools() -> Self {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/chat/completions"))
            .respond_with(|request: &Request| {
                let body: Value = request.body_json().unwrap_or(Value::Null);
                ResponseTemplate::new(200).set_body_json(tool_answer(&body))
            })
            .mount(&server)
            .await;
        Self { server }
    }

    pub async fn always_failing() -> Self {
        let server = MockServer::start().await;
        Self::mount_answer(&server, ResponseTemplate::new(503)).await;
        Self { server }
    }

    /// Forgets every answer and request so far, then answers every request with `text`.
    pub async fn recover(&self, text: &str) {
        self.server.reset().await;
        let answer = ResponseTemplate::new(200).set_body_json(completion(text));
        Self::mount_answer(&self.server, answer).await;
    }

    async fn mount_answer(server: &MockServer, template: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path("/chat/completions"))
            .respond_with(template)
            .mount(server)
            .await;
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// The JSON bodies of the chat-completion requests received so far.
    pub async fn requests(&self) -> Vec<Value> {
        bodies(&self.server, "/chat/completions").await
    }

    /// The last message of the `n`th chat-completion request (from 0).
    pub async fn last_message(&self, n: usize) -> Value {
        let asked = self.requests().await;
        let messages = asked[n]["messages"].as_array().cloned().unwrap_or_default();
        messages.last().cloned().unwrap_or(Value::Null)
    }

    /// Moderates as OpenAI's `/moderations` does: an input holding `word` is flagged in
    /// `category`, any other passes.
    pub async fn moderating(&self, word: &'static str, category: &'static str) {
        Mock::given(method("POST"))
            .and(path("/moderations"))
            .respond_with(move |request: &Request| {
                let body: Value = request.body_json().unwrap_or(Value::Null);
                let flagged = body["input"].as_str().unwrap_or_default().contains(word);
                ResponseTemplate::new(200).set_body_json(json!({
                    "id": "modr-test",
                    "model": "omni-moderation-latest",
                    "results": [{"flagged": flagged, "categories": {category: flagged, "hate": false}}]
                }))
            })
            .mount(&self.server)
            .await;
    }

    /// The JSON bodies of the moderation requests received so far.
    pub async fn moderations(&self) -> Vec<Value> {
        bodies(&self.server, "/moderations").await
    }
}

/// One `sendMessage` call the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub chat_id: Value,
    pub text: String,
}

pub struct FakeTelegram {
    pub server: MockServer,
    /// How many of the first `sendMessage` calls are refused with 429.
    refusals: usize,
    /// When each `sendMessage` arrived.
    arrivals: Arc<Mutex<Vec<Instant>>>,
    /// When each `getUpdates` arrived.
    polls: Arc<Mutex<Vec<Instant>>>,
    /// When each call of the methods that grow a reply (`sendMessageDraft`, `editMessageText`)
    /// arrived, by method.
    growth: HashMap<&'static str, Arc<Mutex<Vec<Instant>>>>,
}

/// Answers with `template`, noting the arrival time in `arrivals`.
fn timed(
    template: ResponseTemplate,
    arrivals: &Arc<Mutex<Vec<Instant>>>,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    let arrivals = arrivals.clone();
    move |_: &Request| {
        arrivals.lock().expect("arrivals").push(Instant::now());
        template.clone()
    }
}

/// What `sendMessage` answers: the sent message, as the Bot API does.
pub(crate) fn sent_message() -> Value {
    json!({"ok": true, "result": {
        "message_id": 1, "date": 1_700_000_000,
        "chat": {"id": 42, "type": "private", "first_name": "Test"},
        "from": {"id": 1, "is_bot": true, "first_name": "Bot"},
        "text": "ok"
    }})
}

impl FakeTelegram {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let ok = ResponseTemplate::new(200).set_body_json(sent_message());
        Mock::given(method("POST"))
            .and(path_regex(api_method("sendMessage")))
            .respond_with(timed(ok, &arrivals))
            .mount(&server)
            .await;
        mount_other_methods(&server).await;
        let shown = ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": true}));
        let edited = ResponseTemplate::new(200).set_body_json(sent_message());
        let mut growth = HashMap::new();
        for (name, answer) in [("sendMessageDraft", shown), ("editMessageText", edited)] {
            let times: Arc<Mutex<Vec<Instant>>> = Arc::default();
            Mock::given(method("POST"))
                .and(path_regex(api_method(name)))
                .respond_with(timed(answer, &times))
                .mount(&server)
                .await;
            growth.insert(name, times);
        }
        Self {
            server,
            refusals: 0,
            arrivals,
            polls: Arc::default(),
            growth,
        }
    }

    /// Serves `bytes` as every file a `getFile` asks for (at `photos/f.jpg`).
    pub async fn serve_file(&self, bytes: &[u8]) {
        let file = json!({"ok": true, "result": {"file_id": "f", "file_unique_id": "u",
            "file_size": bytes.len(), "file_path": "photos/f.jpg"}});
        Mock::given(method("POST"))
            .and(path_regex(api_method("getFile")))
            .respond_with(ResponseTemplate::new(200).set_body_json(file))
            .mount(&self.server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex("^/file/bot[^/]+/photos/f.jpg$"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.to_vec()))
            .mount(&self.server)
            .await;
    }

    /// When each call of `name` (`sendMessageDraft` or `editMessageText`) arrived, in order.
    pub fn growth_times(&self, name: &str) -> Vec<Instant> {
        self.growth[name].lock().expect("growth").clone()
    }

    /// When each `sendMessage` arrived, in order.
    pub fn send_times(&self) -> Vec<Instant> {
        self.arrivals.lock().expect("arrivals").clone()
    }

    /// Makes the first `times` `sendMessage` calls answer 429 with `retry_after` seconds.
    pub async fn rate_limit_first(&mut self, times: u64, retry_after: u64) {
        self.refusals += times as usize;
        let body = json!({"ok": false, "error_code": 429,
            "description": format!("Too Many Requests: retry after {retry_after}"),
            "parameters": {"retry_after": retry_after}});
        let template = ResponseTemplate::new(429).set_body_json(body);
        Mock::given(method("POST"))
            .and(path_regex(api_method("sendMessage")))
            .respond_with(timed(template, &self.arrivals))
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// Every `sendMessage` received so far, successful or not, in arrival order.
    pub async fn send_attempts(&self) -> Vec<Sent> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter(|r| is_call(r, "sendMessage"))
            .map(to_sent)
            .collect()
    }

    /// Waits until `count` messages were delivered (answered 200), then returns them all;
    /// panics, showing what did arrive, when they do not within `timeout`.
    pub async fn wait_for_sent(&self, count: usize, timeout: Duration) -> Vec<Sent> {
        let what = format!("{count} delivered messages");
        poll_until(timeout, &what, || async {
            let sent = self.delivered().await;
            (sent.len() >= count).then_some(sent)
        })
        .await
    }

    /// Everything delivered, once the pipeline has had [`SETTLE`] to send anything more.
    pub async fn sent_after_settling(&self) -> Vec<Sent> {
        tokio::time::sleep(SETTLE).await;
        self.delivered().await
    }

    /// Deliveries that succeeded: the attempts after the ones refused with 429.
    async fn delivered(&self) -> Vec<Sent> {
        self.send_attempts()
            .await
            .into_iter()
            .skip(self.refusals)
            .collect()
    }

    /// The time between the first `sendMessage` and each one after it.
    pub fn arrival_gaps(&self) -> Vec<Duration> {
        let arrivals = self.arrivals.lock().expect("arrivals");
        arrivals
            .iter()
            .map(|t| t.duration_since(arrivals[0]))
            .collect()
    }
}

/// How long the fake holds a `getUpdates` that has nothing more to serve, as a long poll.
pub const IDLE_POLL: Duration = Duration::from_millis(300);

impl FakeTelegram {
    /// Serves `answers` to the successive `getUpdates` calls (each a list of updates), then
    /// holds each further call for [`IDLE_POLL`] and answers it empty.
    pub async fn serve_updates(&self, answers: Vec<Value>) {
        let polls = self.polls.clone();
        Mock::given(method("POST"))
            .and(path_regex(api_method("getUpdates")))
            .respond_with(move |_: &Request| {
                let call = {
                    let mut polls = polls.lock().expect("polls");
                    polls.push(Instant::now());
                    polls.len() - 1
                };
                match answers.get(call) {
                    Some(updates) => updates_answer(updates.clone()),
                    None => updates_answer(json!([])).set_delay(IDLE_POLL),
                }
            })
            .mount(&self.server)
            .await;
    }

    /// The time between each `getUpdates` and the one before it.
    pub fn poll_gaps(&self) -> Vec<Duration> {
        let polls = self.polls.lock().expect("polls");
        polls
            .windows(2)
            .map(|w| w[1].duration_since(w[0]))
            .collect()
    }

    /// The JSON bodies of the `getUpdates` calls so far, in arrival order.
    pub async fn get_updates_bodies(&self) -> Vec<Value> {
        self.calls("getUpdates")
            .await
            .iter()
            .map(|r| r.body_json().unwrap_or(Value::Null))
            .collect()
    }

    /// The calls of Bot API method `name` so far.
    pub async fn calls(&self, name: &str) -> Vec<Request> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests.into_iter().filter(|r| is_call(r, name)).collect()
    }
}

fn updates_answer(updates: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": updates}))
}

/// Answers `sendChatAction`, `setWebhook` and `deleteWebhook` with success.
pub(crate) async fn mount_other_methods(server: &MockServer) {
    let ok_true = ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": true}));
    for name in ["sendChatAction", "setWebhook", "deleteWebhook"] {
        Mock::given(method("POST"))
            .and(path_regex(api_method(name)))
            .respond_with(ok_true.clone())
            .mount(server)
            .await;
    }
}

/// A Telegram fake for load runs: it keeps no requests, only when each reply text first arrived.
pub struct TimingTelegram {
    pub server: MockServer,
    first_arrivals: Arc<Mutex<HashMap<String, Instant>>>,
    sends: Arc<AtomicUsize>,
}

impl TimingTelegram {
    pub async fn start() -> Self {
        let server = load_server().await;
        let first_arrivals: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let sends = Arc::new(AtomicUsize::new(0));
        let (arrivals, count) = (first_arrivals.clone(), sends.clone());
        let ok = ResponseTemplate::new(200).set_body_json(sent_message());
        Mock::given(method("POST"))
            .and(path_regex(api_method("sendMessage")))
            .respond_with(move |request: &Request| {
                let at = Instant::now();
                count.fetch_add(1, Ordering::Relaxed);
                let text = to_sent(request).text;
                arrivals.lock().expect("arrivals").entry(text).or_insert(at);
                ok.clone()
            })
            .mount(&server)
            .await;
        mount_other_methods(&server).await;
        Self {
            server,
            first_arrivals,
            sends,
        }
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// Waits until `count` distinct texts arrived or the timeout passes; returns when each
    /// text first arrived, and how many `sendMessage` calls there were in all.
    pub async fn wait_for_distinct(
        &self,
        count: usize,
        timeout: Duration,
    ) -> (HashMap<String, Instant>, usize) {
        let deadline = Instant::now() + timeout;
        while self.first_arrivals.lock().expect("arrivals").len() < count
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(SETTLE).await;
        let arrivals = self.first_arrivals.lock().expect("arrivals").clone();
        (arrivals, self.sends.load(Ordering::Relaxed))
    }
}

/// A fake's server for load runs: it keeps no requests, and its listener queues up to
/// [`LOAD_BACKLOG`] connections not yet accepted (a burst opens hundreds at once).
pub(crate) async fn load_server() -> MockServer {
    MockServer::builder()
        .listener(deep_listener())
        .disable_request_recording()
        .start()
        .await
}

/// How many pending connections a load fake's listener queues (the kernel caps it at somaxconn).
const LOAD_BACKLOG: u32 = 4096;

fn deep_listener() -> std::net::TcpListener {
    let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    socket.bind(loopback).expect("a loopback port");
    let listener = socket.listen(LOAD_BACKLOG).expect("listening");
    listener.into_std().expect("a std listener")
}

/// Matches `/bot<token>/<method>`, whatever the method's case.
fn api_method(name: &str) -> String {
    format!("(?i)^/bot[^/]+/{name}$")
}

fn is_call(request: &Request, name: &str) -> bool {
    let path = request.url.path().to_ascii_lowercase();
    path.starts_with("/bot") && path.ends_with(&format!("/{}", name.to_ascii_lowercase()))
}

fn to_sent(request: &Request) -> Sent {
    let body: Value = request.body_json().unwrap_or(Value::Null);
    Sent {
        chat_id: body["chat_id"].clone(),
        text: body["text"].as_str().unwrap_or_default().to_owned(),
    }
}

async fn bodies(server: &MockServer, at: &str) -> Vec<Value> {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|r| r.url.path() == at)
        .filter_map(|r| r.body_json().ok())
        .collect()
}
