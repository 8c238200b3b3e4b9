//! Replies formatted per platform end to end: the model's Markdown is stored as written and reaches Telegram as text with entities.

use crate::PATIENCE;
use serde_json::{json, Value};
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{updates, TelegramWorld};

const ANSWER: &str = "**Done.** Run `make test`, then see [the guide](https://example.com/guide).";

#[tokio::test]
async fn a_markdown_answer_is_stored_as_written_and_sent_to_telegram_with_entities() {
    let db = database::testing::fresh_sqlite();
    let world = TelegramWorld::start(db.url(), FakeOpenAi::answering(ANSWER).await).await;

    world
        .deliver(&updates::text(1, 77, 1, "how do I test?"))
        .await;

    let sent = world.telegram.wait_for_sent(1, PATIENCE).await;
    assert_eq!(sent[0].text, "Done. Run make test, then see the guide.");
    let requests = world.telegram.server.received_requests().await.unwrap();
    let body: Value = requests
        .iter()
        .filter_map(|request| request.body_json::<Value>().ok())
        .find(|body| body.get("text").is_some())
        .unwrap();
    assert_eq!(
        body["entities"],
        json!([
            {"type": "bold", "offset": 0, "length": 5},
            {"type": "code", "offset": 10, "length": 9},
            {"type": "text_link", "offset": 30, "length": 9, "url": "https://example.com/guide"},
        ])
    );
    assert!(body.get("parse_mode").is_none(), "{body}");
    let messages = world.messages().await;
    let reply = messages
        .iter()
        .find(|m| m["direction"] == "outbound")
        .unwrap();
    assert_eq!(reply["text"], ANSWER, "stored as the model wrote it");
    assert!(world.app.stop().await);
}
