//! The MCP servers of a bot body (their header values taken, never shown) and the tool calls a reply lists.

use domain::{McpServer, Secret, ToolUse};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// An MCP server (Streamable HTTP) whose tools the bot's model may call.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct McpServerBody {
    /// Names the server in the bot: 1-32 of `a-z`, `0-9`, `_` and `-`, unique in the bot.
    pub name: String,
    /// An `http://` or `https://` URL with a host (`https://mcp.example.com/mcp`).
    pub url: String,
    /// Sent with every request to the server (`{"Authorization": "Bearer …"}`): at most 10,
    /// names of letters, digits and `-`, values on one line. Sealed at rest, never shown.
    pub headers: Option<BTreeMap<String, String>>,
    /// The only tools of the server offered to the model; absent, all it lists.
    pub allowed_tools: Option<Vec<String>>,
}

impl From<McpServerBody> for McpServer {
    fn from(body: McpServerBody) -> Self {
        let headers = body.headers.unwrap_or_default().into_iter();
        Self {
            name: body.name,
            url: body.url,
            headers: headers
                .map(|(name, value)| (name, Secret::new(value)))
                .collect(),
            allowed_tools: body.allowed_tools,
        }
    }
}

/// An MCP server as the API shows it: the names of its headers, never their values.
#[derive(Debug, Serialize, ToSchema)]
pub struct McpServerShown {
    pub name: String,
    pub url: String,
    /// The headers sent with every request; their values are sealed and never shown.
    pub header_names: Vec<String>,
    /// `null`: every tool the server lists.
    pub allowed_tools: Option<Vec<String>>,
}

impl From<&McpServer> for McpServerShown {
    fn from(server: &McpServer) -> Self {
        Self {
            name: server.name.clone(),
            url: server.url.clone(),
            header_names: server.headers.keys().cloned().collect(),
            allowed_tools: server.allowed_tools.clone(),
        }
    }
}

/// A tool call the model made while it wrote a reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolUseBody {
    /// The MCP server's name in the bot (empty when the model named a tool no server offers).
    pub server: String,
    pub tool: String,
    /// The arguments the model gave, as JSON text.
    pub arguments: String,
    /// What the model was given back (cut to `tools.max_result_chars`): the tool's text, or why
    /// the call failed.
    pub result: String,
    /// The call failed: the tool's own error, a timeout, an unreachable server.
    pub is_error: bool,
}

impl From<ToolUse> for ToolUseBody {
    fn from(used: ToolUse) -> Self {
        Self {
            server: used.server,
            tool: used.tool,
            arguments: used.arguments,
            result: used.result,
            is_error: used.is_error,
        }
    }
}
