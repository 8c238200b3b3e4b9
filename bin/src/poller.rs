//! Telegram polling in a process: builds the poll supervisor (`getUpdates` at `telegram.api_url`), which runs until shutdown.

use crate::app::StartupError;
use crate::settings::Settings;
use crate::worker::{TokioSpawner, TokioTimer};
use application::metrics::LeaseKind;
use application::ports::Clock;
use application::CountedLeases;
use application::{
    PollPorts, PollSettings, PollSupervisor, PollSupervisorPorts, PollSupervisorSettings,
    PollUpdates, ReceiveWebhook,
};
use database::SeaStore;
use std::sync::Arc;
use std::time::Duration;

/// The supervisor of this process's Telegram pollers, recording through `receive`; it rescans
/// the polling bindings every `telegram.poll_rescan_ms`.
pub fn supervisor(
    settings: &Settings,
    store: &Arc<SeaStore>,
    receive: Arc<ReceiveWebhook>,
    clock: Arc<dyn Clock>,
) -> Result<PollSupervisor, StartupError> {
    let source = telegram::TelegramPoller::new(&settings.telegram.api_url)
        .map_err(|e| StartupError::Platform(e.into()))?;
    let ports = PollPorts {
        source: Arc::new(source),
        offsets: store.clone(),
        leases: Arc::new(CountedLeases::new(store.clone(), LeaseKind::Poller)),
        receive,
        clock,
    };
    let poll = PollUpdates::new(ports, poll_settings(settings));
    let ports = PollSupervisorPorts {
        poll: Arc::new(poll),
        timer: Arc::new(TokioTimer),
        spawner: Arc::new(TokioSpawner),
    };
    let settings = PollSupervisorSettings {
        rescan: Duration::from_millis(settings.telegram.poll_rescan_ms),
        process: hex::encode(rand::random::<[u8; 8]>()),
    };
    Ok(PollSupervisor::new(ports, settings))
}

/// What a polling lease outlasts one long poll by: the fetch's own overhead, with room to spare.
const POLL_LEASE_MARGIN: Duration = Duration::from_secs(30);

fn poll_settings(settings: &Settings) -> PollSettings {
    let telegram = &settings.telegram;
    let timeout = Duration::from_secs(telegram.poll_timeout_seconds);
    PollSettings {
        timeout,
        // Renewed before and after each fetch, which takes at most the timeout plus a margin.
        lease_ttl: timeout + POLL_LEASE_MARGIN,
        standby: Duration::from_millis(telegram.poll_rescan_ms),
        retry: Duration::from_secs(telegram.poll_retry_seconds),
        refused_retry: Duration::from_secs(telegram.poll_refused_retry_seconds),
    }
}
