//! Photos in: a Telegram photo fetched with the bot's token, and a picture sent over the web chat socket, shown to a vision bot's model as an image part (the fake checks the bytes); a bot without vision, or a file that is not an image, gets a canned answer, and an oversized or non-image upload is refused with an error frame and nothing stored.

use crate::webchat::{connect, next_frame, say, web_chat_bot};
use crate::{on_each_database, PATIENCE};
use futures::SinkExt;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram};
use switchboard_e2e::{updates, TelegramWorld};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A tiny PNG's first bytes: enough to be told an image by its content.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

async fn seeing(world: &TelegramWorld, vision: bool) {
    let path = format!("/api/v1/bots/{}", world.bot);
    let patch = json!({"vision": vision});
    let (status, bot) = world.app.admin(Method::PATCH, &path, Some(patch)).await;
    assert_eq!((status, &bot["vision"]), (200, &json!(vision)), "{bot}");
}

/// The signed link of the first photo the bot's messages list.
async fn attachment_url(world: &TelegramWorld) -> String {
    let messages = world.messages().await;
    let photo = messages
        .iter()
        .find(|m| m["content"]["type"] == "image")
        .unwrap();
    let attachment = &photo["attachments"][0];
    assert_eq!(attachment["media_type"], "image/png", "{photo}");
    attachment["url"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_telegram_photo_reaches_a_vision_model_as_an_image_and_a_bot_without_vision_declines() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("A cat.").await).await;
        world.telegram.serve_file(PNG).await;
        seeing(&world, true).await;

        world
            .deliver(&updates::captioned_photo(1, 42, 1, "what is it?"))
            .await;
        let sent = world.telegram.wait_for_sent(1, PATIENCE).await;
        assert_eq!(sent[0].text, "A cat.");
        let content = world.openai.last_message(0).await["content"].clone();
        let data = format!("data:image/png;base64,{}", "iVBORw0KGgoAAAANSUhEUg==");
        assert_eq!(
            content,
            json!([{"type": "text", "text": "[photo] what is it?"},
                   {"type": "image_url", "image_url": {"url": data, "detail": "auto"}}])
        );
        let fetched = world.telegram.calls("getFile").await;
        assert_eq!(
            fetched[0].body_json::<Value>().unwrap(),
            json!({"file_id": "f"})
        );
        let url = attachment_url(&world).await;
        let picture = reqwest::get(world.app.url(&url)).await.unwrap();
        assert_eq!(picture.status(), 200, "the signed link opens without a key");
        assert_eq!(picture.headers()["content-type"], "image/png");
        assert_eq!(picture.bytes().await.unwrap().as_ref(), PNG);
        let forged = url.replace("expires=", "expires=1");
        let refused = reqwest::get(world.app.url(&forged)).await.unwrap();
        assert_eq!(refused.status(), 404, "a link changed does not open");
        assert_eq!(
            refused.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = refused.json().await.unwrap();
        assert!(problem["request_id"].is_string(), "{problem}");
        let path = format!("/api/v1/bots/{}/users/telegram/42", world.bot);
        let (status, erased) = world.app.admin(Method::DELETE, &path, None).await;
        assert_eq!(
            (status, &erased["attachments"]),
            (200, &json!(1)),
            "the photo was kept once fetched: {erased}"
        );
        let gone = reqwest::get(world.app.url(&url)).await.unwrap();
        assert_eq!(gone.status(), 404, "erased with the user");

        seeing(&world, false).await;
        world.deliver(&updates::photo(2, 43, 2)).await;
        let sent = world.telegram.wait_for_sent(2, PATIENCE).await;
        assert_eq!(
            sent[1].text,
            "Sorry, I can only read text messages for now."
        );
        assert_eq!(
            world.openai.requests().await.len(),
            1,
            "the model is not asked"
        );
        assert!(world.app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn a_file_that_is_not_an_image_is_not_shown_to_the_model() {
    let db = database::testing::fresh_sqlite();
    let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("unused").await).await;
    world.telegram.serve_file(b"%PDF-1.7 not a photo").await;
    seeing(&world, true).await;
    world.deliver(&updates::photo(1, 42, 1)).await;
    let sent = world.telegram.wait_for_sent(1, PATIENCE).await;
    assert_eq!(sent[0].text, "Sorry, I could not open that photo.");
    assert!(world.openai.requests().await.is_empty());
    assert!(world.app.stop().await);
}

/// A web chat bot with vision on an app whose uploads may be `max_upload` bytes, answered by
/// `openai`.
async fn web_chat_world(
    db: &str,
    openai: &FakeOpenAi,
    max_upload: usize,
) -> (switchboard_e2e::TestApp, String, FakeTelegram) {
    let telegram = FakeTelegram::start().await;
    let config = switchboard_e2e::TestConfig::new(db, openai, &telegram)
        .with("SWITCHBOARD__WEB_CHAT__MAX_UPLOAD_BYTES", max_upload);
    let app = switchboard_e2e::TestApp::spawn(&config).await;
    let bot = web_chat_bot(&app).await;
    let path = format!("/api/v1/bots/{bot}");
    let (status, _) = app
        .admin(Method::PATCH, &path, Some(json!({"vision": true})))
        .await;
    assert_eq!(status, 200);
    (app, bot, telegram)
}

/// Erases the visitor `hello` greeted: what was removed.
async fn erase(app: &switchboard_e2e::TestApp, bot: &str, hello: &Value) -> Value {
    let visitor = hello["visitor_id"].as_str().unwrap();
    let path = format!("/api/v1/bots/{bot}/users/web_chat/{visitor}");
    let (status, erased) = app.admin(Method::DELETE, &path, None).await;
    assert_eq!(status, 200, "{erased}");
    erased
}

#[tokio::test]
async fn a_picture_sent_over_the_web_chat_socket_reaches_the_model() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::answering("A PNG.").await;
        let (app, bot, _telegram) = web_chat_world(db.url(), &openai, 1024).await;
        let (mut socket, hello) = connect(&app, &bot, "").await;

        socket.send(WsMessage::Binary(PNG.to_vec())).await.unwrap();

        let own = next_frame(&mut socket).await;
        assert_eq!(own["message"]["content"]["type"], "image", "{own}");
        assert_eq!(own["message"]["text"], "[photo]");
        let reply = loop {
            let frame = next_frame(&mut socket).await;
            if frame["message"]["direction"] == "outbound" {
                break frame;
            }
        };
        assert_eq!(reply["message"]["text"], "A PNG.");
        let last = openai.last_message(0).await;
        let url = &last["content"][1]["image_url"]["url"];
        assert_eq!(
            url, "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==",
            "the bytes sent"
        );
        let erased = erase(&app, &bot, &hello).await;
        assert_eq!(
            (&erased["messages"], &erased["attachments"]),
            (&json!(2), &json!(1)),
            "the visitor's picture is kept until they are erased"
        );
        assert!(app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn an_oversized_or_non_image_upload_is_refused_with_an_error_frame_and_nothing_stored() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::answering("unused").await;
        let (app, bot, _telegram) = web_chat_world(db.url(), &openai, 64).await;
        let (mut socket, hello) = connect(&app, &bot, "").await;

        let mut large = PNG.to_vec();
        large.resize(65, 0);
        socket.send(WsMessage::Binary(large)).await.unwrap();
        let refused = next_frame(&mut socket).await;
        assert_eq!(
            (&refused["type"], &refused["code"]),
            (&json!("error"), &json!("invalid_field")),
            "{refused}"
        );
        assert!(
            refused["detail"]
                .as_str()
                .unwrap()
                .contains("at most 64 bytes"),
            "{refused}"
        );

        socket
            .send(WsMessage::Binary(b"%PDF-1.7".to_vec()))
            .await
            .unwrap();
        let refused = next_frame(&mut socket).await;
        assert!(
            refused["detail"].as_str().unwrap().contains("JPEG, PNG"),
            "{refused}"
        );

        // The socket stays open, and nothing of either was stored.
        say(&mut socket, json!({"type": "message", "text": "hello"})).await;
        let own = next_frame(&mut socket).await;
        assert_eq!(own["message"]["text"], "hello");
        let stored = app.messages_of(&bot).await;
        assert!(
            stored.iter().all(|m| m["content"]["type"] != "image"),
            "{stored:?}"
        );
        let erased = erase(&app, &bot, &hello).await;
        assert_eq!(erased["attachments"], 0, "no picture was kept");

        // Past the limit and a text frame's worth more, the socket reads no further.
        let huge = vec![0xFF; 64 + 16 * 1024 + 1];
        socket.send(WsMessage::Binary(huge)).await.unwrap();
        let refused = loop {
            let frame = next_frame(&mut socket).await;
            if frame["type"] == "error" {
                break frame;
            }
        };
        assert_eq!(refused["code"], "frame_too_large", "{refused}");
        assert!(app.stop().await);
    })
    .await;
}
