//! Open sockets' view of the server going away: told at the start of a graceful shutdown, each
//! closes with 1001 at once (its client reconnects, to another replica) instead of holding the
//! shutdown up until its grace runs out.

use application::{Shutdown, StopHandle};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Closing {
    signal: Shutdown,
    handle: Arc<StopHandle>,
}

impl Default for Closing {
    fn default() -> Self {
        let (handle, signal) = Shutdown::new();
        Self {
            signal,
            handle: Arc::new(handle),
        }
    }
}

impl Closing {
    /// Tells every open socket to close.
    pub fn close(&self) {
        self.handle.stop();
    }

    /// Resolves once the sockets are told to close.
    pub async fn closed(&self) {
        self.signal.stopped().await;
    }
}
