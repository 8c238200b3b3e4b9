//! Integration tests of the Messenger and WhatsApp channels against a wiremock Graph API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use application::format::{self, RichText};
use application::ports::{Channel, InboundRequest, Recipient, SendError, VerifyError};
use chrono::Utc;
use domain::{
    BotId, Credentials, ExternalChatId, ExternalMessageId, MessengerCredentials, PlatformBinding,
    Template, TemplateComponent, TemplateParameter, TemplatePart, WhatsappCredentials,
};
use serde_json::{json, Value};
use switchboard_meta::{MessengerChannel, WhatsappChannel};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAGE_TOKEN: &str = "EAAB-page-token";
const WA_TOKEN: &str = "EAAG-wa-token";
const PHONE_NUMBER_ID: &str = "106540352242922";
const APP_SECRET: &str = "6f2b0c9a41d35e87b1c4a9d0e2f37b58";

fn messenger_binding() -> PlatformBinding {
    let credentials =
        MessengerCredentials::parse("104233", PAGE_TOKEN, APP_SECRET, "verify").unwrap();
    PlatformBinding::new(
        BotId::new(),
        Credentials::Messenger(credentials),
        Utc::now(),
    )
}

fn whatsapp_binding() -> PlatformBinding {
    let credentials =
        WhatsappCredentials::parse(PHONE_NUMBER_ID, WA_TOKEN, APP_SECRET, "verify").unwrap();
    PlatformBinding::new(BotId::new(), Credentials::Whatsapp(credentials), Utc::now())
}

fn chat(id: &str) -> ExternalChatId {
    ExternalChatId::parse(id).unwrap()
}

fn to(id: &str) -> Recipient {
    Recipient {
        chat: chat(id),
        reply_handle: None,
        part: 0,
        draft: None,
    }
}

fn graph_error(status: u16, code: i64) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {"message": "(#x) something", "type": "OAuthException", "code": code, "fbtrace_id": "Az"}
    }))
}

/// A Graph fake answering every POST with `response`.
async fn graph(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

async fn send_whatsapp(
    server: &MockServer,
    text: &str,
) -> Result<Option<ExternalMessageId>, SendError> {
    let channel = WhatsappChannel::new(server.uri()).unwrap();
    let part = formatted(&channel, text);
    channel
        .send_text(&whatsapp_binding(), &to("16315551234"), &part)
        .await
}

async fn send_messenger(
    server: &MockServer,
    text: &str,
) -> Result<Option<ExternalMessageId>, SendError> {
    let channel = MessengerChannel::new(server.uri()).unwrap();
    let part = formatted(&channel, text);
    channel
        .send_text(&messenger_binding(), &to("1254459154682919"), &part)
        .await
}

/// The one part `channel` is sent for `markdown`.
fn formatted(channel: &dyn Channel, markdown: &str) -> RichText {
    let mut parts = format::parts(markdown, channel.markup(), channel.max_text_len());
    assert_eq!(parts.len(), 1);
    parts.remove(0)
}

fn sent_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"messages": [{"id": "wamid.X"}]}))
}

#[tokio::test]
async fn whatsapp_sends_markdown_in_its_own_markers_once_with_a_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
        .and(header(
            "authorization",
            format!("Bearer {WA_TOKEN}").as_str(),
        ))
        .and(body_json(json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "16315551234",
            "type": "text",
            "text": {"body": "hi *there*, _you_ ~old~", "preview_url": false}
        })))
        .respond_with(sent_ok())
        .expect(1)
        .mount(&server)
        .await;

    let sent = send_whatsapp(&server, "hi **there**, *you* ~~old~~")
        .await
        .unwrap();
    assert_eq!(sent.unwrap().as_str(), "wamid.X");
}

