//! Photos in: a Telegram photo fetched with the bot's token and shown to a vision bot's model as an image part (the fake checks the bytes), and answered with the canned text by a bot without vision or when the file is not an image.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{updates, TelegramWorld};

/// A tiny PNG's first bytes: enough to be told an image by its content.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

async fn seeing(world: &TelegramWorld, vision: bool) {
    let path = format!("/api/v1/bots/{}", world.bot);
    let patch = json!({"vision": vision});
    let (status, bot) = world.app.admin(Method::PATCH, &path, Some(patch)).await;
    assert_eq!((status, &bot["vision"]), (200, &json!(vision)), "{bot}");
}

/// The content of the last message of the model's `n`th request.
async fn last_content(world: &TelegramWorld, n: usize) -> Value {
    let asked = world.openai.requests().await;
    let messages = asked[n]["messages"].as_array().unwrap();
    messages.last().unwrap()["content"].clone()
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
        let content = last_content(&world, 0).await;
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

        seeing(&world, false).await;
        world.deliver(&updates::photo(2, 42, 2)).await;
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
