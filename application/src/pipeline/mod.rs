//! The message pipeline, in the order a message takes it: receive, record, dispatch, reply, deliver.

// In: admit and verify a webhook (bindings answered from a short cache), group-commit the records.
pub mod binding_cache;
pub mod intake;
pub mod receive_webhook;

// Run: claim runnable jobs, run each under its lease, look up what it needs, hold back what
// needs a service whose breaker is open.
pub mod breakers;
pub mod dispatcher;
pub mod job_runner;
pub mod jobs;
pub mod settings;

// Reply: commands and canned answers, the rate limits, the budget, the history, the model (the bot's provider's) with the tools of the bot's MCP servers, streamed to chats that show it growing.
pub mod budgets;
pub mod commands;
pub mod generate_reply;
pub mod history;
pub mod images;
pub mod moderation;
pub mod provider_models;
pub mod rate_limits;
pub mod streaming;
pub mod tool_use;

// Out: split into parts, each sent in its turn under the platform's limits, back off and retry.
pub mod backoff;
pub mod deliver_reply;
pub mod pacing;
pub mod text;
