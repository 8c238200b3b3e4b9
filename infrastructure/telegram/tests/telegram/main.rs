//! Integration tests of the Telegram channel against a wiremock Bot API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use application::format::{self, RichText};
use application::ports::{
    Channel, InboundRequest, PollError, Recipient, SendError, UpdateBatch, UpdateSource,
    VerifyError,
};
use chrono::Utc;
use domain::{BotId, Credentials, ExternalChatId, PlatformBinding, TelegramCredentials};
use serde_json::{json, Value};
use std::time::Duration;
use switchboard_telegram::{TelegramChannel, TelegramPoller};
use wiremock::matchers::{body_partial_json, body_string_contains, method};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "123456:ABC-test_token-DEF1234ghIkl-zyx57W2";
const SECRET: &str = "webhook-s3cret";

/// The smallest `Message` teloxide-core 0.13 accepts as a `sendMessage` result.
fn sent_message() -> Value {
    json!({"ok": true, "result": {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"}}})
}

/// Matches `/bot<TOKEN>/<method>` ignoring case: the Bot API's method names are
/// case-insensitive, and teloxide-core sends them capitalised (`SendMessage`).
struct BotMethod(String);

fn bot_method(name: &str) -> BotMethod {
    BotMethod(format!("/bot{TOKEN}/{name}"))
}

impl Match for BotMethod {
    fn matches(&self, request: &Request) -> bool {
        request.url.path().eq_ignore_ascii_case(&self.0)
    }
}

fn binding() -> PlatformBinding {
    let credentials = TelegramCredentials::parse(TOKEN, SECRET).unwrap();
    PlatformBinding::new(BotId::new(), Credentials::Telegram(credentials), Utc::now())
}

fn chat() -> ExternalChatId {
    ExternalChatId::parse("42").unwrap()
}

fn to() -> Recipient {
    Recipient {
        chat: chat(),
        reply_handle: None,
        part: 0,
        draft: None,
    }
}

fn api_error(status: u16, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "ok": false, "error_code": status, "description": description
    }))
}

