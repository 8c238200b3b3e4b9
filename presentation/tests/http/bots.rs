//! `/api/v1/bots`: creation, validation, reads, updates, deletion, paging, pausing, summaries.

use crate::support::{
    assert_invalid_field, assert_invalid_fields, assert_problem, TestApp, VIEWER_KEY,
};
use actix_web::test::TestRequest;
use chrono::{DateTime, Utc};
use domain::repositories::{BindingRepository, MessageRepository};
use domain::{BotId, Cost, Message, MessageContent, MessageStatus, TokenUsage};
use presentation::HttpSettings;
use serde_json::{json, Value};

fn post_bot(body: Value) -> TestRequest {
    TestRequest::post().uri("/api/v1/bots").set_json(body)
}

async fn create(app: &TestApp, name: &str) -> Value {
    let reply = app
        .admin(post_bot(json!({"name": name, "system_prompt": "be brief"})))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    reply.body
}

#[actix_web::test]
async fn creating_a_bot_answers_201_with_the_bot_and_its_location() {
    let app = TestApp::new().await;
    let reply = app
        .admin(post_bot(json!({
            "name": "  Ada ",
            "system_prompt": "be brief",
            "model": "gpt-4o",
            "temperature": 0.7,
        })))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    let bot = &reply.body;
    let id = bot["id"].as_str().unwrap();
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/bots/{id}").as_str())
    );
    assert_eq!(bot["name"], "Ada");
    assert_eq!(bot["system_prompt"], "be brief");
    assert_eq!(bot["model"], "gpt-4o");
    assert_eq!(bot["temperature"], 0.7);
    assert_eq!(bot["fallback_message"], Value::Null);
    assert_eq!(bot["status"], "active");
    assert_eq!(bot["paused_at"], Value::Null);
    for time in ["created_at", "updated_at"] {
        DateTime::parse_from_rfc3339(bot[time].as_str().unwrap()).unwrap();
    }
    assert!(reply.header("x-request-id").is_some());
    assert_eq!(app.stored_bots().await.len(), 1);
}

#[actix_web::test]
async fn invalid_fields_are_422_naming_the_field() {
    let app = TestApp::new().await;
    let cases = [
        (json!({"name": "   ", "system_prompt": ""}), "name"),
        (
            json!({"name": "x".repeat(101), "system_prompt": ""}),
            "name",
        ),
        (json!({"system_prompt": ""}), "name"),
        (json!({"name": "Ada"}), "system_prompt"),
        (
            json!({"name": "Ada", "system_prompt": "", "temperature": 2.5}),
            "temperature",
        ),
        (
            json!({"name": "Ada", "system_prompt": "", "temperature": -1}),
            "temperature",
        ),
        (
            json!({"name": "Ada", "system_prompt": "", "model": ""}),
            "model",
        ),
    ];
    for (body, field) in cases {
        assert_invalid_field(&app.admin(post_bot(body)).await, field);
    }
    assert!(app.stored_bots().await.is_empty());
}

#[actix_web::test]
async fn every_invalid_field_is_named_in_one_422() {
    let app = TestApp::new().await;
    let body = json!({
        "name": "x".repeat(101),
        "system_prompt": "",
        "model": "",
        "temperature": 9,
        "fallback_message": "",
    });
    let reply = app.admin(post_bot(body)).await;
    let fields = ["fallback_message", "model", "name", "temperature"];
    assert_invalid_fields(&reply, &fields);
    assert_eq!(
        reply.body["errors"][3]["reason"],
        "must be between 0.0 and 2.0"
    );

    let bot = create(&app, "Ada").await;
    let uri = format!("/api/v1/bots/{}", bot["id"].as_str().unwrap());
    let patch = json!({"name": "", "temperature": -1});
    let reply = app
        .admin(TestRequest::patch().uri(&uri).set_json(patch))
        .await;
    assert_invalid_fields(&reply, &["name", "temperature"]);
    assert_eq!(app.stored_bots().await[0].name.as_str(), "Ada", "unchanged");
}

