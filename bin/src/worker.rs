//! The worker pool: claims jobs, keeps their leases alive, and hands them back on shutdown.

use application::ports::ClaimedJob;
use application::{JobRunner, Outcome};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub concurrency: usize,
    pub poll_interval: Duration,
    /// After shutdown is asked, how long a running job may still take before it is released.
    pub grace: Duration,
}

/// Spawns `concurrency` workers that run until `stop` turns true.
pub fn spawn_workers(
    runner: Arc<JobRunner>,
    wake: Arc<Notify>,
    settings: PoolSettings,
    stop: watch::Receiver<bool>,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for _ in 0..settings.concurrency {
        let worker = Worker {
            runner: runner.clone(),
            wake: wake.clone(),
            settings: settings.clone(),
        };
        set.spawn(worker.run(stop.clone()));
    }
    set
}

struct Worker {
    runner: Arc<JobRunner>,
    wake: Arc<Notify>,
    settings: PoolSettings,
}

impl Worker {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            match self.runner.claim().await {
                Ok(Some(job)) => self.process(job, stop.clone()).await,
                Ok(None) => self.idle(&mut stop).await,
                Err(error) => {
                    tracing::warn!(%error, "cannot claim jobs");
                    self.idle(&mut stop).await;
                }
            }
        }
    }

    async fn idle(&self, stop: &mut watch::Receiver<bool>) {
        tokio::select! {
            () = self.wake.notified() => {}
            () = tokio::time::sleep(self.settings.poll_interval) => {}
            _ = stop.changed() => {}
        }
    }

    /// Runs the job while heart-beating its lease; when shutdown's grace runs out first,
    /// the job is abandoned and handed back for another worker.
    async fn process(&self, job: ClaimedJob, mut stop: watch::Receiver<bool>) {
        let grace = self.settings.grace;
        let deadline = async move {
            let _ = stop.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            outcome = self.runner.run(&job) => log_outcome(&job, outcome),
            () = keep_leased(&self.runner, &job) => {}
            () = deadline => self.release(&job).await,
        }
    }

    async fn release(&self, job: &ClaimedJob) {
        tracing::warn!(
            job_id = job.id,
            "shutdown grace is over; handing the job back"
        );
        if let Err(error) = self.runner.release(job).await {
            tracing::warn!(job_id = job.id, %error, "could not release; its lease will expire");
        }
    }
}

/// Renews the lease every third of its length; never returns (stops renewing once lost).
async fn keep_leased(runner: &JobRunner, job: &ClaimedJob) {
    let every = runner.lease() / 3;
    loop {
        tokio::time::sleep(every).await;
        match runner.heartbeat(job).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job_id = job.id, "lease lost to another worker");
                return std::future::pending().await;
            }
            Err(error) => tracing::warn!(job_id = job.id, %error, "heartbeat failed"),
        }
    }
}

fn log_outcome(job: &ClaimedJob, outcome: Result<Outcome, domain::RepoError>) {
    match outcome {
        Ok(outcome) => tracing::debug!(job_id = job.id, ?outcome, "job ran"),
        Err(error) => {
            tracing::warn!(job_id = job.id, %error, "job outcome not recorded; its lease will expire")
        }
    }
}
