//! The application's global slash commands, registered when a bot is bound.

use crate::interaction::{ASK_COMMAND, QUESTION_OPTION};
use serde_json::{json, Value};

/// Option type `STRING`.
const STRING: u8 = 3;
/// Command type `CHAT_INPUT` (a slash command).
const CHAT_INPUT: u8 = 1;
/// Where a command may be used: guilds (0), the bot's DMs (1), private channels (2).
const CONTEXTS: [u8; 3] = [0, 1, 2];

/// The body of `PUT /applications/{id}/commands`: `/ask question:…`, `/reset`, `/help` and
/// `/human`.
pub(crate) fn global_commands() -> Value {
    json!([
        {
            "name": ASK_COMMAND,
            "type": CHAT_INPUT,
            "description": "Ask the bot a question",
            "contexts": CONTEXTS,
            "options": [{
                "type": STRING,
                "name": QUESTION_OPTION,
                "description": "What you want to ask",
                "required": true,
                "max_length": 4000
            }]
        },
        command("reset", "Start a new conversation"),
        command("help", "What the bot can do"),
        command("human", "Talk to a person"),
    ])
}

fn command(name: &str, description: &str) -> Value {
    json!({"name": name, "type": CHAT_INPUT, "description": description, "contexts": CONTEXTS})
}
