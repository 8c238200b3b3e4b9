//! Telegram updates as the Bot API posts them, for the tests to send.

use serde_json::{json, Value};

fn message(chat_id: i64, message_id: i64, from_bot: bool) -> Value {
    json!({
        "message_id": message_id,
        "date": 1_700_000_000,
        "chat": {"id": chat_id, "type": "private", "first_name": "Ann"},
        "from": {"id": chat_id, "is_bot": from_bot, "first_name": "Ann"}
    })
}

/// A user's text message.
pub fn text(update_id: i64, chat_id: i64, message_id: i64, text: &str) -> Value {
    let mut message = message(chat_id, message_id, false);
    message["text"] = json!(text);
    json!({"update_id": update_id, "message": message})
}

/// A photo with no caption.
pub fn photo(update_id: i64, chat_id: i64, message_id: i64) -> Value {
    let mut message = message(chat_id, message_id, false);
    message["photo"] = json!([{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]);
    json!({"update_id": update_id, "message": message})
}

/// A photo (file `f`) with `caption`.
pub fn captioned_photo(update_id: i64, chat_id: i64, message_id: i64, caption: &str) -> Value {
    let mut update = photo(update_id, chat_id, message_id);
    update["message"]["caption"] = json!(caption);
    update
}

/// An edit of an earlier message.
pub fn edited(update_id: i64, chat_id: i64, message_id: i64, text: &str) -> Value {
    let mut message = message(chat_id, message_id, false);
    message["text"] = json!(text);
    message["edit_date"] = json!(1_700_000_100);
    json!({"update_id": update_id, "edited_message": message})
}

/// A message written by another bot.
pub fn from_bot(update_id: i64, chat_id: i64, message_id: i64, text: &str) -> Value {
    let mut message = message(chat_id, message_id, true);
    message["text"] = json!(text);
    json!({"update_id": update_id, "message": message})
}

/// An update kind Switchboard does not handle.
pub fn unknown_kind(update_id: i64) -> Value {
    json!({"update_id": update_id, "poll": {"id": "1", "question": "?", "options": [], "total_voter_count": 0,
        "is_closed": false, "is_anonymous": true, "type": "regular", "allows_multiple_answers": false}})
}
