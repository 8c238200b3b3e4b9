//! Meta platforms: Facebook Messenger and WhatsApp Cloud over the Graph API, with `X-Hub-Signature-256` webhooks.

mod channel;
mod graph;
mod inbound;
mod messenger;
mod signature;
mod whatsapp;

pub use channel::{MetaChannel, MetaPlatform};
pub use graph::BuildError;
pub use messenger::{Messenger, MessengerChannel, MESSENGER_MAX_TEXT_LEN};
pub use whatsapp::{Whatsapp, WhatsappChannel, WHATSAPP_MAX_TEXT_LEN};
