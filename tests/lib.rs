//! End-to-end test support crate.