#[tokio::test]
async fn messenger_sends_plain_text_once_with_the_page_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/me/messages"))
        .and(header(
            "authorization",
            format!("Bearer {PAGE_TOKEN}").as_str(),
        ))
        .and(body_json(json!({
            "recipient": {"id": "1254459154682919"},
            "messaging_type": "RESPONSE",
            "message": {"text": "hello there (https://example.com)", "metadata": "switchboard"}
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": "1", "message_id": "m_1"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let sent = send_messenger(&server, "hello **[there](https://example.com)**")
        .await
        .unwrap();
    assert_eq!(sent.unwrap().as_str(), "m_1");
}

fn template() -> Template {
    let body = TemplateComponent {
        part: TemplatePart::Body,
        index: None,
        parameters: vec![TemplateParameter::Text { text: "Ada".into() }],
    };
    let button = TemplateComponent {
        part: TemplatePart::Url,
        index: Some(1),
        parameters: vec![TemplateParameter::Text {
            text: "orders/42".into(),
        }],
    };
    Template::new("order_shipped", "en_US", vec![body, button]).unwrap()
}

#[tokio::test]
async fn whatsapp_sends_a_template_in_the_cloud_apis_shape() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
        .and(body_json(json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "16315551234",
            "type": "template",
            "template": {
                "name": "order_shipped",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": "Ada"}]},
                    {"type": "button", "sub_type": "url", "index": "1",
                     "parameters": [{"type": "text", "text": "orders/42"}]}
                ]
            }
        })))
        .respond_with(sent_ok())
        .expect(1)
        .mount(&server)
        .await;
    let channel = WhatsappChannel::new(server.uri()).unwrap();

    let sent = channel
        .send_template(&whatsapp_binding(), &to("16315551234"), &template())
        .await;

    assert_eq!(sent.unwrap().unwrap().as_str(), "wamid.X");
}

