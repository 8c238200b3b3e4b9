//! Tools through MCP end to end: a real MCP server (the SDK's server side) on loopback, a model fake that calls its tools, the result reaching the model and the call listed with the stored reply; a tool that hangs cut at the timeout, a loop stopped at the step cap, and bad server settings refused.

use crate::{on_each_database, PATIENCE};
use mcp::testing::FakeMcpServer;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{updates, TelegramWorld};

/// A world whose bot may call the tools of `mcp` (an `Authorization` header with them).
async fn world_with_tools(db_url: &str, mcp: &FakeMcpServer, allowed: Value) -> TelegramWorld {
    let configure = |config: switchboard_e2e::TestConfig| {
        config
            .with("SWITCHBOARD__TOOLS__CALL_TIMEOUT_MS", 700)
            .with("SWITCHBOARD__TOOLS__MAX_STEPS", 2)
    };
    let openai = FakeOpenAi::using_tools().await;
    let world = TelegramWorld::start_with(db_url, openai, configure, None).await;
    world.without_rate_limits().await;
    let servers = json!([{"name": "calc", "url": mcp.url(),
        "headers": {"Authorization": "Bearer s3cret"}, "allowed_tools": allowed}]);
    let path = format!("/api/v1/bots/{}", world.bot);
    let patch = json!({"mcp_servers": servers});
    let (status, bot) = world.app.admin(Method::PATCH, &path, Some(patch)).await;
    assert_eq!(status, 200, "{bot}");
    assert_eq!(
        bot["mcp_servers"][0]["header_names"],
        json!(["Authorization"])
    );
    assert!(
        !bot.to_string().contains("s3cret"),
        "a header value shown: {bot}"
    );
    world
}

/// The stored reply to the `n`th message, once there are `n` replies.
async fn reply(world: &TelegramWorld, n: usize) -> Value {
    world.telegram.wait_for_sent(n, PATIENCE).await;
    let messages = world.messages().await;
    let replies: Vec<Value> = (messages.into_iter())
        .filter(|m| m["direction"] == "outbound")
        .collect();
    replies[n - 1].clone()
}

#[tokio::test]
async fn a_tools_result_reaches_the_model_and_the_stored_reply_lists_the_call() {
    on_each_database(|db| async move {
        let mcp = FakeMcpServer::start().await;
        let world = world_with_tools(db.url(), &mcp, json!(["add", "hang"])).await;

        world
            .deliver(&updates::text(1, 42, 1, r#"use add {"a": 2, "b": 40}"#))
            .await;

        let reply = reply(&world, 1).await;
        assert_eq!(reply["text"], "add said: 42");
        assert_eq!(
            reply["tool_uses"],
            json!([{"server": "calc", "tool": "add", "arguments": r#"{"a": 2, "b": 40}"#,
                    "result": "42", "is_error": false}])
        );
        let calls = mcp.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].arguments, json!({"a": 2, "b": 40}));
        assert_eq!(calls[0].authorization.as_deref(), Some("Bearer s3cret"));
        let asked = world.openai.requests().await;
        let offered: Vec<&Value> = (asked[0]["tools"].as_array().unwrap().iter())
            .map(|t| &t["function"]["name"])
            .collect();
        assert_eq!(
            offered,
            [&json!("add"), &json!("hang")],
            "allowed tools only"
        );
        let given = asked[1]["messages"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(
            (&given["role"], &given["content"]),
            (&json!("tool"), &json!("42"))
        );
        assert!(world.app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn a_hanging_tool_is_cut_at_the_timeout_and_a_loop_stops_at_the_step_cap() {
    on_each_database(|db| async move {
        let mcp = FakeMcpServer::start().await;
        let world = world_with_tools(db.url(), &mcp, Value::Null).await;

        world.deliver(&updates::text(1, 42, 1, "use hang")).await;
        let hung = reply(&world, 1).await;
        assert_eq!(hung["text"], "hang said: the call timed out after 700 ms");
        assert_eq!(hung["tool_uses"][0]["is_error"], true);

        world.deliver(&updates::text(2, 42, 2, "use again")).await;
        let looped = reply(&world, 2).await;
        assert_eq!(looped["text"], "I stop here.");
        let uses = looped["tool_uses"].as_array().unwrap();
        assert_eq!(
            uses.len(),
            2,
            "tools.max_steps answers call tools, then one must answer"
        );
        assert_eq!(mcp.calls().len(), 1 + 2);
        assert!(world.app.stop().await);
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_server_is_skipped_and_the_model_answers_without_tools() {
    let db = database::testing::fresh_sqlite();
    let mcp = FakeMcpServer::start().await;
    let world = world_with_tools(db.url(), &mcp, Value::Null).await;
    drop(mcp);
    world.deliver(&updates::text(1, 42, 1, "hello there")).await;
    let reply = reply(&world, 1).await;
    assert_eq!(reply["text"], "no tools: hello there");
    assert_eq!(reply["tool_uses"], json!([]));
    let asked = world.openai.requests().await;
    assert_eq!(asked[0].get("tools"), None, "no tools offered");
    assert!(world.app.stop().await);
}

#[tokio::test]
async fn bad_mcp_servers_are_refused_naming_the_field() {
    let db = database::testing::fresh_sqlite();
    let world = TelegramWorld::start(db.url(), FakeOpenAi::answering("unused").await).await;
    let path = format!("/api/v1/bots/{}", world.bot);
    let server = |url: &str| json!({"name": "calc", "url": url});
    let cases = [
        (
            json!({"mcp_servers": [server("ftp://tools.example")]}),
            "mcp_servers",
        ),
        (
            json!({"mcp_servers": [server("tools.example/mcp")]}),
            "mcp_servers",
        ),
        (
            json!({"mcp_servers": [server("http://a"), server("http://b")]}),
            "mcp_servers",
        ),
        (
            json!({"mcp_servers": [{"name": "Calc!", "url": "http://a"}]}),
            "mcp_servers",
        ),
    ];
    world
        .app
        .assert_refusals(Method::PATCH, &path, &cases)
        .await;
    let unknown = json!({"mcp_servers": [{"name": "calc", "url": "http://a", "token": "x"}]});
    let (status, problem) = world.app.admin(Method::PATCH, &path, Some(unknown)).await;
    assert_eq!(status, 400, "{problem}");
    assert!(world.app.stop().await);
}
