//! Use case: the Telegram poll supervisor — one poller task per binding in polling mode, started and stopped as the bindings come and go.
//!
//! Every replica runs one; the polling lease (see [`crate::poll_updates`]) lets one of them
//! poll each bot. Every `rescan` the supervisor lists the polling bindings: a new one gets a
//! poller; a gone or changed one's poller is stopped (it gives its lease up), and a changed one
//! is started again. Each poller holds the lease under a name of its own, `{process}/{n}`, so
//! a poller restarted for a changed binding never shares the lease with the one it replaces.
//! When the bindings cannot be listed, the running pollers are kept. At shutdown every poller
//! is stopped, and the supervisor returns once each has given its lease up; a supervisor
//! dropped mid-run (a killed process) aborts its pollers instead, leaving their leases to expire.

use crate::poll_updates::{Next, PollUpdates};
use crate::ports::{Spawner, Timer};
use crate::shutdown::{Shutdown, StopHandle};
use domain::{BotId, PlatformBinding};
use futures::future::{AbortHandle, Abortable};
use futures::FutureExt;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the supervisor needs from outside.
pub struct PollSupervisorPorts {
    pub poll: Arc<PollUpdates>,
    pub timer: Arc<dyn Timer>,
    pub spawner: Arc<dyn Spawner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollSupervisorSettings {
    /// How often the polling bindings are listed again (`telegram.poll_rescan_ms`).
    pub rescan: Duration,
    /// This process's part of every lease holder name; unique to the process.
    pub process: String,
}

pub struct PollSupervisor {
    ports: PollSupervisorPorts,
    settings: PollSupervisorSettings,
}

/// A running bot poller: the binding it polls, and how to stop it.
struct BotPoller {
    binding: PlatformBinding,
    stop: StopHandle,
}

/// Reports, when dropped, that the poller task it belongs to ended: it gave its lease up, or it
/// was aborted, or it panicked.
struct Ended(u64, mpsc::UnboundedSender<u64>);

impl Drop for Ended {
    fn drop(&mut self) {
        let _ = self.1.send(self.0);
    }
}

/// This process's pollers.
struct Pollers {
    running: HashMap<BotId, BotPoller>,
    /// Every poller task not yet ended, running or stopping, by number.
    tasks: HashMap<u64, AbortHandle>,
    /// How many were started; numbers the tasks and the lease holder names.
    started: u64,
    ended: mpsc::UnboundedReceiver<u64>,
    report: mpsc::UnboundedSender<u64>,
}

impl Pollers {
    fn new() -> Self {
        let (report, ended) = mpsc::unbounded_channel();
        Self {
            running: HashMap::new(),
            tasks: HashMap::new(),
            started: 0,
            ended,
            report,
        }
    }

    /// A task number no poller of this process had before.
    fn next_task(&mut self) -> u64 {
        self.started += 1;
        self.started
    }

    /// Runs `polling` as task number `task`, tracked until it ends.
    fn spawn(
        &mut self,
        spawner: &dyn Spawner,
        task: u64,
        polling: impl Future<Output = ()> + Send + 'static,
    ) {
        let ended = Ended(task, self.report.clone());
        let (abort, registration) = AbortHandle::new_pair();
        let polling = async move {
            polling.await;
            drop(ended);
        };
        spawner.spawn(Abortable::new(polling, registration).map(|_| ()).boxed());
        self.tasks.insert(task, abort);
    }

    /// Stops the pollers whose binding is not among `wanted`, or differs from it.
    fn stop_unwanted(&mut self, wanted: &HashMap<BotId, PlatformBinding>) {
        self.running.retain(|bot_id, poller| {
            let keep = wanted.get(bot_id) == Some(&poller.binding);
            if !keep {
                poller.stop.stop();
            }
            keep
        });
    }

    /// Forgets the tasks that have ended.
    fn reap(&mut self) {
        while let Ok(task) = self.ended.try_recv() {
            self.tasks.remove(&task);
        }
    }

