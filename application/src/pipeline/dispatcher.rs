//! Use case: the dispatcher — one claim loop per process that keeps up to `concurrency` jobs in flight at once, renews their leases together, and hands them back at shutdown.
//!
//! A job is a task, not a thread: a model call is an `await`, so hundreds of answers can be in
//! flight while the process spends nothing on the idle ones. Jobs run as tasks of their own, so
//! that the loop's own statements never stall them (a job may hold a connection mid-transaction
//! that the loop's claim waits for). The loop claims
//! (one statement, as many jobs as it has free slots) when it is woken by an enqueue, when a job
//! of its own finishes (its lane may have a successor), when a retry it scheduled falls due, and
//! otherwise every `idle_poll` as a safety net for missed wake-ups and other replicas' expired
//! leases. Every third of a lease it renews the leases of all the jobs it holds in one statement.

use crate::job_runner::Outcome;
use crate::ports::{ClaimedJob, Clock, JobQueue, Spawner, Timer, Wakeups};
use crate::shutdown::Shutdown;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use domain::RepoError;
use futures::future::{AbortHandle, Abortable};
use futures::FutureExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// After a failed claim (the database is away), the next one is tried this soon at the latest,
/// and no sooner however often the loop is woken.
const CLAIM_RETRY: Duration = Duration::from_secs(1);
/// A lease is claimable only once strictly past its end (`locked_until < now`), in whole
/// milliseconds: a claim meant for a lease that has run out comes this much after its end.
const PAST_EXPIRY: Duration = Duration::from_millis(10);

/// Runs one claimed job to its outcome (the [`crate::JobRunner`]).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait RunJob: Send + Sync {
    async fn run(&self, job: &ClaimedJob) -> Result<Outcome, RepoError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatcherSettings {
    /// Jobs in flight at once in this process (`worker.concurrency`).
    pub concurrency: usize,
    /// How long a claimed job is held unrenewed; the leases are renewed every third of it.
    pub lease: Duration,
    /// With nothing waking the loop, it claims again after this long.
    pub idle_poll: Duration,
    /// After shutdown is asked, how long the jobs in flight may take before they are handed back.
    pub grace: Duration,
    /// Whether the job that a finished job lets go ahead (its lane's next) is announced by a
    /// wake-up (PostgreSQL `NOTIFY`). When it is, a job's end makes the loop claim again only if
    /// its last claim filled every free slot (runnable jobs may have been left behind); when
    /// not, every job's end does.
    pub successors_announced: bool,
}

/// What the dispatcher needs from outside.
pub struct DispatcherPorts {
    pub queue: Arc<dyn JobQueue>,
    pub jobs: Arc<dyn RunJob>,
    pub wakeups: Arc<dyn Wakeups>,
    pub timer: Arc<dyn Timer>,
    pub clock: Arc<dyn Clock>,
    pub spawner: Arc<dyn Spawner>,
}

pub struct Dispatcher {
    ports: DispatcherPorts,
    settings: DispatcherSettings,
}

type Finished = (ClaimedJob, Result<Outcome, RepoError>);

/// A job's task.
struct Running {
    job: ClaimedJob,
    abort: AbortHandle,
    /// Whether its lease is still renewed (not known to be lost).
    held: bool,
}

/// The jobs in flight and the loop's deadlines.
struct Flight {
    running: HashMap<i64, Running>,
    finished: mpsc::UnboundedReceiver<Finished>,
    report: mpsc::UnboundedSender<Finished>,
    /// Claim at the next turn of the loop.
    claim_now: bool,
    /// The last claim took as many jobs as it had free slots, so more may be runnable.
    saturated: bool,
    /// After a failed claim, no claim before the next poll (at most [`CLAIM_RETRY`] away),
    /// however often the loop is woken.
    claim_failed: bool,
    next_poll: DateTime<Utc>,
    next_renewal: DateTime<Utc>,
    /// When the retries this process scheduled fall due.
    retries: Vec<DateTime<Utc>>,
    /// Once shutdown is asked: when the jobs still in flight are handed back.
    handback: Option<DateTime<Utc>>,
}

/// A dispatcher that is dropped (its task aborted, as in a crash) takes its jobs with it.
impl Drop for Flight {
    fn drop(&mut self) {
        for running in self.running.values() {
            running.abort.abort();
        }
    }
}

/// What ended a wait of the loop.
enum Event {
    Finished(Finished),
    Woken,
    Deadline,
    Stopping,
}