#[actix_web::test]
async fn unknown_fields_are_400_naming_them() {
    let app = TestApp::new().await;
    let create = json!({"name": "Ada", "system_prompt": "", "colour": "red"});
    let reply = app.admin(post_bot(create)).await;
    assert_problem(&reply, 400, "malformed_json");
    assert!(reply.body["detail"].as_str().unwrap().contains("colour"));
    assert!(app.stored_bots().await.is_empty());

    let bot = app.seed_bot("Ada").await;
    let uri = format!("/api/v1/bots/{}", bot.id);
    for patch in [
        json!({"nmae": "Grace"}),
        json!({"name": "Grace", "id": bot.id}),
    ] {
        let reply = app
            .admin(TestRequest::patch().uri(&uri).set_json(patch))
            .await;
        assert_problem(&reply, 400, "malformed_json");
    }
    assert_eq!(app.stored_bots().await[0].name.as_str(), "Ada", "unchanged");
}

#[actix_web::test]
async fn malformed_json_is_400() {
    let app = TestApp::new().await;
    let reply = app
        .admin(
            TestRequest::post()
                .uri("/api/v1/bots")
                .insert_header(("content-type", "application/json"))
                .set_payload(r#"{"name": "Ada", "#),
        )
        .await;
    assert_problem(&reply, 400, "malformed_json");
    let wrong_type = app
        .admin(post_bot(json!({"name": 5, "system_prompt": ""})))
        .await;
    assert_problem(&wrong_type, 400, "malformed_json");
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::new().await;
    let reply = app
        .admin(
            TestRequest::post()
                .uri("/api/v1/bots")
                .insert_header(("content-type", "text/plain"))
                .set_payload("name=Ada"),
        )
        .await;
    assert_problem(&reply, 415, "unsupported_media_type");
}

#[actix_web::test]
async fn a_json_body_over_the_limit_is_413() {
    let app = crate::support::TestApp::with(crate::support::Options {
        settings: HttpSettings {
            json_body_limit: 100,
            ..HttpSettings::default()
        },
        ..Default::default()
    })
    .await;
    let reply = app
        .admin(post_bot(
            json!({"name": "Ada", "system_prompt": "x".repeat(200)}),
        ))
        .await;
    assert_problem(&reply, 413, "payload_too_large");
}

#[actix_web::test]
async fn unknown_or_unparsable_bot_ids_are_404() {
    let app = TestApp::new().await;
    let unknown = format!("/api/v1/bots/{}", domain::BotId::new());
    for uri in [unknown.as_str(), "/api/v1/bots/not-a-uuid"] {
        let reply = app.admin(TestRequest::get().uri(uri)).await;
        assert_problem(&reply, 404, "not_found");
    }
    let delete = app.admin(TestRequest::delete().uri(&unknown)).await;
    assert_problem(&delete, 404, "not_found");
    let patch = app
        .admin(TestRequest::patch().uri(&unknown).set_json(json!({})))
        .await;
    assert_problem(&patch, 404, "not_found");
}

#[actix_web::test]
async fn a_bot_can_be_read_back() {
    let app = TestApp::new().await;
    let created = create(&app, "Ada").await;
    let reply = app
        .admin(TestRequest::get().uri(&format!("/api/v1/bots/{}", created["id"].as_str().unwrap())))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, created);
}

#[actix_web::test]
async fn patch_leaves_absent_fields_and_clears_null_ones() {
    let app = TestApp::new().await;
    let created = app
        .admin(post_bot(json!({
            "name": "Ada",
            "system_prompt": "be brief",
            "model": "gpt-4o",
            "temperature": 1.0,
            "fallback_message": "later",
        })))
        .await
        .body;
    let uri = format!("/api/v1/bots/{}", created["id"].as_str().unwrap());

    let reply = app
        .admin(TestRequest::patch().uri(&uri).set_json(json!({
            "name": "Grace",
            "model": null,
            "temperature": 0.5,
        })))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let bot = &reply.body;
    assert_eq!(bot["name"], "Grace");
    assert_eq!(bot["system_prompt"], "be brief");
    assert_eq!(bot["model"], Value::Null);
    assert_eq!(bot["temperature"], 0.5);
    assert_eq!(bot["fallback_message"], "later");
    assert_eq!(bot["created_at"], created["created_at"]);

    let cleared = app
        .admin(
            TestRequest::patch()
                .uri(&uri)
                .set_json(json!({"fallback_message": null, "temperature": null})),
        )
        .await;
    assert_eq!(cleared.body["fallback_message"], Value::Null);
    assert_eq!(cleared.body["temperature"], Value::Null);
    assert_eq!(cleared.body["name"], "Grace");

    let invalid = app
        .admin(
            TestRequest::patch()
                .uri(&uri)
                .set_json(json!({"temperature": 9})),
        )
        .await;
    assert_problem(&invalid, 422, "invalid_field");
    assert_eq!(invalid.body["field"], "temperature");
    let blank = app
        .admin(
            TestRequest::patch()
                .uri(&uri)
                .set_json(json!({"name": "  "})),
        )
        .await;
    assert_problem(&blank, 422, "invalid_field");
    assert_eq!(blank.body["field"], "name");
}

