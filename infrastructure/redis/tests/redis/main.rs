//! Redis adapter tests against real Redis.
