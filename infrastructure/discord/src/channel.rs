//! `DiscordChannel`: the channel port for Discord, answering interactions through their tokens and posting to channels otherwise.

use crate::commands::global_commands;
use crate::interaction::parse_interaction;
use crate::rest::{BuildError, Call, CallError, Rest};
use crate::signature::{signed_headers, verify_interaction};
use application::format::{Markup, RichText};
use application::ports::{
    Channel, Clock, Inbound, InboundRequest, ParseError, Recipient, SendError, SystemClock,
    VerifyError,
};
use async_trait::async_trait;
use domain::{
    Credentials, DiscordCredentials, ExternalChatId, ExternalMessageId, PlatformBinding,
    PlatformKind,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;

/// The longest content of one Discord message, in characters.
pub const DISCORD_MAX_TEXT_LEN: usize = 2000;

/// Speaks Discord's REST API at `api_url` for every Discord binding; one HTTP client is shared
/// by all bots.
#[derive(Clone)]
pub struct DiscordChannel {
    rest: Rest,
    clock: Arc<dyn Clock>,
}

impl DiscordChannel {
    pub fn new(api_url: impl AsRef<str>) -> Result<Self, BuildError> {
        Ok(Self {
            rest: Rest::new(api_url.as_ref())?,
            clock: Arc::new(SystemClock),
        })
    }

    /// Posts `text` to a channel with the bot token: operator and gateway messages, and
    /// replies whose interaction expired.
    pub async fn post_to_channel(
        &self,
        credentials: &DiscordCredentials,
        chat: &ExternalChatId,
        text: &str,
    ) -> Result<Option<ExternalMessageId>, SendError> {
        let call = Call {
            method: Method::POST,
            path: format!("channels/{}/messages", chat.as_str()),
            bot_token: Some(credentials.bot_token.expose()),
            body: Some(message_body(text)),
        };
        Ok(message_id(&self.rest.call(call).await?))
    }

    /// Part 0 edits the deferred response; later parts are follow-up messages.
    async fn answer_interaction(
        &self,
        credentials: &DiscordCredentials,
        token: &str,
        part: u32,
        text: &str,
    ) -> Result<Option<ExternalMessageId>, CallError> {
        let webhook = format!("webhooks/{}/{token}", credentials.application_id);
        let (method, path) = match part {
            0 => (Method::PATCH, format!("{webhook}/messages/@original")),
            _ => (Method::POST, webhook),
        };
        let call = Call {
            method,
            path,
            bot_token: None,
            body: Some(message_body(text)),
        };
        Ok(message_id(&self.rest.call(call).await?))
    }
}

fn credentials(binding: &PlatformBinding) -> Option<&DiscordCredentials> {
    match &binding.credentials {
        Credentials::Discord(credentials) => Some(credentials),
        _ => None,
    }
}

fn discord_credentials(binding: &PlatformBinding) -> Result<&DiscordCredentials, SendError> {
    credentials(binding).ok_or_else(|| SendError::Permanent("not a discord binding".to_owned()))
}

/// A message's content; `allowed_mentions` empty so that no model output pings anyone.
fn message_body(text: &str) -> Value {
    json!({"content": text, "allowed_mentions": {"parse": []}})
}

/// The `id` of the message object Discord answers with.
fn message_id(answer: &Value) -> Option<ExternalMessageId> {
    let id = answer.get("id")?.as_str()?;
    ExternalMessageId::parse(id).ok()
}

#[async_trait]
impl Channel for DiscordChannel {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Discord
    }

    fn verify(
        &self,
        binding: &PlatformBinding,
        request: &InboundRequest,
    ) -> Result<(), VerifyError> {
        let credentials = credentials(binding).ok_or(VerifyError::Mismatch)?;
        verify_interaction(&credentials.public_key, request, self.clock.now())
    }

    fn check_headers(
        &self,
        _binding: &PlatformBinding,
        request: &InboundRequest,
    ) -> Result<(), VerifyError> {
        signed_headers(request, self.clock.now()).map(drop)
    }

    fn parse(&self, body: &[u8]) -> Result<Inbound, ParseError> {
        parse_interaction(body)
    }

    fn max_text_len(&self) -> usize {
        DISCORD_MAX_TEXT_LEN
    }

    /// Through the interaction token when the message answers one; in the channel when there
    /// is none or Discord no longer knows it (tokens live 15 minutes).
    /// Discord renders Markdown: the model's goes as it wrote it.
    fn markup(&self) -> Markup {
        Markup::Markdown
    }

    async fn send_text(
        &self,
        binding: &PlatformBinding,
        to: &Recipient,
        part: &RichText,
    ) -> Result<Option<ExternalMessageId>, SendError> {
        let credentials = discord_credentials(binding)?;
        let text = &part.render(Markup::Markdown);
        if let Some(token) = &to.reply_handle {
            match self
                .answer_interaction(credentials, token.expose(), to.part, text)
                .await
            {
                Err(CallError::ExpiredInteraction) => {
                    tracing::info!(
                        part = to.part,
                        "interaction expired: posting to the channel"
                    );
                }
                answered => return answered.map_err(SendError::from),
            }
        }
        self.post_to_channel(credentials, &to.chat, text).await
    }

    /// A message answered through its interaction shows its draft in the deferred response
    /// (`@original`, which the reply's first part edits again when done); elsewhere Discord
    /// has no drafts.
    async fn show_draft(
        &self,
        binding: &PlatformBinding,
        to: &Recipient,
        _draft_id: i64,
        draft: &RichText,
    ) -> Result<bool, SendError> {
        let (credentials, Some(token)) = (discord_credentials(binding)?, &to.reply_handle) else {
            return Ok(false);
        };
        let text = &draft.render(Markup::Markdown);
        match self
            .answer_interaction(credentials, token.expose(), 0, text)
            .await
        {
            Ok(_) => Ok(true),
            Err(CallError::ExpiredInteraction) => Ok(false),
            Err(error) => Err(SendError::from(error)),
        }
    }

    /// In the channel; a message answered through its interaction shows Discord's "thinking…"
    /// instead, and the pipeline does not ask for typing there.
    async fn typing(
        &self,
        binding: &PlatformBinding,
        chat: &ExternalChatId,
    ) -> Result<(), SendError> {
        let credentials = discord_credentials(binding)?;
        let call = Call {
            method: Method::POST,
            path: format!("channels/{}/typing", chat.as_str()),
            bot_token: Some(credentials.bot_token.expose()),
            body: None,
        };
        self.rest
            .call(call)
            .await
            .map(drop)
            .map_err(SendError::from)
    }

    /// The interactions endpoint URL is set in the developer portal, so Discord is not told
    /// (`false`); the application's global commands (`/ask`, `/reset`, `/help`) are registered.
    async fn register_webhook(
        &self,
        binding: &PlatformBinding,
        _webhook_url: &str,
    ) -> Result<bool, SendError> {
        let credentials = discord_credentials(binding)?;
        let call = Call {
            method: Method::PUT,
            path: format!("applications/{}/commands", credentials.application_id),
            bot_token: Some(credentials.bot_token.expose()),
            body: Some(global_commands()),
        };
        self.rest.call(call).await.map_err(SendError::from)?;
        Ok(false)
    }
}