fn after(now: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
    now + TimeDelta::from_std(span).unwrap_or(TimeDelta::MAX)
}

impl Flight {
    fn new(now: DateTime<Utc>) -> Self {
        let (report, finished) = mpsc::unbounded_channel();
        Self {
            running: HashMap::new(),
            finished,
            report,
            claim_now: true,
            saturated: false,
            claim_failed: false,
            next_poll: now,
            next_renewal: now,
            retries: Vec::new(),
            handback: None,
        }
    }

    /// The earliest moment the loop must act without being woken.
    fn held(&self) -> Vec<ClaimedJob> {
        let held = self.running.values().filter(|running| running.held);
        held.map(|running| running.job.clone()).collect()
    }

    fn deadline(&self) -> DateTime<Utc> {
        let renewal = (!self.running.is_empty()).then_some(self.next_renewal);
        let claiming = self.handback.is_none().then_some(self.next_poll);
        [renewal, claiming, self.handback]
            .into_iter()
            .flatten()
            .chain(self.retries.iter().copied())
            .min()
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Due retries and the idle poll turn into a claim.
    fn note_time(&mut self, now: DateTime<Utc>) {
        let before = self.retries.len();
        self.retries.retain(|at| *at > now);
        if self.retries.len() < before || self.next_poll <= now {
            self.claim_now = true;
            self.claim_failed = false;
        }
    }

    fn may_claim(&self) -> bool {
        self.handback.is_none() && self.claim_now && !self.claim_failed
    }

    fn is_done(&self, now: DateTime<Utc>) -> bool {
        self.handback
            .is_some_and(|at| self.running.is_empty() || at <= now)
    }
}

impl Dispatcher {
    pub fn new(ports: DispatcherPorts, settings: DispatcherSettings) -> Self {
        Self { ports, settings }
    }

    /// Runs until `shutdown`; then lets the jobs in flight finish within the grace period and
    /// hands back, in one statement, those that did not.
    pub async fn run(&self, shutdown: Shutdown) {
        let mut flight = Flight::new(self.now());
        loop {
            let now = self.now();
            flight.note_time(now);
            if flight.is_done(now) {
                break;
            }
            if flight.may_claim() {
                self.claim(&mut flight, now).await;
            }
            if !flight.running.is_empty() && flight.next_renewal <= now {
                self.renew(&mut flight, now).await;
            }
            match self.next_event(&mut flight, &shutdown).await {
                Event::Finished(finished) => self.settle(&mut flight, finished),
                Event::Woken => flight.claim_now = true,
                Event::Deadline => {}
                Event::Stopping => {
                    flight.handback = Some(after(self.now(), self.settings.grace));
                }
            }
        }
        self.hand_back(flight).await;
    }

    fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }

