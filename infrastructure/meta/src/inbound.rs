//! Helpers shared by the Messenger and WhatsApp parsers: the notification envelope and inbound messages.

use application::ports::{InboundMessage, ParseError};
use domain::{ExternalChatId, ExternalMessageId, MessageContent};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A webhook notification: `{"object": …, "entry": [...]}`; `entry` is required so that a
/// body of another shape is rejected rather than silently acknowledged.
#[derive(Deserialize)]
pub(crate) struct Notification<E> {
    pub(crate) entry: Vec<E>,
}

/// Reads the envelope, naming the platform in the error.
pub(crate) fn notification<E: DeserializeOwned>(
    body: &[u8],
    platform: &str,
) -> Result<Notification<E>, ParseError> {
    serde_json::from_slice(body)
        .map_err(|e| ParseError(format!("not a {platform} webhook notification: {e}")))
}

/// One user message; `None` (logged) when an id is empty or too long for our newtypes, so
/// that one odd event does not make Meta redeliver the whole batch.
pub(crate) fn inbound(id: &str, chat: &str, content: MessageContent) -> Option<InboundMessage> {
    let message = ExternalMessageId::parse(id).and_then(|external_id| {
        Ok(InboundMessage::new(
            external_id,
            ExternalChatId::parse(chat)?,
            content,
        ))
    });
    message
        .inspect_err(|e| tracing::debug!(error = %e, "skipping a Meta event with an invalid id"))
        .ok()
}