#[actix_web::test]
async fn deleting_a_bot_answers_204_then_it_is_gone() {
    let app = TestApp::new().await;
    let created = create(&app, "Ada").await;
    let uri = format!("/api/v1/bots/{}", created["id"].as_str().unwrap());
    let reply = app.admin(TestRequest::delete().uri(&uri)).await;
    assert_eq!(reply.status, 204);
    assert!(reply.raw.is_empty());
    let gone = app.admin(TestRequest::get().uri(&uri)).await;
    assert_problem(&gone, 404, "not_found");
}

#[actix_web::test]
async fn deleting_a_bot_deletes_its_bindings_and_conversations() {
    let app = TestApp::new().await;
    let bot = app.seed_bound_bot().await;
    let conversation = app.seed_conversation(&bot).await;
    let kept = app.seed_conversation(&app.seed_bot("Grace").await).await;
    let reply = app
        .admin(TestRequest::delete().uri(&format!("/api/v1/bots/{}", bot.id)))
        .await;
    assert_eq!(reply.status, 204, "{}", reply.raw);
    assert!(app.store.list_for_bot(bot.id).await.unwrap().is_empty());
    let read = |id| TestRequest::get().uri(&format!("/api/v1/conversations/{id}"));
    assert_problem(&app.admin(read(conversation.id)).await, 404, "not_found");
    assert!(app.stored_messages(conversation.id).await.is_empty());
    assert_eq!(app.admin(read(kept.id)).await.status, 200, "another bot's");
}

#[actix_web::test]
async fn bots_are_listed_page_by_page() {
    let app = TestApp::new().await;
    for name in ["a", "b", "c"] {
        create(&app, name).await;
    }
    let first = app
        .admin(TestRequest::get().uri("/api/v1/bots?limit=2"))
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .admin(TestRequest::get().uri(&format!("/api/v1/bots?limit=2&cursor={cursor}")))
        .await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["items"][0]["name"], "c");
    assert_eq!(second.body["next_cursor"], Value::Null);
}

#[actix_web::test]
async fn an_unparsable_limit_is_400() {
    let app = TestApp::new().await;
    let reply = app
        .admin(TestRequest::get().uri("/api/v1/bots?limit=many"))
        .await;
    assert_problem(&reply, 400, "invalid_query");
}

fn post(uri: &str) -> TestRequest {
    TestRequest::post().uri(uri)
}

#[actix_web::test]
async fn pausing_and_resuming_are_idempotent_and_answer_the_bot() {
    let app = TestApp::new().await;
    let id = app.seed_bot("Ada").await.id;
    let (pause, resume) = (
        format!("/api/v1/bots/{id}/pause"),
        format!("/api/v1/bots/{id}/resume"),
    );

    let paused = app.admin(post(&pause)).await;
    assert_eq!(paused.status, 200, "{}", paused.raw);
    assert_eq!(paused.body["id"], id.to_string());
    assert_eq!(paused.body["status"], "paused");
    let paused_at = paused.body["paused_at"].as_str().unwrap();
    DateTime::parse_from_rfc3339(paused_at).unwrap();
    assert!(app.stored_bots().await[0].is_paused());

    let again = app.admin(post(&pause)).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.body["paused_at"], paused_at,
        "the first pause is kept"
    );
    let read = app
        .as_key(
            VIEWER_KEY,
            TestRequest::get().uri(&format!("/api/v1/bots/{id}")),
        )
        .await;
    assert_eq!(read.body["status"], "paused");
    let uri = format!("/api/v1/bots/{id}");
    let edit = TestRequest::patch()
        .uri(&uri)
        .set_json(json!({"name": "Grace"}));
    let edited = app.admin(edit).await;
    assert_eq!(edited.status, 200, "{}", edited.raw);
    assert_eq!(
        (&edited.body["status"], &edited.body["paused_at"]),
        (&json!("paused"), &json!(paused_at)),
        "an edit keeps the pause"
    );

    for _ in 0..2 {
        let resumed = app.admin(post(&resume)).await;
        assert_eq!(resumed.status, 200, "{}", resumed.raw);
        assert_eq!(resumed.body["status"], "active");
        assert_eq!(resumed.body["paused_at"], Value::Null);
    }
    assert!(!app.stored_bots().await[0].is_paused());
}

