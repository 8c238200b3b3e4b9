//! `TelegramChannel`: the channel port for Telegram over teloxide-core's Bot API client.

use crate::entities::{entities, refused_markup};
use crate::errors::outcome;
use crate::placeholders::Placeholders;
use crate::raw::BotCall;
use crate::update::parse_update;
use crate::verify::{verify_secret, SECRET_HEADER};
use application::format::{Markup, RichText};
use application::ports::{
    Channel, Inbound, InboundRequest, ParseError, Recipient, SendError, VerifyError,
};
use async_trait::async_trait;
use domain::{
    Credentials, ExternalChatId, ExternalMessageId, PlatformBinding, PlatformKind,
    TelegramCredentials,
};
use std::future::IntoFuture;
use teloxide_core::payloads::SetWebhookSetters as _;
use teloxide_core::prelude::Requester;
use teloxide_core::requests::HasPayload as _;
use teloxide_core::types::{AllowedUpdate, ChatAction, ChatId, Message, MessageEntity, MessageId};
use teloxide_core::{ApiError, Bot, RequestError};
use url::Url;

/// Telegram's limit for one message's text, in UTF-16 code units.
pub const MAX_TEXT_LEN: usize = 4096;

/// Why the channel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("invalid Telegram API URL `{url}`: {reason}")]
    ApiUrl { url: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Speaks the Bot API at `api_url` (Telegram's, a local Bot API server, or a test fake)
/// for every Telegram binding; one HTTP client is shared by all bots.
///
/// For fakes: teloxide-core posts to `/bot<token>/SendMessage`, `SendChatAction`,
/// `SetWebhook` and `DeleteWebhook` (capitalised; the Bot API ignores case), JSON bodies
/// except `SetWebhook` (multipart), and accepts `{"ok":true,"result":{"message_id":1,"date":0,
/// "chat":{"id":1,"type":"private"}}}` as the smallest `sendMessage` answer. Note that it waits 10 s after
/// any 5xx answer before reporting it.
#[derive(Debug, Clone)]
pub struct TelegramChannel {
    client: reqwest::Client,
    api_url: Url,
    /// The messages that streamed replies grow in where drafts are refused.
    placeholders: Placeholders,
}

impl TelegramChannel {
    pub fn new(api_url: impl AsRef<str>) -> Result<Self, BuildError> {
        let api_url = parse_api_url(api_url.as_ref())?;
        let client = teloxide_core::net::default_reqwest_settings().build()?;
        Ok(Self {
            client,
            api_url,
            placeholders: Placeholders::default(),
        })
    }

    /// A call made as JSON with the shared client, for what teloxide-core lacks.
    fn call<'a>(&'a self, token: &'a str) -> BotCall<'a> {
        BotCall {
            client: &self.client,
            api_url: &self.api_url,
            token,
        }
    }

    /// A Bot API client for one bot: cheap, it clones the shared client and URL.
    fn bot(&self, credentials: &TelegramCredentials) -> Bot {
        Bot::with_client(credentials.token.expose(), self.client.clone())
            .set_api_url(self.api_url.clone())
    }
}

pub(crate) fn parse_api_url(raw: &str) -> Result<Url, BuildError> {
    let invalid = |reason: String| BuildError::ApiUrl {
        url: raw.to_owned(),
        reason,
    };
    let url = Url::parse(raw.trim_end_matches('/')).map_err(|e| invalid(e.to_string()))?;
    if url.cannot_be_a_base() {
        return Err(invalid("not a base URL".to_owned()));
    }
    Ok(url)
}

/// The binding's Telegram credentials, if it is a Telegram binding.
fn telegram(binding: &PlatformBinding) -> Option<&TelegramCredentials> {
    match &binding.credentials {
        Credentials::Telegram(credentials) => Some(credentials),
        _ => None,
    }
}

pub(crate) fn credentials(binding: &PlatformBinding) -> Result<&TelegramCredentials, SendError> {
    telegram(binding).ok_or_else(|| SendError::Permanent("not a Telegram binding".to_owned()))
}

/// Our chat ids are Telegram's numeric ids, as text.
fn chat_id(chat: &ExternalChatId) -> Result<ChatId, SendError> {
    chat.as_str()
        .parse()
        .map(ChatId)
        .map_err(|_| SendError::Permanent(format!("not a Telegram chat id: {}", chat.as_str())))
}

/// Sends `part` with its styles as entities; should Telegram refuse them, once more plain.
async fn send(bot: &Bot, chat: ChatId, part: &RichText) -> Result<Message, RequestError> {
    styled(part, |entities| {
        let request = bot.send_message(chat, &part.text);
        request.with_payload_mut(|body| body.entities = entities)
    })
    .await
}

/// Writes `part` into the message `id`: `Ok(false)` when that message is gone, `Ok(true)` when
/// it shows `part` (already showing it counts).
async fn edit(
    bot: &Bot,
    chat: ChatId,
    id: MessageId,
    part: &RichText,
    token: &str,
) -> Result<bool, SendError> {
    let edited = styled(part, |entities| {
        let request = bot.edit_message_text(chat, id, &part.text);
        request.with_payload_mut(|body| body.entities = entities)
    })
    .await;
    match edited {
        Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(true),
        Err(RequestError::Api(ApiError::MessageToEditNotFound)) => Ok(false),
        edited => outcome(edited, token).map(|()| true),
    }
}

/// Makes `request` with `part`'s entities (none: no `entities` field) and, should Telegram
/// refuse them, once more without.
async fn styled<F, R>(part: &RichText, request: F) -> Result<Message, RequestError>
where
    F: Fn(Option<Vec<MessageEntity>>) -> R,
    R: IntoFuture<Output = Result<Message, RequestError>>,
{
    let entities = Some(entities(part)).filter(|styles| !styles.is_empty());
    let styled = entities.is_some();
    match request(entities).await {
        Err(RequestError::Api(error)) if styled && refused_markup(&error) => {
            tracing::warn!(%error, "Telegram refused the reply's formatting: sending it plain");
            request(None).await
        }
        result => result,
    }
}

#[async_trait]
impl Channel for TelegramChannel {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Telegram
    }

    /// The secret token is all there is to check, and it is a header.
    fn verify(
        &self,
        binding: &PlatformBinding,
        request: &InboundRequest,
    ) -> Result<(), VerifyError> {
        self.check_headers(binding, request)
    }

    fn check_headers(
        &self,
        binding: &PlatformBinding,
        request: &InboundRequest,
    ) -> Result<(), VerifyError> {
        let expected = telegram(binding).ok_or(VerifyError::Mismatch)?;
        verify_secret(
            expected.secret_token.expose(),
            request.header(SECRET_HEADER),
        )
    }

    fn parse(&self, body: &[u8]) -> Result<Inbound, ParseError> {
        parse_update(body).map(Inbound::from)
    }

    fn max_text_len(&self) -> usize {
        MAX_TEXT_LEN
    }

    /// Styles travel as entities beside the text.
    fn markup(&self) -> Markup {
        Markup::Entities
    }

    /// The text with its styles as entities, never a `parse_mode`: nothing the model writes is
    /// read as markup. Should Telegram refuse the entities, the text goes once more without them.
    /// A reply's first part whose draft grew in a placeholder message is written into it.
    async fn send_text(
        &self,
        binding: &PlatformBinding,
        to: &Recipient,
        part: &RichText,
    ) -> Result<Option<ExternalMessageId>, SendError> {
        let credentials = credentials(binding)?;
        let (bot, chat) = (self.bot(credentials), chat_id(&to.chat)?);
        let token = credentials.token.expose();
        let placeholder = to.draft.filter(|_| to.part == 0).and_then(|draft| {
            let id = self.placeholders.get(chat.0, draft)?;
            Some((draft, id))
        });
        if let Some((draft, id)) = placeholder {
            let edited = edit(&bot, chat, id, part, token).await?;
            self.placeholders.forget(chat.0, draft);
            if edited {
                return Ok(None);
            }
        }
        // Telegram sends no delivery reports, so its message ids are not kept.
        outcome(send(&bot, chat, part).await, token).map(|()| None)
    }

    /// `sendMessageDraft` in private chats (a group's negative id has no drafts); where drafts
    /// are refused, the draft grows in a message sent once and then edited.
    async fn show_draft(
        &self,
        binding: &PlatformBinding,
        to: &Recipient,
        draft_id: i64,
        draft: &RichText,
    ) -> Result<bool, SendError> {
        let credentials = credentials(binding)?;
        let chat = chat_id(&to.chat)?;
        let token = credentials.token.expose();
        let placeholder = self.placeholders.get(chat.0, draft_id);
        if chat.0 > 0
            && placeholder.is_none()
            && self.call(token).show_draft(chat.0, draft_id, draft).await?
        {
            return Ok(true);
        }
        let bot = self.bot(credentials);
        match placeholder {
            Some(id) => edit(&bot, chat, id, draft, token).await,
            None => {
                let sent = send(&bot, chat, draft).await;
                let id = sent.as_ref().map(|message| message.id).ok();
                outcome(sent, token)?;
                id.inspect(|id| self.placeholders.keep(chat.0, draft_id, *id));
                Ok(true)
            }
        }
    }

    /// `getFile`, then the file's download, at most `max_bytes`.
    async fn fetch_media(
        &self,
        binding: &PlatformBinding,
        media: &str,
        max_bytes: usize,
    ) -> Result<Vec<u8>, SendError> {
        let credentials = credentials(binding)?;
        let call = self.call(credentials.token.expose());
        call.download(media, max_bytes).await
    }

    async fn typing(
        &self,
        binding: &PlatformBinding,
        chat: &ExternalChatId,
    ) -> Result<(), SendError> {
        let credentials = credentials(binding)?;
        let result = self
            .bot(credentials)
            .send_chat_action(chat_id(chat)?, ChatAction::Typing)
            .await;
        outcome(result, credentials.token.expose())
    }

    /// `setWebhook` with the binding's secret token, asking only for `message` updates.
    async fn register_webhook(
        &self,
        binding: &PlatformBinding,
        webhook_url: &str,
    ) -> Result<bool, SendError> {
        let credentials = credentials(binding)?;
        let url = Url::parse(webhook_url)
            .map_err(|e| SendError::Permanent(format!("invalid webhook URL: {e}")))?;
        let result = self
            .bot(credentials)
            .set_webhook(url)
            .secret_token(credentials.secret_token.expose())
            .allowed_updates([AllowedUpdate::Message])
            .await;
        outcome(result, credentials.token.expose()).map(|()| true)
    }

    /// `deleteWebhook`, keeping the pending updates for `getUpdates` to collect.
    async fn unregister_webhook(&self, binding: &PlatformBinding) -> Result<(), SendError> {
        let credentials = credentials(binding)?;
        let result = self.bot(credentials).delete_webhook().await;
        outcome(result, credentials.token.expose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_are_checked_and_trailing_slashes_dropped() {
        let channel = TelegramChannel::new("http://localhost:8081/").unwrap();
        assert_eq!(channel.api_url.as_str(), "http://localhost:8081/");
        let nested = parse_api_url("http://localhost/tg/").unwrap();
        assert_eq!(nested.path(), "/tg");
        assert!(TelegramChannel::new("not a url").is_err());
        assert!(TelegramChannel::new("mailto:bot@example.com").is_err());
    }

    #[test]
    fn chat_ids_must_be_numeric() {
        let chat = |s: &str| ExternalChatId::parse(s).unwrap();
        assert_eq!(chat_id(&chat("-1001")).unwrap(), ChatId(-1001));
        assert!(matches!(
            chat_id(&chat("@channel")),
            Err(SendError::Permanent(_))
        ));
    }

    #[test]
    fn the_max_text_length_is_telegrams() {
        assert_eq!(
            TelegramChannel::new("https://api.telegram.org")
                .unwrap()
                .max_text_len(),
            4096
        );
    }
}
