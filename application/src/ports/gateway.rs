//! The gateway port: a long-lived connection through which a platform pushes a bot's messages (Discord's gateway).

use async_trait::async_trait;
use domain::PlatformBinding;

/// Opens connections; what a connection receives, the adapter records itself.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Gateway: Send + Sync {
    /// Starts a connection for `binding` in the background and answers at once.
    async fn connect(&self, binding: &PlatformBinding) -> Box<dyn GatewayConnection>;
}

/// One open connection.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait GatewayConnection: Send + Sync {
    /// Whether it ended by itself (a refused token, intents not enabled, …).
    fn is_finished(&self) -> bool;

    /// Closes it and waits until it is closed.
    async fn close(&mut self);
}
