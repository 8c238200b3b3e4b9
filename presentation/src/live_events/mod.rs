//! Operators' live events: the WebSocket `/api/v1/events` and its frames.

pub(crate) mod frames;
mod socket;

pub use socket::configure;