    /// Claims as many jobs as there are free slots, and starts them.
    async fn claim(&self, flight: &mut Flight, now: DateTime<Utc>) {
        flight.claim_now = false;
        flight.next_poll = after(now, self.settings.idle_poll);
        let free = self
            .settings
            .concurrency
            .saturating_sub(flight.running.len());
        flight.saturated = true;
        if free == 0 {
            return;
        }
        let claimed = self.ports.queue.claim(now, self.settings.lease, free).await;
        let jobs = match claimed {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::warn!(%error, "cannot claim jobs");
                flight.claim_failed = true;
                flight.next_poll = after(now, self.settings.idle_poll.min(CLAIM_RETRY));
                // The claim may have been written before the answer was lost: those jobs are
                // claimable again once their lease (from `now`) has run out.
                flight
                    .retries
                    .push(after(now, self.settings.lease + PAST_EXPIRY));
                return;
            }
        };
        flight.saturated = jobs.len() >= free;
        if flight.running.is_empty() && !jobs.is_empty() {
            flight.next_renewal = after(now, self.settings.lease / 3);
        }
        for job in jobs {
            let abort = self.start(job.clone(), flight.report.clone());
            let running = Running {
                job,
                abort,
                held: true,
            };
            flight.running.insert(running.job.id, running);
        }
    }

    /// Runs `job` as a task of its own, which reports its outcome on `report`.
    fn start(&self, job: ClaimedJob, report: mpsc::UnboundedSender<Finished>) -> AbortHandle {
        let jobs = self.ports.jobs.clone();
        let (abort, registration) = AbortHandle::new_pair();
        let task = async move {
            let outcome = jobs.run(&job).await;
            let _ = report.send((job, outcome));
        };
        let task = Abortable::new(task, registration).map(|_| ());
        self.ports.spawner.spawn(task.boxed());
        abort
    }

    /// Renews every held lease in one statement; a job missing from the answer was lost.
    async fn renew(&self, flight: &mut Flight, now: DateTime<Utc>) {
        flight.next_renewal = after(now, self.settings.lease / 3);
        // Jobs that ended meanwhile have no row left to renew.
        while let Ok(finished) = flight.finished.try_recv() {
            self.settle(flight, finished);
        }
        let jobs = flight.held();
        if jobs.is_empty() {
            return;
        }
        match self
            .ports
            .queue
            .renew(&jobs, now, self.settings.lease)
            .await
        {
            Ok(still_held) => {
                let still_held: HashSet<i64> = still_held.into_iter().collect();
                for (id, running) in flight.running.iter_mut() {
                    if running.held && !still_held.contains(id) {
                        // Lost to another claimer, or the job's own last write just removed
                        // its row; a lost job says so when it ends (`Outcome::LeaseLost`).
                        tracing::debug!(job_id = id, "lease no longer renewable");
                        running.held = false;
                    }
                }
            }
            Err(error) => tracing::warn!(%error, jobs = jobs.len(), "cannot renew the leases"),
        }
    }

    /// A job ended: its slot is free and its lane may have a successor; claim again unless a
    /// wake-up will announce that successor and no runnable job was left behind for want of a
    /// slot.
    fn settle(&self, flight: &mut Flight, (job, outcome): Finished) {
        flight.running.remove(&job.id);
        flight.claim_now |= flight.saturated || !self.settings.successors_announced;
        match outcome {
            Ok(Outcome::Retrying { after: wait }) => {
                flight.retries.push(after(self.now(), wait));
                tracing::debug!(job_id = job.id, ?wait, "job will be retried");
            }
            Ok(Outcome::LeaseLost) => {
                tracing::warn!(job_id = job.id, "lease lost to another worker")
            }
            Ok(outcome) => tracing::debug!(job_id = job.id, ?outcome, "job ran"),
            Err(error) => {
                // Claimed again once its lease has run out (no other process may be polling).
                flight
                    .retries
                    .push(after(self.now(), self.settings.lease + PAST_EXPIRY));
                tracing::warn!(job_id = job.id, %error, "job outcome not recorded; its lease will expire")
            }
        }
    }

    /// Waits for a job to finish, a wake-up, the next deadline, or shutdown.
    async fn next_event(&self, flight: &mut Flight, shutdown: &Shutdown) -> Event {
        let wait = (flight.deadline() - self.now())
            .to_std()
            .unwrap_or_default();
        let accepting = flight.handback.is_none();
        let finished = async {
            match flight.finished.recv().await {
                Some(finished) => Event::Finished(finished),
                // Never: the flight keeps a sender.
                None => futures::future::pending().await,
            }
        };
        let woken = async {
            if accepting {
                self.ports.wakeups.next().await;
                Event::Woken
            } else {
                futures::future::pending().await
            }
        };
        let stop = async {
            if accepting {
                shutdown.stopped().await;
                Event::Stopping
            } else {
                futures::future::pending().await
            }
        };
        let deadline = async {
            self.ports.timer.sleep(wait).await;
            Event::Deadline
        };
        futures::select_biased! {
            event = stop.fuse() => event,
            event = finished.fuse() => event,
            event = woken.fuse() => event,
            event = deadline.fuse() => event,
        }
    }

    /// Stops the jobs still in flight and hands back, at once, those still held.
    async fn hand_back(&self, flight: Flight) {
        let held = flight.held();
        drop(flight);
        if held.is_empty() {
            return;
        }
        tracing::warn!(
            jobs = held.len(),
            "shutdown grace is over; handing the jobs back"
        );
        if let Err(error) = self.ports.queue.release(&held).await {
            tracing::warn!(%error, "could not hand the jobs back; their leases will expire");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{now, TokioSpawner, TokioTimer};
    use crate::ports::{JobPayload, LeaseToken, MockJobQueue};
    use std::sync::Mutex;
    use tokio::sync::Notify;
    use tokio::time::Instant;

    const LEASE: Duration = Duration::from_secs(30);

    /// Wall-clock time that moves with tokio's (paused) clock.
    struct TokioClock(Instant);

    impl Clock for TokioClock {
        fn now(&self) -> DateTime<Utc> {
            after(now(), self.0.elapsed())
        }
    }

    struct NotifyWakeups(Arc<Notify>);

    #[async_trait]
    impl Wakeups for NotifyWakeups {
        async fn next(&self) {
            self.0.notified().await;
        }
    }

    /// Jobs that each take `takes`, then end with `outcome`; records when each started.
    struct Slow {
        takes: Duration,
        outcome: Outcome,
        started: Mutex<Vec<(i64, Duration)>>,
        since: Instant,
    }

    impl Slow {
        fn new(takes: Duration, outcome: Outcome) -> Arc<Self> {
            Arc::new(Self {
                takes,
                outcome,
                started: Mutex::default(),
                since: Instant::now(),
            })
        }

        fn started(&self) -> Vec<(i64, Duration)> {
            self.started.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl RunJob for Slow {
        async fn run(&self, job: &ClaimedJob) -> Result<Outcome, RepoError> {
            let at = self.since.elapsed();
            self.started.lock().unwrap().push((job.id, at));
            tokio::time::sleep(self.takes).await;
            Ok(self.outcome.clone())
        }
    }

    fn job(id: i64) -> ClaimedJob {
        ClaimedJob {
            id,
            lane: format!("lane-{id}"),
            payload: JobPayload::Reply {
                message_id: domain::MessageId::new(),
            },
            attempts: 1,
            lease: LeaseToken("lease".into()),
            trace_parent: None,
        }
    }

    /// A queue holding `waiting` jobs; each claim takes up to its limit from the front and
    /// records the limit it was asked for.
    fn queue_of(waiting: Vec<ClaimedJob>, limits: Arc<Mutex<Vec<usize>>>) -> MockJobQueue {
        let waiting = Arc::new(Mutex::new(waiting));
        let mut queue = MockJobQueue::new();
        queue.expect_claim().returning(move |_, _, limit| {
            limits.lock().unwrap().push(limit);
            let mut waiting = waiting.lock().unwrap();
            let take = limit.min(waiting.len());
            Ok(waiting.drain(..take).collect())
        });
        queue
    }

    fn settings(concurrency: usize) -> DispatcherSettings {
        DispatcherSettings {
            concurrency,
            lease: LEASE,
            idle_poll: Duration::from_secs(1),
            grace: Duration::from_secs(5),
            successors_announced: false,
        }
    }

    fn dispatcher(
        queue: MockJobQueue,
        jobs: Arc<dyn RunJob>,
        wake: &Arc<Notify>,
        settings: DispatcherSettings,
    ) -> Dispatcher {
        let ports = DispatcherPorts {
            queue: Arc::new(queue),
            jobs,
            wakeups: Arc::new(NotifyWakeups(wake.clone())),
            timer: Arc::new(TokioTimer),
            clock: Arc::new(TokioClock(Instant::now())),
            spawner: Arc::new(TokioSpawner),
        };
        Dispatcher::new(ports, settings)
    }

    /// Runs `dispatcher` for `span` of (paused) time, then shuts it down and waits for it.
    async fn run_for(dispatcher: &Dispatcher, span: Duration) {
        let (stop, shutdown) = Shutdown::new();
        let stopping = async {
            tokio::time::sleep(span).await;
            stop.stop();
        };
        futures::join!(dispatcher.run(shutdown), stopping);
    }

    #[tokio::test(start_paused = true)]
    async fn every_slot_is_filled_at_once_and_slow_jobs_run_side_by_side() {
        let limits = Arc::default();
        let queue = queue_of((1..=5).map(job).collect(), Arc::clone(&limits));
        let jobs = Slow::new(Duration::from_secs(2), Outcome::Completed);
        let wake = Arc::new(Notify::new());
        let dispatcher = dispatcher(queue, jobs.clone(), &wake, settings(3));
        run_for(&dispatcher, Duration::from_millis(4500)).await;
        let started = jobs.started();
        let at = |id: i64| started.iter().find(|(job, _)| *job == id).unwrap().1;
        // Three at once at the start, in one claim; the last two as soon as slots free up.
        assert_eq!([at(1), at(2), at(3)], [Duration::ZERO; 3]);
        assert_eq!([at(4), at(5)], [Duration::from_secs(2); 2]);
        assert_eq!(limits.lock().unwrap()[0], 3);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_it_claims_once_per_poll_and_at_once_when_woken() {
        let limits: Arc<Mutex<Vec<usize>>> = Arc::default();
        let queue = queue_of(Vec::new(), Arc::clone(&limits));
        let jobs = Slow::new(Duration::ZERO, Outcome::Completed);
        let wake = Arc::new(Notify::new());
        let dispatcher = dispatcher(queue, jobs, &wake, settings(256));
        let ringing = async {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            wake.notify_one();
        };
        let (_, ()) = futures::join!(run_for(&dispatcher, Duration::from_millis(4900)), ringing);
        // At 0, 1 and 2 s by the poll, at 2.5 s woken, then 3.5 and 4.5 s: six claims in 4.9 s,
        // each for every free slot.
        let limits = limits.lock().unwrap();
        assert_eq!(limits.len(), 6, "{limits:?}");
        assert!(limits.iter().all(|limit| *limit == 256));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_is_claimed_when_it_falls_due_without_waiting_for_the_poll() {
        let limits: Arc<Mutex<Vec<usize>>> = Arc::default();
        let queue = queue_of(vec![job(1)], Arc::clone(&limits));
        let retrying = Outcome::Retrying {
            after: Duration::from_millis(300),
        };
        let jobs = Slow::new(Duration::ZERO, retrying);
        let wake = Arc::new(Notify::new());
        let mut slow_poll = settings(4);
        slow_poll.idle_poll = Duration::from_secs(60);
        let dispatcher = dispatcher(queue, jobs, &wake, slow_poll);
        run_for(&dispatcher, Duration::from_millis(400)).await;
        // The first claim, the one after the job ended, and the one when its retry fell due.
        assert_eq!(limits.lock().unwrap().len(), 3);
    }

    /// How many claims a dispatcher with `concurrency` slots makes over `waiting` jobs of 100 ms
    /// in 1 s, with `successors_announced`, its idle poll too slow to count.
    async fn claims_over(waiting: i64, concurrency: usize, successors_announced: bool) -> usize {
        let limits: Arc<Mutex<Vec<usize>>> = Arc::default();
        let queue = queue_of((1..=waiting).map(job).collect(), Arc::clone(&limits));
        let jobs = Slow::new(Duration::from_millis(100), Outcome::Completed);
        let wake = Arc::new(Notify::new());
        let mut quiet = settings(concurrency);
        quiet.idle_poll = Duration::from_secs(60);
        quiet.successors_announced = successors_announced;
        let dispatcher = dispatcher(queue, jobs, &wake, quiet);
        run_for(&dispatcher, Duration::from_secs(1)).await;
        let claims = limits.lock().unwrap().len();
        claims
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_that_ends_leads_to_a_claim_unless_a_wake_up_announces_what_it_unblocked() {
        // Not announced: a claim after each job's end, for its lane's next job.
        assert_eq!(claims_over(2, 4, false).await, 3);
        // Announced, with slots to spare: the first claim took every runnable job, and a
        // wake-up would bring any new one.
        assert_eq!(claims_over(2, 4, true).await, 1);
        // Announced, but every slot was taken: jobs may have been left behind, so claim again
        // when a slot frees up (twice full, then a claim that finds nothing).
        assert_eq!(claims_over(2, 1, true).await, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn leases_are_renewed_together_and_a_lost_one_is_dropped() {
        let mut queue = queue_of((1..=3).map(job).collect(), Arc::default());
        let renewals: Arc<Mutex<Vec<Vec<i64>>>> = Arc::default();
        let seen = renewals.clone();
        queue.expect_renew().returning(move |jobs, _, lease| {
            assert_eq!(lease, LEASE);
            let mut ids: Vec<i64> = jobs.iter().map(|job| job.id).collect();
            ids.sort_unstable();
            seen.lock().unwrap().push(ids.clone());
            // Job 2 was taken over by another worker.
            Ok(ids.into_iter().filter(|id| *id != 2).collect())
        });
        let jobs = Slow::new(Duration::from_secs(25), Outcome::Completed);
        let wake = Arc::new(Notify::new());
        let dispatcher = dispatcher(queue, jobs, &wake, settings(8));
        run_for(&dispatcher, Duration::from_secs(30)).await;
        // At 10 s all three in one statement, at 20 s only those still held.
        assert_eq!(*renewals.lock().unwrap(), vec![vec![1, 2, 3], vec![1, 3]]);
    }

    #[tokio::test(start_paused = true)]
    async fn at_shutdown_the_jobs_still_running_after_the_grace_are_handed_back_at_once() {
        let mut queue = queue_of((1..=3).map(job).collect(), Arc::default());
        queue
            .expect_renew()
            .returning(|jobs, _, _| Ok(jobs.iter().map(|j| j.id).collect()));
        let released: Arc<Mutex<Vec<Vec<i64>>>> = Arc::default();
        let seen = released.clone();
        queue.expect_release().times(1).returning(move |jobs| {
            let mut ids: Vec<i64> = jobs.iter().map(|job| job.id).collect();
            ids.sort_unstable();
            seen.lock().unwrap().push(ids);
            Ok(jobs.len())
        });
        let jobs = Slow::new(Duration::from_secs(3600), Outcome::Completed);
        let wake = Arc::new(Notify::new());
        let dispatcher = dispatcher(queue, jobs, &wake, settings(8));
        let started = Instant::now();
        run_for(&dispatcher, Duration::from_secs(1)).await;
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(6),
            "1 s, then 5 s of grace"
        );
        assert_eq!(*released.lock().unwrap(), vec![vec![1, 2, 3]]);
    }

    #[tokio::test(start_paused = true)]
    async fn jobs_that_finish_within_the_grace_are_not_handed_back() {
        let mut queue = queue_of(vec![job(1)], Arc::default());
        queue.expect_release().never();
        let jobs = Slow::new(Duration::from_secs(2), Outcome::Completed);
        let wake = Arc::new(Notify::new());
        let dispatcher = dispatcher(queue, jobs, &wake, settings(8));
        let started = Instant::now();
        run_for(&dispatcher, Duration::from_secs(1)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_claim_is_tried_again_a_second_later_however_often_it_is_woken() {
        let mut queue = MockJobQueue::new();
        let calls = Arc::new(Mutex::new(0));
        let counted = calls.clone();
        queue.expect_claim().returning(move |_, _, _| {
            *counted.lock().unwrap() += 1;
            Err(RepoError::Unavailable("down".into()))
        });
        let jobs = Slow::new(Duration::ZERO, Outcome::Completed);
        let ports = DispatcherPorts {
            queue: Arc::new(queue),
            jobs,
            // Woken all the time: a failing claim must still wait for the poll, not spin.
            wakeups: Arc::new(SlowWakeups(Duration::from_millis(10))),
            timer: Arc::new(TokioTimer),
            clock: Arc::new(TokioClock(Instant::now())),
            spawner: Arc::new(TokioSpawner),
        };
        // A long idle poll: the retry after a failure does not wait for it.
        let mut long_poll = settings(4);
        long_poll.idle_poll = Duration::from_secs(60);
        let dispatcher = Dispatcher::new(ports, long_poll);
        run_for(&dispatcher, Duration::from_millis(2500)).await;
        assert_eq!(*calls.lock().unwrap(), 3, "at 0, 1 and 2 s");
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_claim_whose_answer_was_lost_it_claims_again_once_that_lease_is_past() {
        let mut queue = MockJobQueue::new();
        let claims: Arc<Mutex<Vec<DateTime<Utc>>>> = Arc::default();
        let seen = claims.clone();
        queue.expect_claim().returning(move |now, _, _| {
            let mut seen = seen.lock().unwrap();
            seen.push(now);
            // The first claim reached the database, but its answer did not come back.
            match seen.len() {
                1 => Err(RepoError::Unavailable("connection reset".into())),
                _ => Ok(vec![]),
            }
        });
        let ports = DispatcherPorts {
            queue: Arc::new(queue),
            jobs: Slow::new(Duration::ZERO, Outcome::Completed),
            wakeups: Arc::new(SlowWakeups(Duration::from_secs(3600))),
            timer: Arc::new(TokioTimer),
            clock: Arc::new(TokioClock(Instant::now())),
            spawner: Arc::new(TokioSpawner),
        };
        let mut long_poll = settings(4);
        long_poll.idle_poll = Duration::from_secs(600);
        let dispatcher = Dispatcher::new(ports, long_poll);
        run_for(&dispatcher, LEASE + Duration::from_secs(1)).await;
        let claims = claims.lock().unwrap();
        let lease_end = after(claims[0], LEASE);
        // The lost claim's jobs are claimable only strictly after their lease's end.
        assert!(
            claims.iter().any(|&at| at > lease_end),
            "a claim after {lease_end}: {claims:?}"
        );
    }

    /// Rings every `0`.
    struct SlowWakeups(Duration);

    #[async_trait]
    impl Wakeups for SlowWakeups {
        async fn next(&self) {
            tokio::time::sleep(self.0).await;
        }
    }
}
