//! `MetaChannel`: the channel port for one Meta platform, generic over what differs between them.

use crate::graph::{BuildError, Graph};
use crate::signature::{presented_signature, verify_signature};
use application::format::{Markup, RichText};
use application::ports::{
    no_templates, Channel, Inbound, InboundRequest, ParseError, Recipient, SendError, VerifyError,
};
use async_trait::async_trait;
use domain::{ExternalChatId, ExternalMessageId, PlatformBinding, PlatformKind, Template};
use serde_json::Value;
use std::marker::PhantomData;

/// A Graph API call: the path under the Graph URL and its JSON body.
pub struct GraphCall {
    pub path: String,
    pub body: Value,
}

/// What distinguishes Messenger from WhatsApp: credentials, payload shapes and limits.
pub trait MetaPlatform: Send + Sync + 'static {
    type Credentials: Send + Sync;
    const KIND: PlatformKind;
    /// The longest text one message may carry.
    const MAX_TEXT_LEN: usize;
    /// How its messages mark text up.
    const MARKUP: Markup;

    /// The binding's credentials, if it is a binding of this platform.
    fn credentials(binding: &PlatformBinding) -> Option<&Self::Credentials>;
    fn app_secret(credentials: &Self::Credentials) -> &str;
    fn access_token(credentials: &Self::Credentials) -> &str;
    /// Every user message and delivery report of a (possibly batched) notification.
    fn parse(body: &[u8]) -> Result<Inbound, ParseError>;
    fn send_text(credentials: &Self::Credentials, chat: &ExternalChatId, text: &str) -> GraphCall;
    /// The call sending a message template, where the platform has them.
    fn send_template(
        _credentials: &Self::Credentials,
        _chat: &ExternalChatId,
        _template: &Template,
    ) -> Option<GraphCall> {
        None
    }
    /// The id of the sent message in the Send API's answer.
    fn sent_id(answer: &Value) -> Option<&str>;
    /// The "typing…" call, where the platform has one.
    fn typing(credentials: &Self::Credentials, chat: &ExternalChatId) -> Option<GraphCall>;
    /// What a photo's `media` reference is: a media id to look up (WhatsApp), or the file's
    /// own address (Messenger).
    const MEDIA: Media;
}

/// How a platform's photos are fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// `media` is a media id: `GET /{id}` (with the token) names the file's `url`, which is
    /// downloaded with the token too.
    ById,
    /// `media` is the file's (signed) address, downloaded as it is.
    ByUrl,
}

/// Speaks the Graph API at `graph_url` (Meta's or a test fake) for every binding of `P`;
/// one HTTP client is shared by all bots. The access token travels as a bearer header.
#[derive(Debug, Clone)]
pub struct MetaChannel<P> {
    graph: Graph,
    platform: PhantomData<fn() -> P>,
}

impl<P: MetaPlatform> MetaChannel<P> {
    pub fn new(graph_url: impl AsRef<str>) -> Result<Self, BuildError> {
        Ok(Self {
            graph: Graph::new(graph_url.as_ref())?,
            platform: PhantomData,
        })
    }

    fn credentials(binding: &PlatformBinding) -> Result<&P::Credentials, SendError> {
        P::credentials(binding)
            .ok_or_else(|| SendError::Permanent(format!("not a {} binding", P::KIND)))
    }

    /// Makes a Send API call; the id of the message it sent, where its reports will name it.
    async fn send(
        &self,
        credentials: &P::Credentials,
        call: GraphCall,
    ) -> Result<Option<ExternalMessageId>, SendError> {
        let answer = self.call(credentials, call).await?;
        Ok(P::sent_id(&answer).and_then(|id| ExternalMessageId::parse(id).ok()))
    }

    async fn call(
        &self,
        credentials: &P::Credentials,
        call: GraphCall,
    ) -> Result<Value, SendError> {
        self.graph
            .post(&call.path, P::access_token(credentials), &call.body)
            .await
    }
}

#[async_trait]
impl<P: MetaPlatform> Channel for MetaChannel<P> {
    fn kind(&self) -> PlatformKind {
        P::KIND
    }

    fn verify(
        &self,
        binding: &PlatformBinding,
        request: &InboundRequest,
    ) -> Result<(), VerifyError> {
        let credentials = P::credentials(binding).ok_or(VerifyError::Mismatch)?;
        verify_signature(P::app_secret(credentials), request)
    }

    fn check_headers(
        &self,
        _binding: &PlatformBinding,
        request: &InboundRequest,
    ) -> Result<(), VerifyError> {
        presented_signature(request).map(drop)
    }

    fn parse(&self, body: &[u8]) -> Result<Inbound, ParseError> {
        P::parse(body)
    }

    fn max_text_len(&self) -> usize {
        P::MAX_TEXT_LEN
    }

    fn markup(&self) -> Markup {
        P::MARKUP
    }

    async fn send_text(
        &self,
        binding: &PlatformBinding,
        to: &Recipient,
        part: &RichText,
    ) -> Result<Option<ExternalMessageId>, SendError> {
        let credentials = Self::credentials(binding)?;
        let text = part.render(P::MARKUP);
        self.send(credentials, P::send_text(credentials, &to.chat, &text))
            .await
    }

    async fn send_template(
        &self,
        binding: &PlatformBinding,
        to: &Recipient,
        template: &Template,
    ) -> Result<Option<ExternalMessageId>, SendError> {
        let credentials = Self::credentials(binding)?;
        let call = P::send_template(credentials, &to.chat, template);
        let call = call.ok_or_else(|| no_templates(P::KIND))?;
        self.send(credentials, call).await
    }

    async fn fetch_media(
        &self,
        binding: &PlatformBinding,
        media: &str,
        max_bytes: usize,
    ) -> Result<Vec<u8>, SendError> {
        let token = P::access_token(Self::credentials(binding)?);
        match P::MEDIA {
            Media::ByUrl => self.graph.download(media, None, max_bytes).await,
            Media::ById => {
                let found = self.graph.get(media, token).await?;
                let url = found["url"].as_str().ok_or_else(|| {
                    SendError::Permanent(format!("{} named no address for the media", P::KIND))
                })?;
                self.graph.download(url, Some(token), max_bytes).await
            }
        }
    }

    async fn typing(
        &self,
        binding: &PlatformBinding,
        chat: &ExternalChatId,
    ) -> Result<(), SendError> {
        let credentials = Self::credentials(binding)?;
        match P::typing(credentials, chat) {
            Some(call) => self.call(credentials, call).await.map(drop),
            None => Ok(()),
        }
    }

    /// Meta webhooks are subscribed in the app dashboard, with the verify token: no call, and
    /// `false` so that the binding does not claim a registration.
    async fn register_webhook(
        &self,
        binding: &PlatformBinding,
        _webhook_url: &str,
    ) -> Result<bool, SendError> {
        Self::credentials(binding).map(|_| false)
    }
}