#[actix_web::test]
async fn pausing_needs_an_admin_and_a_known_bot() {
    let app = TestApp::new().await;
    let id = app.seed_bot("Ada").await.id;
    for action in ["pause", "resume"] {
        let uri = format!("/api/v1/bots/{id}/{action}");
        let refused = app.as_key(VIEWER_KEY, post(&uri)).await;
        assert_problem(&refused, 403, "forbidden");
        let unknown = format!("/api/v1/bots/{}/{action}", BotId::new());
        assert_problem(&app.admin(post(&unknown)).await, 404, "not_found");
        let get = app.admin(TestRequest::get().uri(&uri)).await;
        assert_problem(&get, 405, "method_not_allowed");
    }
    assert!(!app.stored_bots().await[0].is_paused());
}

fn at(time: &str) -> DateTime<Utc> {
    time.parse().unwrap()
}

fn usage(prompt_tokens: u32, completion_tokens: u32) -> Option<TokenUsage> {
    Some(TokenUsage {
        prompt_tokens,
        completion_tokens,
    })
}

fn cost(currency: &str, nanos: i64) -> Option<Cost> {
    Some(Cost {
        currency: currency.into(),
        nanos,
    })
}

/// January 2025 in two of the bot's chats: five messages in, four answers out (one failed)
/// with 300 prompt and 45 completion tokens, costing 0.0035 EUR and 0.5 USD. Besides: a chat
/// started just before the month, and a message at the month's exclusive end.
async fn seed_january(app: &TestApp, bot: BotId) -> Vec<Message> {
    let hi = || MessageContent::text("hi");
    let answered = [
        (
            "1",
            "1",
            "2025-01-02T10:00:00Z",
            usage(100, 20),
            cost("EUR", 1_000_000),
        ),
        (
            "1",
            "2",
            "2025-01-03T10:00:00Z",
            usage(150, 20),
            cost("EUR", 2_500_000),
        ),
        (
            "2",
            "3",
            "2025-01-10T10:00:00Z",
            usage(50, 5),
            cost("USD", 500_000_000),
        ),
        ("2", "4", "2025-01-11T10:00:00Z", None, None),
    ];
    let mut answers = Vec::new();
    for (chat, id, time, usage, cost) in answered {
        let question = app.seed_inbound(bot, chat, id, hi(), at(time)).await;
        answers.push(app.seed_answer(&question, at(time), usage, cost).await);
    }
    let failed =
        MessageRepository::advance(&*app.store, answers[2].id, MessageStatus::Failed, None);
    assert!(failed.await.unwrap());
    app.seed_inbound(bot, "2", "5", hi(), at("2025-01-31T23:59:59Z"))
        .await;
    app.seed_inbound(bot, "3", "6", hi(), at("2024-12-31T23:59:59Z"))
        .await;
    app.seed_inbound(bot, "1", "7", hi(), at("2025-02-01T00:00:00Z"))
        .await;
    answers
}

#[actix_web::test]
async fn a_summary_reports_the_repositorys_counts_for_the_range() {
    let app = TestApp::new().await;
    let id = app.seed_bot("Ada").await.id;
    seed_january(&app, id).await;
    let other = app.seed_bot("Grace").await.id;
    seed_january(&app, other).await;
    let uri = format!(
        "/api/v1/bots/{id}/summary?from=2025-01-01T00:00:00Z&to=2025-02-01T01:00:00%2B01:00"
    );
    let reply = app.as_key(VIEWER_KEY, TestRequest::get().uri(&uri)).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(
        reply.body,
        json!({
            "bot_id": id.to_string(),
            "from": "2025-01-01T00:00:00Z",
            "to": "2025-02-01T00:00:00Z",
            "conversations": 2,
            "messages": {"inbound": 5, "outbound": 4},
            "failures": 1,
            "tokens": {"prompt": 300, "completion": 45, "total": 345},
            "costs": {"EUR": 0.0035, "USD": 0.5},
        })
    );
}

