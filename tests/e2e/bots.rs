//! Bots end to end: a paused bot stores messages unanswered; its summary counts tokens.

use crate::on_each_database;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{updates, wait_for_empty_queue, TelegramWorld, TestApp, PATIENCE};

/// `POST /api/v1/bots/{bot}/{action}`, which must answer 200 with the bot.
async fn act(app: &TestApp, bot: &str, action: &str) -> Value {
    let path = format!("/api/v1/bots/{bot}/{action}");
    let (status, body) = app.admin(Method::POST, &path, None).await;
    assert_eq!(status, 200, "{action}: {body}");
    body
}

#[tokio::test]
async fn a_paused_bot_stores_messages_unanswered_and_answers_new_ones_after_resume() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::echoing().await).await;
        assert_eq!(
            act(&world.app, &world.bot, "pause").await["status"],
            "paused"
        );

        // Two messages of one chat: the second waits in the lane behind the first.
        world.deliver(&updates::text(1, 7, 1, "while paused")).await;
        world.deliver(&updates::text(2, 7, 2, "still paused")).await;
        wait_for_empty_queue(&db).await;
        assert!(world.telegram.sent_after_settling().await.is_empty());
        assert!(
            world.openai.requests().await.is_empty(),
            "the model is not asked"
        );
        assert_eq!(world.messages().await.len(), 2, "both are stored");

        assert_eq!(
            act(&world.app, &world.bot, "resume").await["status"],
            "active"
        );
        world.deliver(&updates::text(3, 7, 3, "back again?")).await;
        let sent = world.telegram.wait_for_sent(1, PATIENCE).await;
        assert_eq!(sent[0].text, "re: back again?");
        assert_eq!(
            world.telegram.sent_after_settling().await.len(),
            1,
            "what came while paused stays unanswered"
        );
        assert_eq!(world.openai.requests().await.len(), 1);

        let path = format!("/api/v1/bots/{}/summary", world.bot);
        let (status, summary) = world.app.admin(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{summary}");
        assert_eq!(summary["conversations"], 1);
        assert_eq!(summary["messages"], json!({"inbound": 3, "outbound": 1}));
        assert_eq!(summary["failures"], 0);
        let usage = json!({"prompt": 1, "completion": 1, "total": 2});
        assert_eq!(summary["tokens"], usage, "the fake model's usage");
        world.app.stop().await;
    })
    .await;
}
