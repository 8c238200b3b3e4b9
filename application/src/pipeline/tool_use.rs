//! A reply written with tools: the bot's MCP servers' tools offered to the model, each call it asks for run (cut at a timeout, its result cut to a size) and its result given back, until it answers or the reply's steps are spent; every call kept for the reply.

use crate::ports::{
    ChatRequest, Completion, LanguageModel, ModelError, Timer, TokenUsage, ToolCall, ToolOutput,
    ToolServers, ToolSession, ToolSpec, ToolStep,
};
use domain::{McpServer, ToolUse};
use futures::future::{self, Either};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

/// The limits of tool use (`tools.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolSettings {
    /// How long one call may take before the model is told it timed out.
    pub call_timeout: Duration,
    /// How long connecting to a server and listing its tools may take before it is skipped.
    pub connect_timeout: Duration,
    /// How many of the model's answers may call tools in one reply; the next must answer.
    pub max_steps: u32,
    /// The most characters of a result the model is given (and the reply keeps).
    pub max_result_chars: usize,
}

impl Default for ToolSettings {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_steps: 5,
            max_result_chars: 8_000,
        }
    }
}

/// Offers the tools of a bot's MCP servers to its model and runs the calls it asks for.
pub struct Toolbox {
    servers: Arc<dyn ToolServers>,
    timer: Arc<dyn Timer>,
    settings: ToolSettings,
}

/// A session open for one reply, with the tools the bot may use on it.
struct Open {
    server: String,
    session: Box<dyn ToolSession>,
    tools: Vec<ToolSpec>,
}

impl Toolbox {
    pub fn new(
        servers: Arc<dyn ToolServers>,
        timer: Arc<dyn Timer>,
        settings: ToolSettings,
    ) -> Self {
        Self {
            servers,
            timer,
            settings,
        }
    }

    /// The model's answer to `request` with the tools of `servers` offered, with the calls it
    /// made on the way; its usage and cost are those of every answer the model gave.
    pub async fn answer(
        &self,
        model: &dyn LanguageModel,
        servers: &[McpServer],
        mut request: ChatRequest,
    ) -> Result<Completion, ModelError> {
        let open = self.open_all(servers).await;
        request.tools = offered(&open);
        let mut spent = Completion::default();
        let mut uses = Vec::new();
        let mut steps = 0;
        loop {
            request.tools_closed = request.tools.is_empty() || steps >= self.settings.max_steps;
            let answer = model.complete(&request).await?;
            add_spending(&mut spent, &answer);
            if answer.tool_calls.is_empty() || request.tools_closed {
                let (text, tool_uses) = (answer.text, uses);
                return Ok(Completion {
                    text,
                    tool_uses,
                    ..spent
                });
            }
            let mut results = Vec::with_capacity(answer.tool_calls.len());
            for call in &answer.tool_calls {
                let used = self.run(&open, call).await;
                results.push(used.result.clone());
                uses.push(used);
            }
            let calls = answer.tool_calls;
            request.tool_steps.push(ToolStep { calls, results });
            steps += 1;
        }
    }

    /// A session with each server that answers in time; one that does not is skipped.
    async fn open_all(&self, servers: &[McpServer]) -> Vec<Open> {
        let mut open = Vec::with_capacity(servers.len());
        for server in servers {
            let connecting = self.servers.connect(server);
            let session = match self.within(self.settings.connect_timeout, connecting).await {
                Some(Ok(session)) => session,
                Some(Err(error)) => {
                    tracing::warn!(server = server.name, %error, "an MCP server is unreachable: its tools are not offered");
                    continue;
                }
                None => {
                    tracing::warn!(
                        server = server.name,
                        "an MCP server did not answer in time: its tools are not offered"
                    );
                    continue;
                }
            };
            let tools = session
                .tools()
                .into_iter()
                .filter(|t| server.allows(&t.name));
            open.push(Open {
                server: server.name.clone(),
                tools: tools.collect(),
                session,
            });
        }
        open
    }

