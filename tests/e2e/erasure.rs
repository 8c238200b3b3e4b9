//! An end user's erasure end to end: their chat with the bot gone from the API and the database, everyone else's kept.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use serde_json::json;
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{updates, TelegramWorld};

#[tokio::test]
async fn an_erased_users_chat_is_gone_and_everyone_elses_stays() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("Noted.").await).await;
        world.without_rate_limits().await;
        world
            .deliver(&updates::text(1, 4242, 1, "my address is 1 Main St"))
            .await;
        world
            .deliver(&updates::text(2, 4242, 2, "and my phone"))
            .await;
        world.deliver(&updates::text(3, 5151, 1, "hello")).await;
        world.telegram.wait_for_sent(3, PATIENCE).await;
        world
            .app
            .wait_for_status(&world.bot, "sent", 3, PATIENCE)
            .await;
        let path = format!("/api/v1/bots/{}/users/telegram/4242", world.bot);

        let (status, erased) = world.app.admin(Method::DELETE, &path, None).await;
        assert_eq!(status, 200, "{erased}");
        assert_eq!(
            erased,
            json!({"platform": "telegram", "conversations": 1, "messages": 4, "attachments": 0})
        );
        let left = world.messages().await;
        assert_eq!(left.len(), 2, "5151's message and its reply: {left:?}");
        assert!(left
            .iter()
            .all(|m| !m["text"].as_str().unwrap().contains("Main St")));
        let (_, again) = world.app.admin(Method::DELETE, &path, None).await;
        assert_eq!(
            (again["conversations"].as_u64(), again["messages"].as_u64()),
            (Some(0), Some(0))
        );

        let fax = format!("/api/v1/bots/{}/users/fax/4242", world.bot);
        let (status, problem) = world.app.admin(Method::DELETE, &fax, None).await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (422, Some("platform")),
            "{problem}"
        );
        let stranger = "/api/v1/bots/0193a000-0000-7000-8000-000000000000/users/telegram/4242";
        let (status, _) = world.app.admin(Method::DELETE, stranger, None).await;
        assert_eq!(status, 404);
        assert!(world.app.stop().await);
    })
    .await;
}
