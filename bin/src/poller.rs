//! The Telegram pollers: one task per polling binding, started and stopped as bindings come and go.
//!
//! Every replica runs this; the use case's lease lets one of them poll each bot. Each task has
//! its own lease holder name, so a task restarted for a changed binding never shares the lease
//! with the one it replaces.

use crate::worker::TokioTimer;
use application::poll_updates::Next;
use application::{PollUpdates, Shutdown, StopHandle};
use domain::{BotId, PlatformBinding};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// A running bot poller: the binding it polls, and how to stop it.
struct BotPoller {
    binding: PlatformBinding,
    stop: StopHandle,
}

struct Supervisor {
    poll: Arc<PollUpdates>,
    /// This process's part of every lease holder name.
    process: String,
    started: u64,
    running: HashMap<BotId, BotPoller>,
    tasks: JoinSet<()>,
}

/// Rescans the polling bindings every `rescan` until shutdown, then stops every bot's poller
/// (each releases its lease) and returns.
pub async fn supervise(poll: Arc<PollUpdates>, rescan: Duration, shutdown: Shutdown) {
    let mut supervisor = Supervisor {
        poll,
        process: hex::encode(rand::random::<[u8; 8]>()),
        started: 0,
        running: HashMap::new(),
        tasks: JoinSet::new(),
    };
    loop {
        match supervisor.poll.targets().await {
            Ok(targets) => supervisor.reconcile(targets),
            Err(error) => tracing::warn!(%error, "cannot list the polling bindings"),
        }
        while supervisor.tasks.try_join_next().is_some() {}
        if !shutdown.sleep(&TokioTimer, rescan).await {
            break;
        }
    }
    supervisor.stop_all().await;
}

impl Supervisor {
    /// Stops the pollers of bindings gone or changed, and starts one for each new binding.
    fn reconcile(&mut self, targets: Vec<PlatformBinding>) {
        let mut wanted: HashMap<BotId, PlatformBinding> =
            targets.into_iter().map(|b| (b.bot_id, b)).collect();
        self.running.retain(|bot_id, poller| {
            let keep = wanted.get(bot_id) == Some(&poller.binding);
            if !keep {
                poller.stop.stop();
            }
            keep
        });
        wanted.retain(|bot_id, _| !self.running.contains_key(bot_id));
        for (bot_id, binding) in wanted {
            self.start(bot_id, binding);
        }
    }

    fn start(&mut self, bot_id: BotId, binding: PlatformBinding) {
        self.started += 1;
        let holder = format!("{}/{}", self.process, self.started);
        let (stop, stopped) = Shutdown::new();
        tracing::info!(%bot_id, "polling Telegram for this bot");
        self.tasks.spawn(poll_bot(
            self.poll.clone(),
            binding.clone(),
            holder,
            stopped,
        ));
        self.running.insert(bot_id, BotPoller { binding, stop });
    }

    async fn stop_all(mut self) {
        for poller in self.running.values() {
            poller.stop.stop();
        }
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Polls one binding round after round until told to stop, then gives its lease up.
async fn poll_bot(
    poll: Arc<PollUpdates>,
    binding: PlatformBinding,
    holder: String,
    stop: Shutdown,
) {
    while !stop.is_stopping() {
        match poll.round(&binding, &holder, stop.stopped()).await {
            Next::Poll => {}
            Next::Stopped => break,
            Next::Wait(pause) => {
                stop.sleep(&TokioTimer, pause).await;
            }
        }
    }
    poll.release(binding.bot_id, &holder).await;
    tracing::info!(bot_id = %binding.bot_id, "stopped polling Telegram for this bot");
}