    /// Runs `call` on the server that offered its tool; any failure becomes the result the
    /// model is given, marked as an error.
    async fn run(&self, open: &[Open], call: &ToolCall) -> ToolUse {
        let holder = open
            .iter()
            .find(|o| o.tools.iter().any(|t| t.name == call.name));
        let output = match holder {
            None => failed(format!("there is no tool named `{}`", call.name)),
            Some(holder) => {
                let calling = holder.session.call(&call.name, &call.arguments);
                match self.within(self.settings.call_timeout, calling).await {
                    Some(Ok(output)) => output,
                    Some(Err(error)) => failed(format!("the call failed: {error}")),
                    None => failed(format!(
                        "the call timed out after {} ms",
                        self.settings.call_timeout.as_millis()
                    )),
                }
            }
        };
        if output.is_error {
            tracing::info!(tool = call.name, result = output.text, "a tool call failed");
        }
        ToolUse {
            server: holder.map(|o| o.server.clone()).unwrap_or_default(),
            tool: call.name.clone(),
            arguments: call.arguments.clone(),
            result: cut(output.text, self.settings.max_result_chars),
            is_error: output.is_error,
        }
    }

    /// `work`'s output, or `None` once `limit` has passed.
    async fn within<T>(&self, limit: Duration, work: impl Future<Output = T>) -> Option<T> {
        match future::select(pin!(work), pin!(self.timer.sleep(limit))).await {
            Either::Left((output, _)) => Some(output),
            Either::Right(((), _)) => None,
        }
    }
}

/// The tools offered to the model: each name once, the first server's where two share one.
fn offered(open: &[Open]) -> Vec<ToolSpec> {
    let mut offered: Vec<ToolSpec> = Vec::new();
    for tool in open.iter().flat_map(|o| &o.tools) {
        if offered.iter().any(|t| t.name == tool.name) {
            tracing::warn!(
                tool = tool.name,
                "two MCP servers offer a tool of this name: the first one's is used"
            );
            continue;
        }
        offered.push(tool.clone());
    }
    offered
}

fn failed(text: String) -> ToolOutput {
    ToolOutput {
        text,
        is_error: true,
    }
}

/// `text` cut to `max` characters, saying so.
fn cut(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}… [cut at {max} characters]", &text[..end]),
        None => text,
    }
}