    /// Stops every poller and waits until each task has ended, its lease given up.
    async fn stop_all(&mut self) {
        for poller in self.running.values() {
            poller.stop.stop();
        }
        while !self.tasks.is_empty() {
            // Never `None`: `self.report` is a sender.
            let Some(task) = self.ended.recv().await else {
                break;
            };
            self.tasks.remove(&task);
        }
    }
}

/// Pollers dropped before they were stopped (the supervisor's task aborted, as when a process
/// is killed) are aborted, as a crash would end them: their leases are left to expire.
impl Drop for Pollers {
    fn drop(&mut self) {
        for task in self.tasks.values() {
            task.abort();
        }
    }
}

impl PollSupervisor {
    pub fn new(ports: PollSupervisorPorts, settings: PollSupervisorSettings) -> Self {
        Self { ports, settings }
    }

    /// Rescans the polling bindings every `rescan` until `shutdown`, then stops every poller
    /// and returns once each has given its lease up.
    pub async fn run(&self, shutdown: Shutdown) {
        let mut pollers = Pollers::new();
        loop {
            self.rescan(&mut pollers).await;
            if !shutdown
                .sleep(&*self.ports.timer, self.settings.rescan)
                .await
            {
                break;
            }
        }
        pollers.stop_all().await;
    }

    async fn rescan(&self, pollers: &mut Pollers) {
        pollers.reap();
        match self.ports.poll.targets().await {
            Ok(targets) => self.reconcile(pollers, targets),
            Err(error) => {
                tracing::warn!(%error, "cannot list the polling bindings; keeping the pollers as they are")
            }
        }
    }

    /// Stops the pollers of bindings gone or changed, and starts one for each new binding.
    fn reconcile(&self, pollers: &mut Pollers, targets: Vec<PlatformBinding>) {
        let mut wanted: HashMap<BotId, PlatformBinding> = targets
            .into_iter()
            .map(|binding| (binding.bot_id, binding))
            .collect();
        pollers.stop_unwanted(&wanted);
        wanted.retain(|bot_id, _| !pollers.running.contains_key(bot_id));
        for binding in wanted.into_values() {
            self.start(pollers, binding);
        }
    }

