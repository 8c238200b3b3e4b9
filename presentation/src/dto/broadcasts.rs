//! `/api/v1/bots/{id}/broadcasts`: one message to many chats, as the API takes it and shows its progress.

use crate::dto::proactive::{discord_users, missing, platform, say, TemplateBody};
use crate::errors::ApiError;
use application::{BroadcastRequest, BroadcastView};
use chrono::{DateTime, Utc};
use domain::{BotId, BroadcastId, ExternalChatId, MessageContent, PlatformKind, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{platform, chat_ids | user_ids, text | template}`: the message to send, as for
/// `POST /api/v1/bots/{id}/messages`, to each chat listed (a chat listed twice gets it once),
/// at most `broadcasts.max_recipients` of them. Every chat must be one the bot may write to
/// (the first refused is named), so nothing is sent unless all can be.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBroadcast {
    #[schema(value_type = String, required = true, example = "telegram")]
    pub platform: Option<String>,
    #[schema(value_type = Vec<String>, example = json!(["4242", "4343"]))]
    pub chat_ids: Option<Vec<String>>,
    /// Stands for `chat_ids` on Telegram, Messenger and WhatsApp.
    #[schema(value_type = Vec<String>)]
    pub user_ids: Option<Vec<String>>,
    #[schema(value_type = String, min_length = 1, max_length = 4096)]
    pub text: Option<String>,
    /// WhatsApp only, instead of `text`.
    pub template: Option<TemplateBody>,
}

impl StartBroadcast {
    /// The request, or a 422 naming the first field that is missing or malformed.
    pub fn into_request(self) -> Result<BroadcastRequest, ApiError> {
        let platform = platform(self.platform)?;
        let (field, ids) = match (self.chat_ids, self.user_ids) {
            (Some(_), Some(_)) => {
                let reason = "give chat_ids or user_ids, not both";
                return Err(ValidationError::new("user_ids", reason).into());
            }
            (None, None) => return Err(missing("chat_ids")),
            (Some(chats), None) => ("chat_ids", chats),
            (None, Some(_)) if platform == PlatformKind::Discord => {
                return Err(discord_users("user_ids"))
            }
            (None, Some(users)) => ("user_ids", users),
        };
        let chats = ids
            .into_iter()
            .enumerate()
            .map(|(index, id)| {
                ExternalChatId::parse(id).map_err(|error| {
                    ValidationError::new(field, format!("item {index}: {}", error.reason))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BroadcastRequest {
            platform,
            chats,
            say: say(self.text, self.template)?,
        })
    }
}

/// A broadcast and how far it has come: each recipient's message counted once, by state.
#[derive(Debug, Serialize, ToSchema)]
pub struct BroadcastBody {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub id: BroadcastId,
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub bot_id: BotId,
    #[schema(value_type = String, example = "telegram")]
    pub platform: PlatformKind,
    /// A one-line summary of what was sent.
    pub text: String,
    #[schema(value_type = crate::openapi::schemas::MessageContent)]
    pub content: MessageContent,
    /// `sending` while messages are queued, then `completed`; `cancelled` once cancelled.
    #[schema(example = "sending")]
    pub status: &'static str,
    /// Chats it goes to.
    pub total: u32,
    /// Messages waiting for their turn or going out now.
    pub queued: u32,
    pub sent: u32,
    /// Messages the platform refused or that were given up on (see each message's `error`).
    pub failed: u32,
    /// Messages a cancellation stopped before they went out.
    pub cancelled: u32,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<BroadcastView> for BroadcastBody {
    fn from((broadcast, progress): BroadcastView) -> Self {
        Self {
            status: broadcast.state(&progress).as_str(),
            id: broadcast.id,
            bot_id: broadcast.bot_id,
            platform: broadcast.platform,
            text: broadcast.content.summary(),
            content: broadcast.content,
            total: broadcast.total,
            queued: progress.queued,
            sent: progress.sent,
            failed: progress.failed,
            cancelled: progress.cancelled,
            created_at: broadcast.created_at,
            cancelled_at: broadcast.cancelled_at,
        }
    }
}
