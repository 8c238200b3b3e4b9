//! The tools port: a session with an MCP server, listing its tools and calling them.

use crate::ports::ToolSpec;
use async_trait::async_trait;
use domain::McpServer;
use thiserror::Error;

/// What a tool gave back: its text, and whether the tool itself reports a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    pub text: String,
    pub is_error: bool,
}

/// Why a server could not be reached or a call could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ToolError(pub String);

/// Connects to MCP servers.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ToolServers: Send + Sync {
    /// Opens a session with `server` (its headers sent with every request) and lists its tools.
    async fn connect(&self, server: &McpServer) -> Result<Box<dyn ToolSession>, ToolError>;
}

/// A session with one MCP server, for one reply; dropping it closes it.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ToolSession: Send + Sync {
    /// The tools the server listed when the session opened.
    fn tools(&self) -> Vec<ToolSpec>;

    /// Calls `tool` with `arguments` (the JSON text of an object).
    async fn call(&self, tool: &str, arguments: &str) -> Result<ToolOutput, ToolError>;
}
