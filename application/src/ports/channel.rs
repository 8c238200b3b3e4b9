//! The channel port: one messaging platform's inbound side (verify, parse) and outbound side (send).

use crate::format::{Markup, RichText};
use async_trait::async_trait;
use domain::{
    DeliveryReport, ExternalChatId, ExternalMessageId, MessageContent, PlatformBinding,
    PlatformKind, Secret, Template,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// A webhook request as the channel sees it: lower-cased header names and the raw body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundRequest {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl InboundRequest {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A user's message, parsed from a platform's update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub external_id: ExternalMessageId,
    pub chat: ExternalChatId,
    pub content: MessageContent,
    /// What the platform needs to answer this message in place (a Discord interaction token).
    pub reply_handle: Option<Secret>,
}

impl InboundMessage {
    /// A message answered in the chat it came from, as most platforms do.
    pub fn new(
        external_id: ExternalMessageId,
        chat: ExternalChatId,
        content: MessageContent,
    ) -> Self {
        Self {
            external_id,
            chat,
            content,
            reply_handle: None,
        }
    }
}

/// Everything one webhook carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inbound {
    /// The users' messages, each to be stored and answered.
    pub messages: Vec<InboundMessage>,
    /// The platform's reports on messages the bot sent.
    pub reports: Vec<DeliveryReport>,
    /// Chats a person answered from the platform's own app (a Messenger echo or a WhatsApp
    /// Business app message that Switchboard did not send): the bot must not talk over them.
    pub answered_by_a_person: Vec<ExternalChatId>,
    /// The JSON body the platform expects in the webhook's answer (Discord's PONG or deferred
    /// response); `None` answers `{"ok": true}`.
    pub answer: Option<String>,
}

impl From<Vec<InboundMessage>> for Inbound {
    fn from(messages: Vec<InboundMessage>) -> Self {
        Self {
            messages,
            ..Self::default()
        }
    }
}

/// Where one part of an outbound message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub chat: ExternalChatId,
    /// The handle of the inbound message this answers, if the platform gave one.
    pub reply_handle: Option<Secret>,
    /// Which part of the message this is, from 0.
    pub part: u32,
    /// For a reply, the id its draft had while it was written ([`Channel::show_draft`]).
    pub draft: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    #[error("the request carries no signature")]
    Missing,
    #[error("the signature does not match")]
    Mismatch,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("malformed update: {0}")]
pub struct ParseError(pub String);

/// Why a send failed, classified for the retry policy.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendError {
    /// The platform asked us to wait.
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// Network errors and 5xx: worth retrying.
    #[error("transient failure: {0}")]
    Transient(String),
    /// Bad token, blocked by the user, chat gone: retrying cannot help.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// A template sent where the platform has none: refused for good.
pub fn no_templates(platform: PlatformKind) -> SendError {
    SendError::Permanent(format!("{platform} has no message templates"))
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Channel: Send + Sync {
    fn kind(&self) -> PlatformKind;

    /// Checks the request's authenticity against the binding's secret, in constant time.
    fn verify(
        &self,
        binding: &PlatformBinding,
        request: &InboundRequest,
    ) -> Result<(), VerifyError>;

    /// What the headers alone can prove, checked before the body is read so that a stranger's
    /// request costs no body: Telegram's secret token in full, the presence and form of the
    /// other platforms' signature headers. [`Channel::verify`] still checks everything.
    fn check_headers(
        &self,
        _binding: &PlatformBinding,
        _request: &InboundRequest,
    ) -> Result<(), VerifyError> {
        Ok(())
    }

    /// Parses an update leniently: unknown kinds, edits and messages from bots yield no
    /// messages rather than an error.
    fn parse(&self, body: &[u8]) -> Result<Inbound, ParseError>;

    /// The longest text one platform message may carry, in UTF-16 code units.
    fn max_text_len(&self) -> usize;

    /// How the platform marks text up; what a reply's Markdown is written in for it.
    fn markup(&self) -> Markup {
        Markup::Plain
    }

    /// Sends one part, written in the channel's [`Channel::markup`]; the platform's id of what
    /// it sent, where its reports will name it.
    async fn send_text(
        &self,
        binding: &PlatformBinding,
        to: &Recipient,
        part: &RichText,
    ) -> Result<Option<ExternalMessageId>, SendError>;

    /// Sends a message template (WhatsApp's); a platform without templates refuses it for good.
    async fn send_template(
        &self,
        _binding: &PlatformBinding,
        _to: &Recipient,
        _template: &Template,
    ) -> Result<Option<ExternalMessageId>, SendError> {
        let platform = self.kind();
        Err(SendError::Permanent(format!(
            "{platform} has no message templates"
        )))
    }

    /// Shows `draft` as the chat's draft of a reply being written (`draft_id` names the reply,
    /// the same for each of its updates, so the platform animates them; `to` is where its first
    /// part will go); `Ok(false)` where the platform or the chat shows no drafts, and the reply
    /// simply goes out whole when done.
    async fn show_draft(
        &self,
        _binding: &PlatformBinding,
        _to: &Recipient,
        _draft_id: i64,
        _draft: &RichText,
    ) -> Result<bool, SendError> {
        Ok(false)
    }

    /// The bytes of a photo a user sent, by the reference its message carries (`media`), at
    /// most `max_bytes` of them (more is a permanent failure); a platform whose photos are not
    /// read refuses for good.
    async fn fetch_media(
        &self,
        _binding: &PlatformBinding,
        _media: &str,
        _max_bytes: usize,
    ) -> Result<Vec<u8>, SendError> {
        let platform = self.kind();
        Err(SendError::Permanent(format!(
            "photos on {platform} are not read"
        )))
    }

    /// Shows "typing…" in the chat; best effort.
    async fn typing(
        &self,
        binding: &PlatformBinding,
        chat: &ExternalChatId,
    ) -> Result<(), SendError>;

    /// Tells the platform where to deliver webhooks: `Ok(true)` once told, `Ok(false)` where
    /// the platform takes no such call (Meta's webhooks are set in the app dashboard).
    async fn register_webhook(
        &self,
        binding: &PlatformBinding,
        webhook_url: &str,
    ) -> Result<bool, SendError>;

    /// Stops the platform's webhook deliveries, so that the binding's updates can be polled
    /// instead (Telegram refuses `getUpdates` while a webhook is set). Platforms that are
    /// never polled need nothing done.
    async fn unregister_webhook(&self, _binding: &PlatformBinding) -> Result<(), SendError> {
        Ok(())
    }
}

/// The channels this process speaks, by platform.
#[derive(Clone, Default)]
pub struct Channels(HashMap<PlatformKind, Arc<dyn Channel>>);

impl Channels {
    pub fn new(channels: impl IntoIterator<Item = Arc<dyn Channel>>) -> Self {
        Self(channels.into_iter().map(|c| (c.kind(), c)).collect())
    }

    pub fn get(&self, kind: PlatformKind) -> Option<&Arc<dyn Channel>> {
        self.0.get(&kind)
    }
}