#[actix_web::test]
async fn usage_is_told_per_day_or_month_and_per_conversation() {
    let app = TestApp::new().await;
    let id = app.seed_bot("Ada").await.id;
    let answers = seed_january(&app, id).await;
    let series = |group_by: &str| {
        format!(
            "/api/v1/bots/{id}/usage?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z{group_by}"
        )
    };
    let days = app
        .as_key(VIEWER_KEY, TestRequest::get().uri(&series("")))
        .await;
    assert_eq!(days.status, 200, "{}", days.raw);
    assert_eq!(days.body["group_by"], "day");
    let periods = days.body["periods"].as_array().unwrap();
    let starts: Vec<&str> = periods
        .iter()
        .map(|p| p["start"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2025-01-02T00:00:00Z",
            "2025-01-03T00:00:00Z",
            "2025-01-10T00:00:00Z"
        ]
    );
    assert_eq!(
        periods[2]["usage"],
        json!({"replies": 1, "tokens": {"prompt": 50, "completion": 5, "total": 55},
               "costs": {"USD": 0.5}})
    );

    let months = app
        .as_key(
            VIEWER_KEY,
            TestRequest::get().uri(&series("&group_by=month")),
        )
        .await;
    assert_eq!(
        months.body["periods"],
        json!([{"start": "2025-01-01T00:00:00Z", "usage": {"replies": 3,
            "tokens": {"prompt": 300, "completion": 45, "total": 345},
            "costs": {"EUR": 0.0035, "USD": 0.5}}}])
    );
    let weeks = app
        .as_key(
            VIEWER_KEY,
            TestRequest::get().uri(&series("&group_by=week")),
        )
        .await;
    assert_problem(&weeks, 400, "invalid_query");

    // The first chat's conversation: two priced replies, each shown with its own cost.
    let conversation = answers[0].conversation_id;
    let uri = format!("/api/v1/conversations/{conversation}");
    let read = app.as_key(VIEWER_KEY, TestRequest::get().uri(&uri)).await;
    assert_eq!(
        read.body["usage"],
        json!({"replies": 2, "tokens": {"prompt": 250, "completion": 40, "total": 290},
               "costs": {"EUR": 0.0035}})
    );
    let messages = app
        .as_key(
            VIEWER_KEY,
            TestRequest::get().uri(&format!("{uri}/messages")),
        )
        .await;
    let usages: Vec<&Value> = (messages.body["items"].as_array().unwrap().iter())
        .map(|m| &m["usage"])
        .filter(|u| !u.is_null())
        .collect();
    assert_eq!(
        usages[0],
        &json!({"tokens": {"prompt": 100, "completion": 20, "total": 120},
                "cost": {"currency": "EUR", "amount": 0.001}})
    );
}

