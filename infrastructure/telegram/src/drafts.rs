//! `sendMessageDraft` (Bot API 9.5): a reply shown in a private chat while it is written; teloxide-core 0.13 predates the method, so it is posted as JSON with the channel's client.

use crate::entities::entities;
use crate::raw::BotCall;
use application::format::RichText;
use application::ports::SendError;
use serde_json::json;

impl BotCall<'_> {
    /// Shows `part` as the draft `draft_id` of `chat`: `Ok(false)` where Telegram refuses
    /// drafts (a group, a server older than Bot API 9.5), a 429 as the wait it asks, network
    /// failures and 5xx as transient.
    pub(crate) async fn show_draft(
        &self,
        chat: i64,
        draft_id: i64,
        part: &RichText,
    ) -> Result<bool, SendError> {
        let mut body = json!({"chat_id": chat, "draft_id": draft_id, "text": part.text});
        let styles = entities(part);
        if !styles.is_empty() {
            body["entities"] = serde_json::to_value(styles).unwrap_or_default();
        }
        let refused = match self.post("sendMessageDraft", &body).await? {
            Ok(_) => return Ok(true),
            Err(refused) => refused,
        };
        match refused.into_error() {
            SendError::Permanent(description) => {
                tracing::debug!(description, "no drafts in this chat");
                Ok(false)
            }
            error => Err(error),
        }
    }
}