async fn bot_api(method_name: &str, response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(bot_method(method_name))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

fn channel(server: &MockServer) -> TelegramChannel {
    TelegramChannel::new(server.uri()).unwrap()
}

async fn send(server: &MockServer) -> Result<(), SendError> {
    channel(server)
        .send_text(&binding(), &to(), &RichText::plain("hi *there*"))
        .await
        .map(|id| assert_eq!(id, None, "Telegram's message ids are not kept"))
}

fn plain(text: &str) -> RichText {
    RichText::plain(text)
}

/// The one part Telegram is sent for `markdown`.
fn formatted(markdown: &str) -> RichText {
    let mut parts = format::parts(
        markdown,
        TelegramChannel::new("http://x").unwrap().markup(),
        4096,
    );
    assert_eq!(parts.len(), 1);
    parts.remove(0)
}

async fn only_body(server: &MockServer) -> Vec<u8> {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    requests[0].body.clone()
}

#[tokio::test]
async fn send_text_posts_plain_text_to_the_chat() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(bot_method("sendMessage"))
        .and(body_partial_json(
            json!({"chat_id": 42, "text": "hi *there*"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(sent_message()))
        .expect(1)
        .mount(&server)
        .await;

    send(&server).await.unwrap();

    let body: Value = serde_json::from_slice(&only_body(&server).await).unwrap();
    assert!(body.get("parse_mode").is_none(), "{body}");
}

#[tokio::test]
async fn markdown_goes_as_text_and_entities_never_as_a_parse_mode() {
    let server = bot_api(
        "sendMessage",
        ResponseTemplate::new(200).set_body_json(sent_message()),
    )
    .await;
    let part =
        formatted("**Note:** run `make` [here](https://example.com/a_b)\n\n```sh\nmake all\n```");

    channel(&server)
        .send_text(&binding(), &to(), &part)
        .await
        .unwrap();

    let body: Value = serde_json::from_slice(&only_body(&server).await).unwrap();
    assert_eq!(body["text"], "Note: run make here\n\nmake all");
    assert_eq!(
        body["entities"],
        json!([
            {"type": "bold", "offset": 0, "length": 5},
            {"type": "code", "offset": 10, "length": 4},
            {"type": "text_link", "offset": 15, "length": 4, "url": "https://example.com/a_b"},
            {"type": "pre", "offset": 21, "length": 8, "language": "sh"},
        ])
    );
    assert!(body.get("parse_mode").is_none(), "{body}");
}

#[tokio::test]
async fn formatting_telegram_refuses_is_sent_again_once_as_plain_text() {
    let server = MockServer::start().await;
    let refusal = api_error(
        400,
        "Bad Request: can't parse entities: wrong entity offset",
    );
    Mock::given(method("POST"))
        .and(body_string_contains("entities"))
        .respond_with(refusal)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(sent_message()))
        .expect(1)
        .mount(&server)
        .await;

    let sent = channel(&server)
        .send_text(&binding(), &to(), &formatted("**hi** there"))
        .await;

    assert_eq!(sent, Ok(None));
    let requests = server.received_requests().await.unwrap();
    let last: Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(last, json!({"chat_id": 42, "text": "hi there"}));
}

#[tokio::test]
async fn a_refusal_of_a_text_without_entities_is_not_sent_again() {
    let refusal = api_error(400, "Bad Request: can't parse entities: odd");
    let server = bot_api("sendMessage", refusal).await;

    let sent = channel(&server)
        .send_text(&binding(), &to(), &plain("hi"))
        .await;

    assert!(matches!(sent, Err(SendError::Permanent(_))), "{sent:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_odd_but_successful_answer_is_not_sent_again() {
    let odd = ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": {}}));
    let server = bot_api("sendMessage", odd).await;

    assert_eq!(send(&server).await, Ok(()));
}

#[tokio::test]
async fn flood_control_is_rate_limited_with_its_delay() {
    let answer = ResponseTemplate::new(429).set_body_json(json!({
        "ok": false, "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3}
    }));
    let server = bot_api("sendMessage", answer).await;

    assert_eq!(
        send(&server).await,
        Err(SendError::RateLimited {
            retry_after: Duration::from_secs(3)
        })
    );
}

#[tokio::test]
async fn a_blocked_bot_is_a_permanent_failure() {
    let answer = api_error(403, "Forbidden: bot was blocked by the user");
    let server = bot_api("sendMessage", answer).await;

    assert!(matches!(send(&server).await, Err(SendError::Permanent(_))));
}

#[tokio::test]
async fn an_invalid_token_is_a_permanent_failure() {
    let server = bot_api("sendMessage", api_error(401, "Unauthorized")).await;

    assert!(matches!(send(&server).await, Err(SendError::Permanent(_))));
}

// teloxide-core waits 10 s after any 5xx before reporting it, so these two are slow.
#[tokio::test]
async fn a_server_error_is_transient() {
    let server = bot_api("sendMessage", api_error(500, "Internal Server Error")).await;

    assert!(matches!(send(&server).await, Err(SendError::Transient(_))));
}

#[tokio::test]
async fn a_proxy_error_page_is_transient_and_hides_the_token() {
    let page =
        ResponseTemplate::new(502).set_body_string(format!("<html>bad gateway /bot{TOKEN}</html>"));
    let server = bot_api("sendMessage", page).await;

    let Err(SendError::Transient(message)) = send(&server).await else {
        panic!("expected a transient failure");
    };
    assert!(!message.contains(TOKEN), "{message}");
}

#[tokio::test]
async fn an_unreachable_api_is_transient_and_hides_the_token() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let channel = TelegramChannel::new(format!("http://127.0.0.1:{closed_port}")).unwrap();

    let result = channel.send_text(&binding(), &to(), &plain("hi")).await;

    let Err(SendError::Transient(message)) = result else {
        panic!("expected a transient failure, got {result:?}");
    };
    assert!(!message.contains(TOKEN), "{message}");
}

#[tokio::test]
async fn typing_sends_the_typing_chat_action() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(bot_method("sendChatAction"))
        .and(body_partial_json(
            json!({"chat_id": 42, "action": "typing"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": true})))
        .expect(1)
        .mount(&server)
        .await;

    channel(&server).typing(&binding(), &chat()).await.unwrap();
}

#[tokio::test]
async fn register_webhook_sets_the_url_and_the_secret() {
    let ok = ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": true}));
    let server = bot_api("setWebhook", ok).await;
    let url = "https://switchboard.example.com/webhooks/telegram/abc";

    let registered = channel(&server).register_webhook(&binding(), url).await;

    assert_eq!(registered, Ok(true));

    let body = String::from_utf8(only_body(&server).await).unwrap();
    assert!(body.contains(url), "{body}");
    assert!(body.contains(SECRET), "{body}");
}

fn webhook(secret: Option<&str>) -> InboundRequest {
    let headers = secret
        .map(|s| vec![("x-telegram-bot-api-secret-token".to_owned(), s.to_owned())])
        .unwrap_or_default();
    InboundRequest {
        headers,
        body: br#"{"update_id":1,"message":{"message_id":5,"chat":{"id":42},"text":"hey"}}"#
            .to_vec(),
    }
}

#[test]
fn verify_checks_the_secret_header() {
    let channel = TelegramChannel::new("https://api.telegram.org").unwrap();
    let binding = binding();

    assert_eq!(channel.verify(&binding, &webhook(Some(SECRET))), Ok(()));
    assert_eq!(
        channel.verify(&binding, &webhook(Some("webhook-s3crex"))),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        channel.verify(&binding, &webhook(Some("short"))),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        channel.verify(&binding, &webhook(None)),
        Err(VerifyError::Missing)
    );
}

#[test]
fn parse_reads_a_text_update() {
    let channel = TelegramChannel::new("https://api.telegram.org").unwrap();

    let messages = channel.parse(&webhook(None).body).unwrap().messages;

    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].external_id.as_str(), "42:5");
    assert_eq!(messages[0].chat.as_str(), "42");
    assert_eq!(messages[0].content.as_text(), Some("hey"));
}

#[tokio::test]
async fn unregister_webhook_deletes_it_and_keeps_pending_updates() {
    let ok = ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": true}));
    let server = bot_api("deleteWebhook", ok).await;

    channel(&server)
        .unregister_webhook(&binding())
        .await
        .unwrap();

    let body = only_body(&server).await;
    let body: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    assert!(
        body.get("drop_pending_updates").is_none(),
        "pending updates are kept for getUpdates: {body}"
    );
}

#[tokio::test]
async fn unregister_webhook_with_a_bad_token_is_a_permanent_failure() {
    let server = bot_api("deleteWebhook", api_error(401, "Unauthorized")).await;

    let result = channel(&server).unregister_webhook(&binding()).await;

    assert!(matches!(result, Err(SendError::Permanent(_))), "{result:?}");
}

fn poller(server: &MockServer) -> TelegramPoller {
    TelegramPoller::new(server.uri()).unwrap()
}

fn updates(result: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": result}))
}

#[tokio::test]
async fn get_updates_asks_for_messages_from_the_offset_with_the_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(bot_method("getUpdates"))
        .and(body_partial_json(
            json!({"offset": 41, "timeout": 3, "allowed_updates": ["message"]}),
        ))
        .respond_with(updates(json!([
            {"update_id": 41, "message": {"message_id": 5, "chat": {"id": 42}, "text": "one"}},
            {"update_id": 42, "callback_query": {"id": "x"}},
            {"update_id": 43, "message": {"message_id": 6, "chat": {"id": 42}, "photo": []}}
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let batch = poller(&server)
        .fetch(&binding(), Some(41), Duration::from_secs(3))
        .await
        .unwrap();

    assert_eq!(batch.next_offset, Some(44));
    let ids: Vec<&str> = batch
        .messages
        .iter()
        .map(|m| m.external_id.as_str())
        .collect();
    assert_eq!(ids, ["42:5", "42:6"]);
    assert_eq!(batch.messages[0].content.as_text(), Some("one"));
    let body: Value = serde_json::from_slice(&only_body(&server).await).unwrap();
    assert_eq!(
        body.as_object().unwrap().len(),
        3,
        "offset, timeout and allowed_updates only: {body}"
    );
}

#[tokio::test]
async fn the_first_get_updates_names_no_offset_and_an_empty_answer_confirms_nothing() {
    let server = bot_api("getUpdates", updates(json!([]))).await;

    let batch = poller(&server)
        .fetch(&binding(), None, Duration::from_secs(1))
        .await
        .unwrap();

    assert_eq!(batch, UpdateBatch::default());
    let body: Value = serde_json::from_slice(&only_body(&server).await).unwrap();
    assert!(body.get("offset").is_none(), "{body}");
}

#[tokio::test]
async fn a_set_webhook_or_a_bad_token_refuses_polling_without_leaking_the_token() {
    for (status, description) in [
        (
            409,
            "Conflict: can't use getUpdates method while webhook is active",
        ),
        (401, "Unauthorized"),
        (404, "Not Found"),
    ] {
        let server = bot_api("getUpdates", api_error(status, description)).await;

        let result = poller(&server)
            .fetch(&binding(), Some(1), Duration::from_secs(1))
            .await;

        let Err(PollError::Refused(text)) = result else {
            panic!("{status}: expected a refusal, got {result:?}");
        };
        assert!(
            text.contains(&status.to_string()) && !text.contains(TOKEN),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_polling_flood_wait_and_a_server_error_are_retried_later() {
    let flood = ResponseTemplate::new(429).set_body_json(json!({
        "ok": false, "error_code": 429,
        "description": "Too Many Requests: retry after 4",
        "parameters": {"retry_after": 4}
    }));
    let server = bot_api("getUpdates", flood).await;
    let result = poller(&server)
        .fetch(&binding(), None, Duration::from_secs(1))
        .await;
    assert_eq!(
        result,
        Err(PollError::RateLimited {
            retry_after: Duration::from_secs(4)
        })
    );

    let page = ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>");
    let server = bot_api("getUpdates", page).await;
    let result = poller(&server)
        .fetch(&binding(), None, Duration::from_secs(1))
        .await;
    assert!(matches!(result, Err(PollError::Transient(_))), "{result:?}");
}

#[tokio::test]
async fn a_long_poll_outlasting_the_timeout_and_its_margin_is_transient() {
    let slow = updates(json!([])).set_delay(Duration::from_secs(30));
    let server = bot_api("getUpdates", slow).await;

    let started = std::time::Instant::now();
    let result = poller(&server)
        .fetch(&binding(), None, Duration::ZERO)
        .await;

    assert!(matches!(result, Err(PollError::Transient(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

async fn show_draft(server: &MockServer, chat: &str) -> Result<bool, SendError> {
    let to = Recipient {
        chat: ExternalChatId::parse(chat).unwrap(),
        ..to()
    };
    channel(server)
        .show_draft(&binding(), &to, 7, &formatted("Half **way**"))
        .await
}

#[tokio::test]
async fn a_draft_goes_to_send_message_draft_with_its_entities() {
    let ok = ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": true}));
    let server = bot_api("sendMessageDraft", ok).await;

    assert_eq!(show_draft(&server, "42").await, Ok(true));

    let body: Value = serde_json::from_slice(&only_body(&server).await).unwrap();
    assert_eq!(
        (&body["chat_id"], &body["draft_id"], &body["text"]),
        (&json!(42), &json!(7), &json!("Half way"))
    );
    assert_eq!(body["entities"][0]["type"], "bold");
    assert_eq!(body.get("parse_mode"), None);
}

/// The Bot API methods `server` was asked, lower-cased, in order.
async fn methods_asked(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap();
    let name = |r: &Request| r.url.path().rsplit('/').next().unwrap().to_lowercase();
    requests.iter().map(name).collect()
}

#[tokio::test]
async fn where_drafts_are_refused_the_reply_grows_in_a_message_that_its_first_part_finishes() {
    let server = MockServer::start().await;
    let answers = [
        (
            "sendMessageDraft",
            api_error(400, "Bad Request: TEXTDRAFT_PEER_INVALID"),
        ),
        (
            "sendMessage",
            ResponseTemplate::new(200).set_body_json(sent_message()),
        ),
        (
            "editMessageText",
            ResponseTemplate::new(200).set_body_json(sent_message()),
        ),
    ];
    for (name, answer) in answers {
        Mock::given(method("POST"))
            .and(bot_method(name))
            .respond_with(answer)
            .mount(&server)
            .await;
    }
    let channel = channel(&server);
    let (private, group) = (
        to(),
        Recipient {
            chat: ExternalChatId::parse("-100123").unwrap(),
            ..to()
        },
    );
    let grow = |to: Recipient, text: &'static str| {
        let channel = channel.clone();
        async move {
            channel
                .show_draft(&binding(), &to, 7, &formatted(text))
                .await
        }
    };
    assert_eq!(grow(private.clone(), "Half").await, Ok(true));
    assert_eq!(grow(private.clone(), "Half **way**").await, Ok(true));
    assert_eq!(grow(group.clone(), "In a group").await, Ok(true));
    let finished = Recipient {
        draft: Some(7),
        ..private.clone()
    };
    let whole = RichText::plain("The whole answer");
    assert_eq!(
        channel.send_text(&binding(), &finished, &whole).await,
        Ok(None)
    );
    assert_eq!(
        channel.send_text(&binding(), &finished, &whole).await,
        Ok(None)
    );

    assert_eq!(
        methods_asked(&server).await,
        [
            "sendmessagedraft",
            "sendmessage",
            "editmessagetext",
            "sendmessage",
            "editmessagetext",
            "sendmessage"
        ],
        "drafts refused once, then a placeholder edited; a group is not offered drafts; \
         the reply finishes the placeholder once, and a second send is a message of its own"
    );
    let requests = server.received_requests().await.unwrap();
    let body = |i: usize| serde_json::from_slice::<Value>(&requests[i].body).unwrap();
    assert_eq!(
        (
            &body(2)["chat_id"],
            &body(2)["message_id"],
            &body(2)["text"]
        ),
        (&json!(42), &json!(1), &json!("Half way"))
    );
    assert_eq!(body(2)["entities"][0]["type"], "bold");
    assert_eq!(
        (&body(4)["message_id"], &body(4)["text"]),
        (&json!(1), &json!("The whole answer"))
    );
    assert_eq!(body(4).get("entities"), None);
}

#[tokio::test]
async fn a_placeholder_already_showing_the_text_is_finished_and_one_deleted_is_replaced() {
    let server = MockServer::start().await;
    let edits = [
        "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        "Bad Request: message to edit not found",
    ];
    for description in edits {
        Mock::given(method("POST"))
            .and(bot_method("editMessageText"))
            .respond_with(api_error(400, description))
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(bot_method("sendMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(sent_message()))
        .mount(&server)
        .await;
    let channel = channel(&server);
    let group = Recipient {
        chat: ExternalChatId::parse("-100123").unwrap(),
        draft: Some(7),
        ..to()
    };
    let text = RichText::plain("Done");
    for _ in 0..2 {
        assert_eq!(
            channel.show_draft(&binding(), &group, 7, &text).await,
            Ok(true)
        );
        assert_eq!(channel.send_text(&binding(), &group, &text).await, Ok(None));
    }
    assert_eq!(
        methods_asked(&server).await,
        [
            "sendmessage",
            "editmessagetext",
            "sendmessage",
            "editmessagetext",
            "sendmessage"
        ],
        "unchanged: nothing more sent; gone: sent anew"
    );
}

#[tokio::test]
async fn a_chat_without_drafts_says_so_and_flood_control_asks_to_wait() {
    let flood = ResponseTemplate::new(429).set_body_json(json!({
        "ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3}
    }));
    let limited = bot_api("sendMessageDraft", flood).await;
    assert_eq!(
        show_draft(&limited, "42").await,
        Err(SendError::RateLimited {
            retry_after: Duration::from_secs(3)
        })
    );
    let down = bot_api("sendMessageDraft", api_error(502, "Bad Gateway")).await;
    assert!(matches!(
        show_draft(&down, "42").await,
        Err(SendError::Transient(_))
    ));
}

/// A Bot API that names `photos/1.jpg` for every `getFile` (of `size` bytes, when given) and
/// serves `bytes` there.
async fn file_api(size: Option<usize>, bytes: &[u8]) -> MockServer {
    let file = json!({"file_id": "AgAD2", "file_unique_id": "u2", "file_path": "photos/1.jpg"});
    let mut file = file;
    if let Some(size) = size {
        file["file_size"] = json!(size);
    }
    let server = bot_api(
        "getFile",
        ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": file})),
    )
    .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path(format!(
            "/file/bot{TOKEN}/photos/1.jpg"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.to_vec()))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_photo_is_fetched_by_its_file_id_and_never_beyond_the_size_asked() {
    let jpeg = b"\xFF\xD8\xFF\xE0 a small photo";
    let server = file_api(Some(jpeg.len()), jpeg).await;
    let fetched = channel(&server)
        .fetch_media(&binding(), "AgAD2", 1024)
        .await;
    assert_eq!(fetched.as_deref(), Ok(jpeg.as_slice()));
    let asked: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(asked, json!({"file_id": "AgAD2"}));

    let announced = channel(&server).fetch_media(&binding(), "AgAD2", 8).await;
    assert!(
        matches!(announced, Err(SendError::Permanent(ref why)) if why.contains("larger than 8"))
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "not downloaded"
    );

    let unannounced = file_api(None, &[0xFF; 64]).await;
    let read = channel(&unannounced)
        .fetch_media(&binding(), "AgAD2", 16)
        .await;
    assert!(matches!(read, Err(SendError::Permanent(ref why)) if why.contains("larger than 16")));

    let gone = bot_api("getFile", api_error(400, "Bad Request: invalid file_id")).await;
    let refused = channel(&gone).fetch_media(&binding(), "nope", 1024).await;
    assert!(
        matches!(refused, Err(SendError::Permanent(ref why)) if why.contains("invalid file_id"))
    );
    let down = bot_api("getFile", api_error(502, "Bad Gateway")).await;
    let later = channel(&down).fetch_media(&binding(), "AgAD2", 1024).await;
    assert!(matches!(later, Err(SendError::Transient(_))), "{later:?}");
}