#[actix_web::test]
async fn an_unbounded_summary_has_null_bounds() {
    let app = TestApp::new().await;
    let id = app.seed_bot("Ada").await.id;
    let hi = MessageContent::text("hi");
    app.seed_inbound(id, "1", "1", hi, at("1999-12-31T23:59:59Z"))
        .await;
    let uri = format!("/api/v1/bots/{id}/summary");
    let reply = app.as_key(VIEWER_KEY, TestRequest::get().uri(&uri)).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(
        (&reply.body["from"], &reply.body["to"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(reply.body["tokens"]["total"], 0);
    assert_eq!(reply.body["conversations"], 1);
    assert_eq!(reply.body["messages"], json!({"inbound": 1, "outbound": 0}));
}

#[actix_web::test]
async fn a_bad_summary_range_is_refused_before_any_count() {
    let app = TestApp::new().await;
    let id = app.seed_bot("Ada").await.id;
    // Were the summaries asked for, the answer would be a 503.
    app.summaries.unavailable.set(true);
    let summary = |query: &str| format!("/api/v1/bots/{id}/summary?{query}");
    let backwards = summary("from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z");
    let reply = app
        .as_key(VIEWER_KEY, TestRequest::get().uri(&backwards))
        .await;
    assert_invalid_field(&reply, "from");
    for query in [
        "from=yesterday",
        "to=2025-13-01T00:00:00Z",
        "from=1700000000",
        "to=2025-01-01T00:00:00",
    ] {
        let reply = app
            .as_key(VIEWER_KEY, TestRequest::get().uri(&summary(query)))
            .await;
        assert_problem(&reply, 400, "invalid_query");
    }
    let unknown = format!("/api/v1/bots/{}/summary", BotId::new());
    assert_problem(
        &app.admin(TestRequest::get().uri(&unknown)).await,
        404,
        "not_found",
    );
}

#[actix_web::test]
async fn a_bot_says_how_it_hands_chats_to_a_person() {
    let app = TestApp::new().await;
    let defaults = create(&app, "Ada").await;
    assert_eq!(defaults["handoff_keywords"], json!([]));
    assert_eq!(defaults["handoff_message"], Value::Null);
    assert_eq!(defaults["handoff_idle_minutes"], 60);

    let reply = app
        .admin(post_bot(json!({
            "name": "Bea",
            "system_prompt": "be brief",
            "handoff_keywords": ["Agent", "real  person"],
            "handoff_message": "One moment, a colleague takes over.",
            "handoff_idle_minutes": 15,
        })))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    assert_eq!(
        reply.body["handoff_keywords"],
        json!(["agent", "real person"])
    );
    assert_eq!(reply.body["handoff_idle_minutes"], 15);
    let id = reply.body["id"].as_str().unwrap();

    let patch = |body: Value| {
        TestRequest::patch()
            .uri(&format!("/api/v1/bots/{id}"))
            .set_json(body)
    };
    let patched = app.admin(patch(json!({"handoff_message": null}))).await;
    assert_eq!(patched.status, 200, "{}", patched.raw);
    assert_eq!(patched.body["handoff_message"], Value::Null);
    assert_eq!(
        patched.body["handoff_keywords"],
        json!(["agent", "real person"]),
        "kept"
    );
    assert_eq!(patched.body["handoff_idle_minutes"], 15, "kept");
    let stored = app.stored_bots().await;
    let bea = stored.iter().find(|bot| bot.id.to_string() == id).unwrap();
    assert!(bea.handoff.asks_for_a_person("an agent please"));

    for (body, field) in [
        (
            json!({"handoff_keywords": ["line\nbreak"]}),
            "handoff_keywords",
        ),
        (json!({"handoff_keywords": ["?!"]}), "handoff_keywords"),
        (
            json!({"handoff_keywords": vec!["k"; 21]}),
            "handoff_keywords",
        ),
        (json!({"handoff_idle_minutes": 0}), "handoff_idle_minutes"),
        (json!({"handoff_message": ""}), "handoff_message"),
    ] {
        let refused = app.admin(patch(body.clone())).await;
        assert_invalid_field(&refused, field);
    }
}

#[actix_web::test]
async fn a_budget_is_set_shown_kept_by_other_edits_and_removed_with_null() {
    let app = TestApp::new().await;
    let defaults = create(&app, "Ada").await;
    assert_eq!(
        (&defaults["budget"], &defaults["budget_message"]),
        (&Value::Null, &Value::Null)
    );
    let budget = json!({"period": "month", "max_cost": 20.0,
        "per_conversation": {"period": "day", "max_tokens": 5000}});
    let reply = app
        .admin(post_bot(json!({"name": "Bea", "system_prompt": "be brief",
            "budget": budget, "budget_message": "Out of credit."})))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    assert_eq!(reply.body["budget"], budget);
    let id = reply.body["id"].as_str().unwrap();
    let patch = |body: Value| {
        TestRequest::patch()
            .uri(&format!("/api/v1/bots/{id}"))
            .set_json(body)
    };
    let renamed = app.admin(patch(json!({"name": "Bee"}))).await;
    assert_eq!(renamed.body["budget"], budget, "kept");
    assert_eq!(renamed.body["budget_message"], "Out of credit.");
    let cleared = app
        .admin(patch(json!({"budget": null, "budget_message": null})))
        .await;
    assert_eq!(
        (&cleared.body["budget"], &cleared.body["budget_message"]),
        (&Value::Null, &Value::Null)
    );
    let bad = app
        .admin(patch(
            json!({"budget": {"per_user": {"period": "hour", "max_tokens": 1}}}),
        ))
        .await;
    assert_invalid_field(&bad, "budget.per_user");
}
