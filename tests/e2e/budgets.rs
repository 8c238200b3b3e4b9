//! Budgets end to end: a bot over its daily token budget answers the budget message without
//! asking the model, announces the shares it crossed and the refusal, and answers again the
//! next day (the app's clock moved on); bad budgets are refused naming the field.

use crate::{on_each_database, PATIENCE};
use domain::{DomainEvent, Scope};
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{updates, ShiftedClock, TelegramWorld};

/// The fake model's answers take 2 tokens each: two answers spend a budget of 4.
const BUDGET: &str = "This assistant is resting until tomorrow.";

#[tokio::test]
async fn a_bot_over_its_daily_budget_is_not_asked_until_the_next_day() {
    on_each_database(|db| async move {
        let clock = Arc::new(ShiftedClock::default());
        let openai = FakeOpenAi::answering("hello").await;
        let world =
            TelegramWorld::start_on(db.url(), openai, |config| config, None, clock.clone()).await;
        let app = &world.app;
        let mut events = app.events();
        let budget =
            json!({"budget": {"period": "day", "max_tokens": 4}, "budget_message": BUDGET});
        let path = format!("/api/v1/bots/{}", world.bot);
        let (status, bot) = app.admin(Method::PATCH, &path, Some(budget)).await;
        assert_eq!(status, 200, "{bot}");
        assert_eq!(bot["budget"], json!({"period": "day", "max_tokens": 4}));

        for n in 1..=3 {
            world.deliver(&updates::text(n, 7, n, "hi")).await;
            world.telegram.wait_for_sent(n as usize, PATIENCE).await;
        }
        let texts = |sent: Vec<switchboard_e2e::fakes::Sent>| -> Vec<String> {
            sent.into_iter().map(|s| s.text).collect()
        };
        let sent = world.telegram.wait_for_sent(3, PATIENCE).await;
        assert_eq!(texts(sent), ["hello", "hello", BUDGET]);
        assert_eq!(world.openai.requests().await.len(), 2, "asked over budget");

        clock.advance(chrono::Duration::days(1));
        world.deliver(&updates::text(4, 7, 4, "hi again")).await;
        let sent = world.telegram.wait_for_sent(4, PATIENCE).await;
        assert_eq!(texts(sent)[3], "hello", "the next day is answered");
        assert_eq!(world.openai.requests().await.len(), 3);

        let mut budget_events = Vec::new();
        while let Ok(published) = events.try_recv() {
            match published.event {
                DomainEvent::BudgetThreshold { percent, .. } => budget_events.push(percent),
                DomainEvent::BudgetRefused { scope, .. } => {
                    assert_eq!(scope, Scope::Bot);
                    budget_events.push(0);
                }
                _ => {}
            }
        }
        assert_eq!(
            budget_events,
            [50, 80, 100, 0, 50],
            "the shares, the refusal, then half of the new day's budget"
        );
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_budgets_are_refused_naming_the_field() {
    let db = database::testing::fresh_sqlite();
    let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("unused").await).await;
    let path = format!("/api/v1/bots/{}", world.bot);
    let cases = [
        (
            json!({"budget": {"period": "week", "max_tokens": 10}}),
            "budget",
        ),
        (json!({"budget": {"period": "day"}}), "budget"),
        (
            json!({"budget": {"period": "day", "max_cost": -1}}),
            "budget",
        ),
        (
            json!({"budget": {"per_user": {"period": "day", "max_tokens": 0}}}),
            "budget.per_user",
        ),
        (
            json!({"budget": {"per_conversation": {"max_cost": 1}}}),
            "budget.per_conversation",
        ),
    ];
    world
        .app
        .assert_refusals(Method::PATCH, &path, &cases)
        .await;
    world.app.stop().await;
}
