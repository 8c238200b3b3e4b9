//! Tools a bot's model may call: the MCP servers it names (address, secret headers, which of their tools it may use), and the record of each call kept with the reply.

use crate::{BaseUrl, Secret, TextRule, ValidationError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Where the refusals of a bot's MCP servers point.
const FIELD: &str = "mcp_servers";

/// An MCP server (Streamable HTTP) whose tools are offered to the bot's model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpServer {
    /// Names the server in the bot: 1-32 of `a-z`, `0-9`, `_` and `-`.
    pub name: String,
    /// An `http://` or `https://` URL with a host.
    pub url: String,
    /// Sent with every request (an `Authorization`, say); the values are secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Secret>,
    /// The only tools offered to the model; `None`, all the server lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<Vec<String>>,
}

impl McpServer {
    pub const MAX_SERVERS: usize = 8;
    pub const MAX_HEADERS: usize = 10;
    pub const MAX_ALLOWED_TOOLS: usize = 100;

    /// Checks a bot's servers: at most [`Self::MAX_SERVERS`], names unique, each valid.
    pub fn check_all(servers: &[McpServer]) -> Result<(), ValidationError> {
        if servers.len() > Self::MAX_SERVERS {
            return Err(invalid(format!("at most {} servers", Self::MAX_SERVERS)));
        }
        let mut names = BTreeSet::new();
        for server in servers {
            server.check()?;
            if !names.insert(server.name.as_str()) {
                return Err(invalid(format!("`{}` is named twice", server.name)));
            }
        }
        Ok(())
    }

    fn check(&self) -> Result<(), ValidationError> {
        let name_ok = (1..=32).contains(&self.name.len())
            && (self.name.bytes()).all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'));
        if !name_ok {
            return Err(invalid(format!(
                "`{}`: a name is 1-32 of a-z, 0-9, _ and -",
                self.name
            )));
        }
        let named = |e: ValidationError| invalid(format!("`{}`: the url {}", self.name, e.reason));
        BaseUrl::parse_field(FIELD, &self.url).map_err(named)?;
        self.check_headers()?;
        self.check_allowed_tools()
    }

    fn check_headers(&self) -> Result<(), ValidationError> {
        if self.headers.len() > Self::MAX_HEADERS {
            let reason = format!("`{}`: at most {} headers", self.name, Self::MAX_HEADERS);
            return Err(invalid(reason));
        }
        for (name, value) in &self.headers {
            let token = |b: u8| b.is_ascii_alphanumeric() || b"-_".contains(&b);
            let value_ok = (1..=4096).contains(&value.expose().len())
                && TextRule::SingleLine.check(FIELD, value.expose()).is_ok();
            if !(1..=64).contains(&name.len()) || !name.bytes().all(token) || !value_ok {
                return Err(invalid(format!(
                    "`{}`: header `{name}` needs a name of 1-64 letters, digits and - and a value of 1-4096 characters on one line",
                    self.name
                )));
            }
        }
        Ok(())
    }

    fn check_allowed_tools(&self) -> Result<(), ValidationError> {
        let Some(tools) = &self.allowed_tools else {
            return Ok(());
        };
        let named =
            |tool: &String| (1..=64).contains(&tool.len()) && !tool.contains(char::is_control);
        if tools.len() > Self::MAX_ALLOWED_TOOLS || !tools.iter().all(named) {
            return Err(invalid(format!(
                "`{}`: allowed_tools holds at most {} names of 1-64 characters",
                self.name,
                Self::MAX_ALLOWED_TOOLS
            )));
        }
        Ok(())
    }

    /// Whether the bot may use the server's tool `tool`.
    pub fn allows(&self, tool: &str) -> bool {
        (self.allowed_tools.as_ref()).is_none_or(|allowed| allowed.iter().any(|t| t == tool))
    }
}

fn invalid(reason: String) -> ValidationError {
    ValidationError::new(FIELD, reason)
}

/// One tool call made while a reply was written, and what it gave the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolUse {
    /// The MCP server's name in the bot.
    pub server: String,
    pub tool: String,
    /// The arguments the model gave, as JSON text.
    pub arguments: String,
    /// What the model was given back (cut to the configured size): the tool's text, or why
    /// the call failed.
    pub result: String,
    /// Whether the call failed (the tool's own error, a timeout, an unreachable server).
    pub is_error: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: &str, url: &str) -> McpServer {
        McpServer {
            name: name.to_owned(),
            url: url.to_owned(),
            headers: BTreeMap::from([("Authorization".to_owned(), Secret::new("Bearer t"))]),
            allowed_tools: None,
        }
    }

    #[test]
    fn servers_need_an_http_url_a_simple_name_each_of_their_own_and_sane_headers() {
        let good = server("search", "https://mcp.example.com/mcp");
        assert_eq!(McpServer::check_all(std::slice::from_ref(&good)), Ok(()));
        let refused = |servers: &[McpServer]| McpServer::check_all(servers).unwrap_err();
        for url in [
            "ftp://mcp.example.com",
            "mcp.example.com",
            "http://",
            "file:///x",
        ] {
            let error = refused(&[server("search", url)]);
            assert_eq!(error.field, "mcp_servers");
            assert!(
                error.reason.contains("`search`: the url"),
                "{}",
                error.reason
            );
        }
        for name in ["", "Search", "a b", &"x".repeat(33)] {
            assert!(refused(&[server(name, "http://h")])
                .reason
                .contains("a name"));
        }
        let twice = refused(&[good.clone(), good.clone()]);
        assert!(twice.reason.contains("named twice"));
        let mut bad_header = good.clone();
        bad_header.headers.insert("X Key".into(), Secret::new("v"));
        assert!(refused(&[bad_header]).reason.contains("header `X Key`"));
        let mut broken_value = good.clone();
        broken_value
            .headers
            .insert("X-Key".into(), Secret::new("a\nb"));
        assert!(refused(&[broken_value]).reason.contains("header `X-Key`"));
        let many: Vec<McpServer> = (0..9)
            .map(|i| server(&format!("s{i}"), "http://h"))
            .collect();
        assert!(refused(&many).reason.contains("at most 8"));
    }

    #[test]
    fn allowed_tools_narrow_what_a_server_offers() {
        let mut search = server("search", "http://h");
        assert!(search.allows("anything"));
        search.allowed_tools = Some(vec!["lookup".into()]);
        assert!(search.allows("lookup") && !search.allows("delete_all"));
        search.allowed_tools = Some(vec![String::new()]);
        assert!(McpServer::check_all(&[search]).is_err());
    }
}