#[tokio::test]
async fn messenger_refuses_a_template_for_good_without_a_call() {
    let server = graph(sent_ok()).await;
    let channel = MessengerChannel::new(server.uri()).unwrap();

    let sent = channel
        .send_template(&messenger_binding(), &to("1254459154682919"), &template())
        .await;

    assert!(matches!(sent, Err(SendError::Permanent(_))), "{sent:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_graph_url_with_a_version_path_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{PHONE_NUMBER_ID}/messages")))
        .respond_with(sent_ok())
        .expect(1)
        .mount(&server)
        .await;
    let channel = WhatsappChannel::new(format!("{}/v21.0/", server.uri())).unwrap();

    channel
        .send_text(&whatsapp_binding(), &to("1"), &RichText::plain("hi"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_text_at_the_limit_goes_in_one_request() {
    let server = graph(sent_ok()).await;
    let channel = MessengerChannel::new(server.uri()).unwrap();
    assert_eq!(channel.max_text_len(), 2000);
    assert_eq!(
        WhatsappChannel::new(server.uri()).unwrap().max_text_len(),
        4096
    );
    let text = "é".repeat(2000);

    send_messenger(&server, &text).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["message"]["text"], text.as_str());
}

#[tokio::test]
async fn throttling_codes_are_rate_limited() {
    for code in [4, 613, 130429, 131056] {
        let server = graph(graph_error(400, code)).await;
        let result = send_whatsapp(&server, "hi").await;
        assert!(
            matches!(result, Err(SendError::RateLimited { .. })),
            "{code}: {result:?}"
        );
    }
}

#[tokio::test]
async fn server_errors_are_transient() {
    let server = graph(ResponseTemplate::new(503).set_body_string("<html>down</html>")).await;
    let result = send_messenger(&server, "hi").await;
    assert!(matches!(result, Err(SendError::Transient(_))), "{result:?}");
}

#[tokio::test]
async fn a_closed_window_or_bad_token_is_permanent() {
    for code in [131047, 190] {
        let server = graph(graph_error(400, code)).await;
        let result = send_whatsapp(&server, "hi").await;
        assert!(
            matches!(result, Err(SendError::Permanent(_))),
            "{code}: {result:?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_graph_is_transient_and_hides_the_token() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let channel = WhatsappChannel::new(format!("http://127.0.0.1:{closed_port}")).unwrap();

    let result = channel
        .send_text(&whatsapp_binding(), &to("1"), &RichText::plain("hi"))
        .await;

    let Err(SendError::Transient(message)) = result else {
        panic!("expected a transient failure, got {result:?}");
    };
    assert!(!message.contains(WA_TOKEN), "{message}");
}

#[tokio::test]
async fn messenger_typing_is_a_sender_action_and_whatsapp_has_none() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/me/messages"))
        .and(body_json(
            json!({"recipient": {"id": "42"}, "sender_action": "typing_on"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"recipient_id": "42"})))
        .expect(1)
        .mount(&server)
        .await;

    let messenger = MessengerChannel::new(server.uri()).unwrap();
    messenger
        .typing(&messenger_binding(), &chat("42"))
        .await
        .unwrap();
    let whatsapp = WhatsappChannel::new(server.uri()).unwrap();
    whatsapp
        .typing(&whatsapp_binding(), &chat("42"))
        .await
        .unwrap();
}

#[tokio::test]
async fn register_webhook_makes_no_call() {
    let server = graph(sent_ok()).await;
    let url = "https://switchboard.example.com/webhooks/whatsapp/abc";

    let whatsapp = WhatsappChannel::new(server.uri()).unwrap();
    let messenger = MessengerChannel::new(server.uri()).unwrap();

    assert_eq!(
        whatsapp.register_webhook(&whatsapp_binding(), url).await,
        Ok(false)
    );
    assert_eq!(
        messenger.register_webhook(&messenger_binding(), url).await,
        Ok(false)
    );

    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_binding_of_another_platform_is_refused_without_a_call() {
    let server = graph(sent_ok()).await;
    let channel = MessengerChannel::new(server.uri()).unwrap();

    let result = channel
        .send_text(&whatsapp_binding(), &to("1"), &RichText::plain("hi"))
        .await;

    assert!(matches!(result, Err(SendError::Permanent(_))), "{result:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

fn signed(body: &[u8], secret: &str) -> InboundRequest {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let signature = hex::encode(mac.finalize().into_bytes());
    InboundRequest {
        headers: vec![(
            "x-hub-signature-256".to_owned(),
            format!("sha256={signature}"),
        )],
        body: body.to_vec(),
    }
}

#[test]
fn verify_checks_the_signature_with_the_bindings_app_secret() {
    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    let whatsapp = WhatsappChannel::new("https://graph.facebook.com/v21.0").unwrap();
    let messenger = MessengerChannel::new("https://graph.facebook.com/v21.0").unwrap();

    assert_eq!(
        whatsapp.verify(&whatsapp_binding(), &signed(body, APP_SECRET)),
        Ok(())
    );
    assert_eq!(
        messenger.verify(&messenger_binding(), &signed(body, APP_SECRET)),
        Ok(())
    );
    assert_eq!(
        whatsapp.verify(&whatsapp_binding(), &signed(body, "forged")),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        whatsapp.verify(&messenger_binding(), &signed(body, APP_SECRET)),
        Err(VerifyError::Mismatch)
    );
    let unsigned = InboundRequest {
        headers: vec![],
        body: body.to_vec(),
    };
    assert_eq!(
        whatsapp.verify(&whatsapp_binding(), &unsigned),
        Err(VerifyError::Missing)
    );
}

#[tokio::test]
async fn a_whatsapp_photo_is_looked_up_by_media_id_and_downloaded_with_the_token() {
    let server = MockServer::start().await;
    let media_url = format!("{}/media/cat.jpg", server.uri());
    Mock::given(method("GET"))
        .and(path("/2754859441498128"))
        .and(header(
            "authorization",
            format!("Bearer {WA_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "url": media_url, "mime_type": "image/jpeg", "file_size": 7, "id": "2754859441498128"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/media/cat.jpg"))
        .and(header(
            "authorization",
            format!("Bearer {WA_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"\xFF\xD8\xFFjpeg".to_vec()))
        .mount(&server)
        .await;
    let channel = WhatsappChannel::new(server.uri()).unwrap();

    let fetched = channel
        .fetch_media(&whatsapp_binding(), "2754859441498128", 1024)
        .await;
    assert_eq!(fetched.as_deref(), Ok(b"\xFF\xD8\xFFjpeg".as_slice()));
    let cut = channel
        .fetch_media(&whatsapp_binding(), "2754859441498128", 4)
        .await;
    assert!(matches!(cut, Err(SendError::Permanent(ref why)) if why.contains("larger than 4")));
    let unknown = channel.fetch_media(&whatsapp_binding(), "404", 1024).await;
    assert!(unknown.is_err(), "{unknown:?}");
}

#[tokio::test]
async fn a_messenger_photo_is_downloaded_from_its_address_without_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cdn/cat.png"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"\x89PNG\r\n\x1a\n".to_vec()))
        .mount(&server)
        .await;
    let channel = MessengerChannel::new(server.uri()).unwrap();
    let address = format!("{}/cdn/cat.png", server.uri());

    let fetched = channel
        .fetch_media(&messenger_binding(), &address, 1024)
        .await;

    assert_eq!(fetched.as_deref(), Ok(b"\x89PNG\r\n\x1a\n".as_slice()));
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests[0].headers.get("authorization").is_none(),
        "the Page token is not sent to the file's host"
    );
}
