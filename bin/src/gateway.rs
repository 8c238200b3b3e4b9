//! Discord gateway mode in a process: builds the supervisor and runs it until shutdown, when every connection is closed.

use crate::settings::Settings;
use crate::worker::TokioTimer;
use application::metrics::LeaseKind;
use application::ports::Clock;
use application::CountedLeases;
use application::Shutdown;
use application::{GatewayPorts, GatewaySupervisor, ReceiveWebhook};
use database::SeaStore;
use std::sync::Arc;
use std::time::Duration;

/// The supervisor of this process's gateway connections (a lease lasts `worker.lease_seconds`);
/// none, with a warning, when `discord.api_url` does not end in `/api/v10` as serenity needs.
pub fn supervisor(
    settings: &Settings,
    store: Arc<SeaStore>,
    receive: Arc<ReceiveWebhook>,
    clock: Arc<dyn Clock>,
) -> Option<GatewaySupervisor> {
    let gateway = match discord::DiscordGateway::new(&settings.discord.api_url, receive) {
        Ok(gateway) => gateway,
        Err(error) => {
            tracing::warn!(%error, "Discord gateway mode is unavailable");
            return None;
        }
    };
    let ports = GatewayPorts {
        bindings: store.clone(),
        leases: Arc::new(CountedLeases::new(store, LeaseKind::Gateway)),
        gateway: Arc::new(gateway),
        clock,
    };
    let holder = format!("switchboard-{}", hex::encode(rand::random::<[u8; 8]>()));
    let ttl = Duration::from_secs(settings.worker.lease_seconds.max(3));
    Some(GatewaySupervisor::new(ports, holder, ttl))
}

/// Ticks every third of the lease until shutdown, then closes every connection and gives the
/// leases up.
pub async fn supervise(mut supervisor: GatewaySupervisor, shutdown: Shutdown) {
    loop {
        supervisor.tick().await;
        if !shutdown.sleep(&TokioTimer, supervisor.every()).await {
            break;
        }
    }
    supervisor.shutdown().await;
}
