//! Use case: answer a scrape — read the store's gauges as of now, then render everything recorded.

use crate::metrics::{self, JOB_KINDS, JOB_STATES};
use crate::ports::{Clock, Exposition, StoreGauges, StoreReading};
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub struct Scrape {
    store: Arc<dyn StoreGauges>,
    exposition: Arc<dyn Exposition>,
    clock: Arc<dyn Clock>,
}

impl Scrape {
    pub fn new(
        store: Arc<dyn StoreGauges>,
        exposition: Arc<dyn Exposition>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            exposition,
            clock,
        }
    }

    /// The exposition text. When the store cannot be read, its gauges keep their last values
    /// and the rest is still rendered: a scrape is how an operator sees the outage.
    pub async fn text(&self) -> String {
        let now = self.clock.now();
        match self.store.read(now).await {
            Ok(reading) => record(&reading, now),
            Err(error) => tracing::warn!(%error, "the scrape could not read the queue's figures"),
        }
        self.exposition.render()
    }
}

fn record(reading: &StoreReading, now: DateTime<Utc>) {
    for (kind, state, count) in job_counts(reading) {
        metrics::jobs(kind, state, count);
    }
    for (kind, age) in oldest_ages(reading, now) {
        metrics::oldest_due(kind, age);
    }
    if let Some(pool) = reading.pool {
        metrics::pool(pool);
    }
}

/// Every kind and state, zero where the reading has none.
fn job_counts(reading: &StoreReading) -> Vec<(&'static str, &'static str, u64)> {
    let count = |kind: &str, state: &str| {
        reading
            .jobs
            .iter()
            .filter(|row| row.kind == kind && row.state == state)
            .map(|row| row.count)
            .sum()
    };
    JOB_KINDS
        .iter()
        .flat_map(|&kind| JOB_STATES.iter().map(move |&state| (kind, state)))
        .map(|(kind, state)| (kind, state, count(kind, state)))
        .collect()
}

/// Every kind's oldest due job's age in seconds, zero when none is due.
fn oldest_ages(reading: &StoreReading, now: DateTime<Utc>) -> Vec<(&'static str, f64)> {
    let age = |kind: &str| {
        reading
            .oldest_due
            .iter()
            .filter(|(due_kind, _)| due_kind == kind)
            .map(|(_, due)| (now - *due).num_milliseconds().max(0) as f64 / 1000.0)
            .fold(0.0, f64::max)
    };
    JOB_KINDS.iter().map(|&kind| (kind, age(kind))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, now};
    use crate::ports::{JobCount, MockExposition, MockStoreGauges};
    use chrono::TimeDelta;
    use domain::RepoError;

    fn reading() -> StoreReading {
        let row = |kind: &str, state: &str, count| JobCount {
            kind: kind.into(),
            state: state.into(),
            count,
        };
        StoreReading {
            jobs: vec![row("reply", "queued", 7), row("deliver", "dead", 2)],
            oldest_due: vec![("reply".into(), now() - TimeDelta::milliseconds(90_500))],
            pool: None,
        }
    }

    #[test]
    fn every_kind_and_state_is_counted_with_zero_where_the_store_has_none() {
        let counts = job_counts(&reading());
        assert_eq!(counts.len(), JOB_KINDS.len() * JOB_STATES.len());
        assert!(counts.contains(&("reply", "queued", 7)));
        assert!(counts.contains(&("deliver", "dead", 2)));
        assert!(counts.contains(&("reply", "waiting", 0)));
        assert!(counts.contains(&("deliver", "queued", 0)));
    }

    #[test]
    fn the_oldest_due_job_is_aged_from_now_and_a_kind_with_none_is_zero() {
        let ages = oldest_ages(&reading(), now());
        let zero = JOB_KINDS[1..].iter().map(|&kind| (kind, 0.0));
        let want: Vec<_> = [("reply", 90.5)].into_iter().chain(zero).collect();
        assert_eq!(ages, want);
    }

    #[tokio::test]
    async fn a_store_that_cannot_be_read_still_gets_the_rest_rendered() {
        let mut store = MockStoreGauges::new();
        store
            .expect_read()
            .returning(|_| Err(RepoError::Unavailable("down".into())));
        let mut exposition = MockExposition::new();
        exposition
            .expect_render()
            .times(1)
            .returning(|| "up 1\n".into());
        let scrape = Scrape::new(Arc::new(store), Arc::new(exposition), clock());
        assert_eq!(scrape.text().await, "up 1\n");
    }
}
