//! Integration tests of the MCP adapter against a real MCP server (the SDK's server side) on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use application::ports::{ToolError, ToolServers};
use domain::{McpServer, Secret};
use serde_json::json;
use std::collections::BTreeMap;
use switchboard_mcp::testing::FakeMcpServer;
use switchboard_mcp::McpTools;

fn server(url: &str) -> McpServer {
    McpServer {
        name: "calc".into(),
        url: url.to_owned(),
        headers: BTreeMap::from([("Authorization".into(), Secret::new("Bearer s3cret"))]),
        allowed_tools: None,
    }
}

#[tokio::test]
async fn a_session_lists_the_tools_and_calls_them_with_the_servers_headers() {
    let fake = FakeMcpServer::start().await;
    let session = McpTools::new().connect(&server(fake.url())).await.unwrap();

    let tools = session.tools();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["add", "fail", "hang", "again"]);
    let schema: serde_json::Value = serde_json::from_str(&tools[0].parameters).unwrap();
    assert_eq!(schema["properties"]["a"]["type"], "number");
    assert_eq!(tools[0].description, "Adds two numbers.");

    let sum = session.call("add", r#"{"a": 2, "b": 40}"#).await.unwrap();
    assert_eq!((sum.text.as_str(), sum.is_error), ("42", false));
    let failed = session.call("fail", "").await.unwrap();
    assert_eq!(
        (failed.text.as_str(), failed.is_error),
        ("the tool failed on purpose", true)
    );
    let refused = session.call("add", "[1, 2]").await;
    assert!(matches!(refused, Err(ToolError(ref why)) if why.contains("not a JSON object")));

    let calls = fake.calls();
    assert_eq!(calls.len(), 2, "a call with bad arguments never leaves");
    assert_eq!(calls[0].arguments, json!({"a": 2, "b": 40}));
    assert_eq!(calls[0].authorization.as_deref(), Some("Bearer s3cret"));
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_hang() {
    let fake = FakeMcpServer::start().await;
    let url = fake.url().to_owned();
    drop(fake);
    let refused = McpTools::new().connect(&server(&url)).await;
    assert!(refused.is_err());
}