    /// Runs a poller for `binding` as a task of its own, under a new holder name.
    fn start(&self, pollers: &mut Pollers, binding: PlatformBinding) {
        let task = pollers.next_task();
        let holder = format!("{}/{task}", self.settings.process);
        let (stop, stopped) = Shutdown::new();
        tracing::info!(bot_id = %binding.bot_id, "polling Telegram for this bot");
        let polling = poll_bot(
            self.ports.poll.clone(),
            self.ports.timer.clone(),
            binding.clone(),
            holder,
            stopped,
        );
        pollers.spawn(&*self.ports.spawner, task, polling);
        pollers
            .running
            .insert(binding.bot_id, BotPoller { binding, stop });
    }
}

/// Polls `binding` as `holder` round after round until told to stop, then gives its lease up.
async fn poll_bot(
    poll: Arc<PollUpdates>,
    timer: Arc<dyn Timer>,
    binding: PlatformBinding,
    holder: String,
    stop: Shutdown,
) {
    while !stop.is_stopping() {
        match poll.round(&binding, &holder, stop.stopped()).await {
            Next::Poll => {}
            Next::Stopped => break,
            Next::Wait(pause) => {
                stop.sleep(&*timer, pause).await;
            }
        }
    }
    poll.release(binding.bot_id, &holder).await;
    tracing::info!(bot_id = %binding.bot_id, "stopped polling Telegram for this bot");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{poll_updates, polling_binding, Hanging, TokioSpawner, TokioTimer};
    use crate::poll_updates::{lease_name, PollSettings};
    use crate::ports::{MockLeases, MockLedger, MockPollOffsets};
    use domain::RepoError;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    use tokio::time::{sleep, timeout};

    const RESCAN: Duration = Duration::from_millis(100);

    /// A lease name and a holder.
    type Lease = (String, String);

    /// The bindings the store lists (`None`: it cannot be read), whether taking a lease panics,
    /// and the leases the pollers took and gave up.
    #[derive(Default)]
    struct Script {
        bindings: Mutex<Option<Vec<PlatformBinding>>>,
        panics: AtomicBool,
        acquired: Mutex<Vec<Lease>>,
        released: Mutex<Vec<Lease>>,
    }

    impl Script {
        fn new(bindings: Vec<PlatformBinding>) -> Arc<Self> {
            let script = Self::default();
            script.set_bindings(Some(bindings));
            Arc::new(script)
        }

        fn set_bindings(&self, bindings: Option<Vec<PlatformBinding>>) {
            *self.bindings.lock().unwrap() = bindings;
        }

        /// The holders that took `bot_id`'s lease, in order.
        fn holders(&self, bot_id: BotId) -> Vec<String> {
            holders_of(&self.acquired, bot_id)
        }

        /// The holders that gave `bot_id`'s lease up, in order.
        fn releases(&self, bot_id: BotId) -> Vec<String> {
            holders_of(&self.released, bot_id)
        }
    }

    fn holders_of(leases: &Mutex<Vec<Lease>>, bot_id: BotId) -> Vec<String> {
        let name = lease_name(bot_id);
        let leases = leases.lock().unwrap();
        let of_bot = leases.iter().filter(|(lease, _)| *lease == name);
        of_bot.map(|(_, holder)| holder.clone()).collect()
    }

    /// A supervisor whose pollers take every lease they ask for and then wait on a long poll
    /// that never answers.
    fn supervisor(script: &Arc<Script>) -> PollSupervisor {
        let mut offsets = MockPollOffsets::new();
        let s = script.clone();
        offsets.expect_polling_bindings().returning(move || {
            let bindings = s.bindings.lock().unwrap().clone();
            bindings.ok_or_else(|| RepoError::Unavailable("down".into()))
        });
        offsets.expect_offset().returning(|_, _| Ok(None));
        let mut leases = MockLeases::new();
        let s = script.clone();
        leases
            .expect_acquire()
            .returning(move |name, holder, _, _| {
                assert!(!s.panics.load(Ordering::SeqCst), "a poller's bug");
                let lease = (name.to_owned(), holder.to_owned());
                s.acquired.lock().unwrap().push(lease);
                Ok(true)
            });
        let s = script.clone();
        leases.expect_release().returning(move |name, holder| {
            let lease = (name.to_owned(), holder.to_owned());
            s.released.lock().unwrap().push(lease);
            Ok(())
        });
        let poll = poll_updates(
            Arc::new(Hanging),
            offsets,
            leases,
            MockLedger::new(),
            PollSettings::default(),
        );
        let ports = PollSupervisorPorts {
            poll: Arc::new(poll),
            timer: Arc::new(TokioTimer),
            spawner: Arc::new(TokioSpawner),
        };
        let settings = PollSupervisorSettings {
            rescan: RESCAN,
            process: "replica-a".into(),
        };
        PollSupervisor::new(ports, settings)
    }

    /// Runs `supervisor` while `scenario` plays (in paused time), then shuts it down and waits
    /// for it to return.
    async fn run_during(supervisor: &PollSupervisor, scenario: impl Future<Output = ()>) {
        let (stop, shutdown) = Shutdown::new();
        let scenario = async {
            scenario.await;
            stop.stop();
        };
        futures::join!(supervisor.run(shutdown), scenario);
    }

    /// Rescans happen at 0, 100, 200 ms…; the scenarios look in between.
    const BETWEEN: Duration = Duration::from_millis(50);

    #[tokio::test(start_paused = true)]
    async fn a_new_polling_binding_gets_a_poller_and_the_others_are_left_running() {
        let (a, b) = (BotId::new(), BotId::new());
        let script = Script::new(vec![polling_binding(a, "1:a")]);
        let supervisor = supervisor(&script);
        run_during(&supervisor, async {
            sleep(BETWEEN).await;
            assert_eq!(script.holders(a), ["replica-a/1"]);
            script.set_bindings(Some(vec![
                polling_binding(a, "1:a"),
                polling_binding(b, "2:b"),
            ]));
            sleep(RESCAN).await;
            assert_eq!(script.holders(a), ["replica-a/1"], "not restarted");
            assert_eq!(script.holders(b), ["replica-a/2"]);
            assert!(script.released.lock().unwrap().is_empty());
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_removed_or_changed_bindings_poller_is_stopped_and_a_changed_one_restarted_anew() {
        let (gone, changed) = (BotId::new(), BotId::new());
        let script = Script::new(vec![
            polling_binding(gone, "1:a"),
            polling_binding(changed, "2:b"),
        ]);
        let supervisor = supervisor(&script);
        let mut old = String::new();
        run_during(&supervisor, async {
            sleep(BETWEEN).await;
            let first = [script.holders(gone), script.holders(changed)];
            assert!(first.iter().all(|holders| holders.len() == 1), "{first:?}");
            old = script.holders(changed).remove(0);
            script.set_bindings(Some(vec![polling_binding(changed, "2:new")]));
            sleep(RESCAN).await;
            assert_eq!(script.releases(gone), script.holders(gone));
            assert_eq!(script.releases(changed), [old.clone()]);
            assert_eq!(script.holders(changed), [old.clone(), "replica-a/3".into()]);
        })
        .await;
        assert_eq!(script.releases(changed), [old, "replica-a/3".into()]);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_every_poller_and_returns_once_each_gave_its_lease_up() {
        let (a, b) = (BotId::new(), BotId::new());
        let script = Script::new(vec![polling_binding(a, "1:a"), polling_binding(b, "2:b")]);
        let supervisor = supervisor(&script);
        run_during(&supervisor, sleep(BETWEEN)).await;
        // The pollers are tasks of their own: their releases are seen here only because the
        // supervisor waited for them.
        for bot_id in [a, b] {
            assert_eq!(script.holders(bot_id).len(), 1);
            assert_eq!(script.releases(bot_id), script.holders(bot_id));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_rescan_keeps_the_running_pollers() {
        let bot = BotId::new();
        let script = Script::new(vec![polling_binding(bot, "1:a")]);
        let supervisor = supervisor(&script);
        run_during(&supervisor, async {
            sleep(BETWEEN).await;
            script.set_bindings(None);
            sleep(2 * RESCAN).await;
            script.set_bindings(Some(vec![polling_binding(bot, "1:a")]));
            sleep(RESCAN).await;
            assert_eq!(script.holders(bot), ["replica-a/1"]);
            assert!(script.releases(bot).is_empty());
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_supervisor_dropped_mid_run_aborts_its_pollers_which_keep_their_leases() {
        let bot = BotId::new();
        let script = Script::new(vec![polling_binding(bot, "1:a")]);
        let supervisor = supervisor(&script);
        let (_stop, shutdown) = Shutdown::new();
        let run = timeout(BETWEEN, supervisor.run(shutdown)).await;
        assert!(run.is_err(), "dropped while running");
        sleep(RESCAN).await;
        assert_eq!(script.holders(bot).len(), 1);
        assert!(
            script.releases(bot).is_empty(),
            "left to expire, as after a crash"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_poller_that_panicked_does_not_hold_shutdown_up() {
        let script = Script::new(vec![polling_binding(BotId::new(), "1:a")]);
        script.panics.store(true, Ordering::SeqCst);
        let supervisor = supervisor(&script);
        let run = run_during(&supervisor, sleep(BETWEEN));
        let ran = timeout(Duration::from_secs(60), run).await;
        assert!(ran.is_ok(), "shutdown waited for a task that was gone");
    }
}
