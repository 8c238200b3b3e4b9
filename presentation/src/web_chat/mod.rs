//! The built-in web chat: its page (`/chat/{bot_id}`), its WebSocket (`/ws/chat/{bot_id}`) and
//! its channel, the web chat's edge the way the adapters are the other platforms'.

mod channel;
pub(crate) mod frames;
mod page;
mod socket;

pub use channel::WebChatChannel;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(page::configure).configure(socket::configure);
}
