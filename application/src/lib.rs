//! Switchboard's use cases and the ports they depend on; no adapter is named here.

pub mod ports;
pub mod text;
