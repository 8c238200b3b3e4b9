//! The shutdown signal every long-running loop obeys: is it stopping, wait for it, sleep unless stopping.

use crate::ports::Timer;
use futures::future::{self, Either};
use std::pin::pin;
use std::time::Duration;
use tokio::sync::watch;

/// Asks every [`Shutdown`] made from it to stop; dropping it asks too.
#[derive(Debug)]
pub struct StopHandle(watch::Sender<bool>);

impl StopHandle {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// A loop's view of the process shutting down; cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A signal and the handle that raises it.
    pub fn new() -> (StopHandle, Shutdown) {
        let (sender, receiver) = watch::channel(false);
        (StopHandle(sender), Shutdown(receiver))
    }

    /// Whether shutdown was asked (or the handle is gone).
    pub fn is_stopping(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Resolves once shutdown is asked, or the handle is dropped (nobody could ask later).
    pub async fn stopped(&self) {
        let mut receiver = self.0.clone();
        let _ = receiver.wait_for(|stopping| *stopping).await;
    }

    /// Sleeps for `duration` on `timer`; `false` when shutdown came first (or had come).
    pub async fn sleep(&self, timer: &dyn Timer, duration: Duration) -> bool {
        if self.is_stopping() {
            return false;
        }
        match future::select(pin!(timer.sleep(duration)), pin!(self.stopped())).await {
            Either::Left(_) => true,
            Either::Right(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockTimer;

    /// A timer whose sleeps never end.
    struct Endless;

    #[async_trait::async_trait]
    impl Timer for Endless {
        async fn sleep(&self, _: Duration) {
            future::pending::<()>().await;
        }
    }

    #[tokio::test]
    async fn a_stop_wakes_every_waiter_and_interrupts_sleeps() {
        let (handle, shutdown) = Shutdown::new();
        assert!(!shutdown.is_stopping());
        let waiting = shutdown.clone();
        // The sleep is polled first and pends; the stop then ends it.
        let (slept, ()) =
            futures::join!(shutdown.sleep(&Endless, Duration::from_secs(3600)), async {
                handle.stop()
            });
        assert!(!slept);
        waiting.stopped().await;
        assert!(shutdown.is_stopping());
    }

    #[tokio::test]
    async fn a_dropped_handle_counts_as_a_stop() {
        let (handle, shutdown) = Shutdown::new();
        drop(handle);
        assert!(shutdown.is_stopping());
        shutdown.stopped().await;
    }

    #[tokio::test]
    async fn a_sleep_that_ends_first_says_so() {
        let (_handle, shutdown) = Shutdown::new();
        let mut timer = MockTimer::new();
        timer.expect_sleep().times(1).return_const(());
        assert!(shutdown.sleep(&timer, Duration::from_millis(1)).await);
    }
}