/// Adds `answer`'s tokens and cost to `spent`'s.
fn add_spending(spent: &mut Completion, answer: &Completion) {
    if let Some(usage) = answer.usage {
        let total = spent.usage.get_or_insert(TokenUsage {
            prompt_tokens: 0,
            completion_tokens: 0,
        });
        total.prompt_tokens += usage.prompt_tokens;
        total.completion_tokens += usage.completion_tokens;
    }
    if let Some(cost) = &answer.cost {
        match &mut spent.cost {
            Some(total) if total.currency == cost.currency => total.nanos += cost.nanos,
            Some(_) => {}
            None => spent.cost = Some(cost.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockLanguageModel, MockToolServers, ToolError};
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    fn server(name: &str, allowed: Option<&[&str]>) -> McpServer {
        McpServer {
            name: name.to_owned(),
            url: format!("http://{name}.example"),
            headers: BTreeMap::new(),
            allowed_tools: allowed.map(|a| a.iter().map(|t| (*t).to_owned()).collect()),
        }
    }

    fn spec(name: &str) -> ToolSpec {
        ToolSpec {
            name: name.to_owned(),
            description: format!("does {name}"),
            parameters: r#"{"type":"object"}"#.to_owned(),
        }
    }

    fn call(id: &str, name: &str) -> ToolCall {
        ToolCall {
            id: id.to_owned(),
            name: name.to_owned(),
            arguments: r#"{"q":"x"}"#.to_owned(),
        }
    }

    fn asking(calls: Vec<ToolCall>, tokens: u32) -> Completion {
        Completion {
            usage: Some(TokenUsage {
                prompt_tokens: tokens,
                completion_tokens: 1,
            }),
            tool_calls: calls,
            ..Completion::text("")
        }
    }

    /// What a fake tool does when called.
    #[derive(Clone)]
    enum Does {
        Answer(&'static str),
        Fail(&'static str),
        Hang,
    }

    struct FakeSession(Vec<(&'static str, Does)>);

    #[async_trait::async_trait]
    impl ToolSession for FakeSession {
        fn tools(&self) -> Vec<ToolSpec> {
            self.0.iter().map(|(name, _)| spec(name)).collect()
        }

        async fn call(&self, tool: &str, _arguments: &str) -> Result<ToolOutput, ToolError> {
            let does = self
                .0
                .iter()
                .find(|(name, _)| *name == tool)
                .map(|(_, d)| d.clone());
            match does.expect("a listed tool") {
                Does::Answer(text) => ok(text),
                Does::Fail(why) => Err(ToolError(why.to_owned())),
                Does::Hang => future::pending().await,
            }
        }
    }

    fn session(tools: &[(&'static str, Does)]) -> Box<dyn ToolSession> {
        Box::new(FakeSession(tools.to_vec()))
    }

    /// A timer whose every wait ends at once: a tool that answers at once still wins (it is
    /// polled first), one that hangs loses.
    struct Instant;

    #[async_trait::async_trait]
    impl Timer for Instant {
        async fn sleep(&self, _: Duration) {}
    }

    fn timer() -> Arc<dyn Timer> {
        Arc::new(Instant)
    }

    fn ok(text: &str) -> Result<ToolOutput, ToolError> {
        Ok(ToolOutput {
            text: text.to_owned(),
            is_error: false,
        })
    }

    /// A model answering `answers` in order, keeping each request it was asked.
    fn model(answers: Vec<Completion>) -> (MockLanguageModel, Arc<Mutex<Vec<ChatRequest>>>) {
        let asked: Arc<Mutex<Vec<ChatRequest>>> = Arc::default();
        let (kept, answers) = (asked.clone(), Mutex::new(answers.into_iter()));
        let mut model = MockLanguageModel::new();
        model.expect_complete().returning(move |request| {
            kept.lock().unwrap().push(request.clone());
            Ok(answers.lock().unwrap().next().expect("an answer"))
        });
        (model, asked)
    }

    #[tokio::test]
    async fn a_tools_result_reaches_the_model_and_the_reply_keeps_the_call() {
        let mut servers = MockToolServers::new();
        servers.expect_connect().returning(|s| {
            Ok(match s.name.as_str() {
                "search" => session(&[
                    ("lookup", Does::Answer("42 °C")),
                    ("delete_all", Does::Hang),
                ]),
                _ => session(&[("lookup", Does::Hang), ("weather", Does::Hang)]),
            })
        });
        let (model, asked) = model(vec![
            asking(vec![call("c1", "lookup")], 10),
            Completion {
                usage: Some(TokenUsage {
                    prompt_tokens: 20,
                    completion_tokens: 5,
                }),
                ..Completion::text("It is 42 °C.")
            },
        ]);
        let toolbox = Toolbox::new(Arc::new(servers), timer(), ToolSettings::default());
        let bot_servers = [server("search", Some(&["lookup"])), server("other", None)];

        let answer = toolbox
            .answer(&model, &bot_servers, ChatRequest::default())
            .await
            .unwrap();
        let uses = &answer.tool_uses;

        assert_eq!(answer.text, "It is 42 °C.");
        assert_eq!(
            answer.usage.map(|u| u.prompt_tokens),
            Some(30),
            "both answers count"
        );
        assert_eq!(
            *uses,
            [ToolUse {
                server: "search".into(),
                tool: "lookup".into(),
                arguments: r#"{"q":"x"}"#.into(),
                result: "42 °C".into(),
                is_error: false,
            }]
        );
        let asked = asked.lock().unwrap();
        let names: Vec<&str> = asked[0].tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["lookup", "weather"],
            "allowed tools, each name once"
        );
        assert_eq!(asked[1].tool_steps[0].results, ["42 °C"]);
        assert!(!asked[1].tools_closed);
    }

    #[tokio::test]
    async fn failures_timeouts_and_unknown_tools_are_results_and_an_unreachable_server_is_skipped()
    {
        let mut servers = MockToolServers::new();
        servers
            .expect_connect()
            .returning(|s| match s.name.as_str() {
                "down" => Err(ToolError("connection refused".into())),
                _ => Ok(session(&[
                    ("broken", Does::Fail("HTTP 500")),
                    ("hangs", Does::Hang),
                ])),
            });
        let (model, asked) = model(vec![
            asking(vec![call("c1", "broken"), call("c2", "nope")], 1),
            Completion::text("Sorry."),
        ]);
        let toolbox = Toolbox::new(Arc::new(servers), timer(), ToolSettings::default());
        let bot_servers = [server("down", None), server("tools", None)];

        let answer = toolbox
            .answer(&model, &bot_servers, ChatRequest::default())
            .await
            .unwrap();
        let uses = &answer.tool_uses;

        assert_eq!(answer.text, "Sorry.");
        let results: Vec<(&str, bool)> = uses
            .iter()
            .map(|u| (u.result.as_str(), u.is_error))
            .collect();
        assert_eq!(
            results,
            [
                ("the call failed: HTTP 500", true),
                ("there is no tool named `nope`", true)
            ]
        );
        assert_eq!(
            asked.lock().unwrap()[0].tools.len(),
            2,
            "only the reachable server's"
        );
    }

    #[tokio::test]
    async fn a_call_that_hangs_is_cut_at_the_timeout() {
        let mut servers = MockToolServers::new();
        servers
            .expect_connect()
            .returning(|_| Ok(session(&[("hangs", Does::Hang)])));
        let (model, _) = model(vec![
            asking(vec![call("c1", "hangs")], 1),
            Completion::text("Later."),
        ]);
        let settings = ToolSettings {
            call_timeout: Duration::from_millis(1500),
            ..ToolSettings::default()
        };
        let toolbox = Toolbox::new(Arc::new(servers), timer(), settings);
        let uses = toolbox
            .answer(&model, &[server("slow", None)], ChatRequest::default())
            .await
            .unwrap()
            .tool_uses;
        assert_eq!(uses[0].result, "the call timed out after 1500 ms");
        assert!(uses[0].is_error);
    }

    #[tokio::test]
    async fn the_step_cap_stops_a_loop_and_the_model_must_answer() {
        let mut servers = MockToolServers::new();
        servers
            .expect_connect()
            .returning(|_| Ok(session(&[("again", Does::Answer("more"))])));
        let forever: Vec<Completion> = (0..10)
            .map(|_| asking(vec![call("c", "again")], 1))
            .collect();
        let (model, asked) = model(forever);
        let settings = ToolSettings {
            max_steps: 3,
            max_result_chars: 2,
            ..ToolSettings::default()
        };
        let toolbox = Toolbox::new(Arc::new(servers), timer(), settings);

        let answer = toolbox
            .answer(&model, &[server("loop", None)], ChatRequest::default())
            .await
            .unwrap();
        let uses = &answer.tool_uses;

        assert_eq!(uses.len(), 3, "three steps of calls, then no more");
        assert_eq!(uses[0].result, "mo… [cut at 2 characters]");
        let asked = asked.lock().unwrap();
        assert_eq!(asked.len(), 4);
        assert!(asked[3].tools_closed && !asked[2].tools_closed);
        assert_eq!(answer.usage.map(|u| u.prompt_tokens), Some(4));
    }

    #[tokio::test]
    async fn without_reachable_tools_the_model_is_asked_once_with_none() {
        let mut servers = MockToolServers::new();
        servers
            .expect_connect()
            .returning(|_| Err(ToolError("refused".into())));
        let (model, asked) = model(vec![Completion::text("Plain answer.")]);
        let toolbox = Toolbox::new(Arc::new(servers), timer(), ToolSettings::default());
        let answer = toolbox
            .answer(&model, &[server("down", None)], ChatRequest::default())
            .await
            .unwrap();
        assert_eq!(
            (answer.text.as_str(), answer.tool_uses.len()),
            ("Plain answer.", 0)
        );
        assert!(asked.lock().unwrap()[0].tools.is_empty());
    }
}
