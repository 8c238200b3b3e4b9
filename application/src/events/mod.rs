//! Operators' events: the journal that keeps the announced events for a few minutes, and the
//! feed a live client follows by topic, catching up on what it missed.

pub mod feed;
pub mod journal;
pub mod topic;

pub use feed::{EventFeed, Replay};
pub use journal::{Journal, JournalWriter, REPLAY_WINDOW};
pub use topic::{Topic, TopicError, Topics};
