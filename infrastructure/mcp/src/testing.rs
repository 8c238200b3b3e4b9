//! Test support (feature `testing`): an MCP server on loopback, built with the SDK's server side (Streamable HTTP), offering a few tools with known behaviour and keeping every call it got with its `Authorization` header.
//!
//! Its tools: `add` (`{a, b}` numbers → their sum as text), `fail` (a tool error), `hang`
//! (never answers) and `again` (asks to be called again, for loops).
#![expect(
    clippy::expect_used,
    reason = "test helpers: a server that cannot start must stop the test"
)]

use http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::ErrorData;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// One `tools/call` the server got.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenCall {
    pub tool: String,
    pub arguments: Value,
    /// The request's `Authorization` header.
    pub authorization: Option<String>,
}

/// The running server; it stops when dropped.
pub struct FakeMcpServer {
    url: String,
    calls: Arc<Mutex<Vec<SeenCall>>>,
    serving: tokio::task::JoinHandle<()>,
}

impl FakeMcpServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}/mcp", listener.local_addr().expect("an address"));
        let calls: Arc<Mutex<Vec<SeenCall>>> = Arc::default();
        let tools = Tools {
            calls: calls.clone(),
        };
        let service = StreamableHttpService::new(
            move || Ok(tools.clone()),
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default(),
        );
        let serving = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = service.clone();
                let handle = service_fn(move |request| {
                    let service = service.clone();
                    async move { Ok::<_, Infallible>(service.handle(request).await) }
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), handle));
            }
        });
        Self {
            url,
            calls,
            serving,
        }
    }

    /// Where it answers (`http://127.0.0.1:PORT/mcp`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<SeenCall> {
        self.calls.lock().expect("calls").clone()
    }
}

impl Drop for FakeMcpServer {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

#[derive(Clone)]
struct Tools {
    calls: Arc<Mutex<Vec<SeenCall>>>,
}

fn tool(name: &'static str, description: &'static str, schema: Value) -> Tool {
    let Value::Object(schema) = schema else {
        unreachable!("schemas are objects")
    };
    Tool::new(name, description, Arc::new(schema))
}

fn listed() -> Vec<Tool> {
    let numbers = json!({"type": "object", "properties": {
        "a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]});
    let nothing = json!({"type": "object", "properties": {}});
    vec![
        tool("add", "Adds two numbers.", numbers),
        tool("fail", "Always fails.", nothing.clone()),
        tool("hang", "Never answers.", nothing.clone()),
        tool("again", "Asks to be called again.", nothing),
    ]
}

impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(listed()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
        let authorization = (context.extensions.get::<Parts>())
            .and_then(|parts| parts.headers.get("authorization"))
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        self.calls.lock().expect("calls").push(SeenCall {
            tool: request.name.to_string(),
            arguments: arguments.clone(),
            authorization,
        });
        let text = |t: String| vec![ContentBlock::text(t)];
        let result = match &*request.name {
            "add" => {
                let sum =
                    arguments["a"].as_f64().unwrap_or(0.0) + arguments["b"].as_f64().unwrap_or(0.0);
                CallToolResult::success(text(sum.to_string()))
            }
            "fail" => CallToolResult::error(text("the tool failed on purpose".into())),
            "hang" => std::future::pending().await,
            _ => CallToolResult::success(text("call again".into())),
        };
        Ok(result.into())
    }
}
