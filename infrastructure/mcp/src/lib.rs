//! MCP: the tools port over Streamable HTTP with the official Rust MCP SDK (rmcp) — a session per reply and server, the server's headers sent with every request, its tools listed once and called by name.

use application::ports::{ToolError, ToolOutput, ToolServers, ToolSession, ToolSpec};
use async_trait::async_trait;
use domain::McpServer;
use http::{HeaderName, HeaderValue};
use rmcp::model::{CallToolRequestParams, CallToolResult, Tool};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt as _;
use std::collections::HashMap;
use std::sync::Once;

#[cfg(feature = "testing")]
pub mod testing;

/// Connects to MCP servers over Streamable HTTP.
#[derive(Debug, Clone, Default)]
pub struct McpTools;

impl McpTools {
    pub fn new() -> Self {
        // The SDK's HTTP client has TLS without a crypto provider of its own: it uses the
        // process's default, ring's, as the rest of Switchboard's clients do.
        static PROVIDER: Once = Once::new();
        PROVIDER.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        Self
    }
}

#[async_trait]
impl ToolServers for McpTools {
    async fn connect(&self, server: &McpServer) -> Result<Box<dyn ToolSession>, ToolError> {
        let config = StreamableHttpClientTransportConfig::with_uri(server.url.as_str())
            .custom_headers(headers(server)?);
        let transport = StreamableHttpClientTransport::from_config(config);
        let client = ()
            .serve(transport)
            .await
            .map_err(|e| ToolError(format!("cannot open a session: {e}")))?;
        let tools = client
            .list_all_tools()
            .await
            .map_err(|e| ToolError(format!("cannot list the tools: {e}")))?;
        let tools = tools.iter().map(spec).collect();
        Ok(Box::new(Session { client, tools }))
    }
}

/// The server's headers as HTTP headers.
fn headers(server: &McpServer) -> Result<HashMap<HeaderName, HeaderValue>, ToolError> {
    let invalid = |name: &str| ToolError(format!("header `{name}` cannot be sent"));
    let header = |(name, value): (&String, &domain::Secret)| {
        let key = HeaderName::try_from(name.as_str()).map_err(|_| invalid(name))?;
        let mut value = HeaderValue::try_from(value.expose()).map_err(|_| invalid(name))?;
        value.set_sensitive(true);
        Ok((key, value))
    };
    server.headers.iter().map(header).collect()
}

/// A tool as the model is offered it.
fn spec(tool: &Tool) -> ToolSpec {
    ToolSpec {
        name: tool.name.to_string(),
        description: tool.description.as_deref().unwrap_or_default().to_owned(),
        parameters: serde_json::to_string(&*tool.input_schema).unwrap_or_default(),
    }
}

/// An open session; dropping it ends it.
struct Session {
    client: RunningService<RoleClient, ()>,
    tools: Vec<ToolSpec>,
}

#[async_trait]
impl ToolSession for Session {
    fn tools(&self) -> Vec<ToolSpec> {
        self.tools.clone()
    }

    async fn call(&self, tool: &str, arguments: &str) -> Result<ToolOutput, ToolError> {
        let arguments = match arguments.trim() {
            "" => serde_json::Map::new(),
            text => serde_json::from_str(text)
                .map_err(|e| ToolError(format!("the arguments are not a JSON object: {e}")))?,
        };
        let request = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        let result = self
            .client
            .call_tool(request)
            .await
            .map_err(|e| ToolError(e.to_string()))?;
        Ok(ToolOutput {
            text: text_of(&result),
            is_error: result.is_error == Some(true),
        })
    }
}

/// A result's text blocks, one per line; without any, its structured content as JSON.
fn text_of(result: &CallToolResult) -> String {
    let texts: Vec<&str> = (result.content.iter())
        .filter_map(|block| block.as_text().map(|t| t.text.as_str()))
        .collect();
    if texts.is_empty() {
        if let Some(structured) = &result.structured_content {
            return structured.to_string();
        }
    }
    texts.join("\n")
}
