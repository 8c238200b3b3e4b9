//! Dead letters end to end: a delivery the platform refused is listed with why, put back and sent once without asking the model again, or discarded.

use crate::{on_each_database, PATIENCE};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{poll_until, updates, TelegramWorld};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, ResponseTemplate};

/// The next `sendMessage` is refused for good: the chat is gone, as far as Telegram says.
async fn refuse_next_send(world: &TelegramWorld) {
    let refusal = ResponseTemplate::new(400).set_body_json(json!({
        "ok": false, "error_code": 400, "description": "Bad Request: chat not found"
    }));
    Mock::given(method("POST"))
        .and(path_regex("(?i)/bot[^/]+/sendMessage$"))
        .respond_with(refusal)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&world.telegram.server)
        .await;
}

async fn dead_jobs(world: &TelegramWorld) -> Vec<Value> {
    let path = format!("/api/v1/jobs?state=dead&bot_id={}", world.bot);
    let (status, page) = world.app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Waits until the bot has `count` dead jobs, and returns them.
async fn wait_for_dead(world: &TelegramWorld, count: usize) -> Vec<Value> {
    poll_until(PATIENCE, "dead jobs", || async {
        let dead = dead_jobs(world).await;
        (dead.len() == count).then_some(dead)
    })
    .await
}

#[tokio::test]
async fn a_refused_delivery_is_listed_then_retried_and_sent_once_without_the_model() {
    on_each_database(|db| async move {
        let world =
            TelegramWorld::start(db.url(), FakeOpenAi::answering("Here you are").await).await;
        refuse_next_send(&world).await;
        world.deliver(&updates::text(1, 55, 1, "hello")).await;

        let dead = wait_for_dead(&world, 1).await;
        let job = &dead[0];
        assert_eq!(
            (&job["kind"], &job["state"]),
            (&json!("deliver"), &json!("dead")),
            "{job}"
        );
        assert!(
            job["last_error"]
                .as_str()
                .unwrap()
                .contains("chat not found"),
            "{job}"
        );
        let messages = world.messages().await;
        let reply = messages
            .iter()
            .find(|m| m["direction"] == "outbound")
            .unwrap();
        assert_eq!(
            (&reply["status"], &job["message_id"]),
            (&json!("failed"), &reply["id"])
        );

        let path = format!("/api/v1/jobs/{}/retry", job["id"]);
        let (status, revived) = world.app.admin(Method::POST, &path, None).await;
        assert_eq!(status, 200, "{revived}");
        assert_eq!(revived["attempts"], 0);
        world
            .app
            .wait_for_status(&world.bot, "sent", 1, PATIENCE)
            .await;
        let attempts = world.telegram.send_attempts().await;
        assert_eq!(attempts.len(), 2, "refused once, then sent: {attempts:?}");
        assert_eq!(attempts[1].text, "Here you are");
        assert_eq!(
            world.openai.requests().await.len(),
            1,
            "the model was asked once"
        );
        assert!(dead_jobs(&world).await.is_empty());
        let (status, problem) = world.app.admin(Method::POST, &path, None).await;
        assert_eq!(
            (status, &problem["code"]),
            (404, &json!("not_found")),
            "done jobs are gone"
        );
        assert!(world.app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn a_discarded_dead_job_leaves_its_message_failed_and_is_gone() {
    let db = database::testing::fresh_sqlite();
    let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("Here you are").await).await;
    refuse_next_send(&world).await;
    world.deliver(&updates::text(1, 56, 1, "hello")).await;
    let dead = wait_for_dead(&world, 1).await;

    let path = format!("/api/v1/jobs/{}", dead[0]["id"]);
    let (status, _) = world.app.admin(Method::DELETE, &path, None).await;
    assert_eq!(status, 204);

    assert!(dead_jobs(&world).await.is_empty());
    let (status, _) = world.app.admin(Method::DELETE, &path, None).await;
    assert_eq!(status, 404, "discarded once");
    let messages = world.messages().await;
    let reply = messages
        .iter()
        .find(|m| m["direction"] == "outbound")
        .unwrap();
    assert_eq!(reply["status"], "failed");
    assert_eq!(
        world.telegram.sent_after_settling().await.len(),
        1,
        "never sent again"
    );
    for bad in ["state=gone", "kind=nap", "cursor=abc"] {
        let (status, _) = world
            .app
            .admin(Method::GET, &format!("/api/v1/jobs?{bad}"), None)
            .await;
        assert_eq!(status, 400, "{bad}");
    }
    assert!(world.app.stop().await);
}
