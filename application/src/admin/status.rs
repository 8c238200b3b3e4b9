//! Use case: what an operator riding out an outage reads — this replica's circuit breakers and the job queue's figures.

use crate::breakers::{BreakerStatus, Breakers};
use crate::ports::{Clock, StoreGauges, StoreReading};
use domain::RepoError;
use std::sync::Arc;

pub struct ReadStatus {
    breakers: Arc<Breakers>,
    gauges: Arc<dyn StoreGauges>,
    clock: Arc<dyn Clock>,
}

impl ReadStatus {
    pub fn new(
        breakers: Arc<Breakers>,
        gauges: Arc<dyn StoreGauges>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            breakers,
            gauges,
            clock,
        }
    }

    /// The breakers this replica has used, by name, and the queue's counts as of now.
    pub async fn read(&self) -> Result<(Vec<BreakerStatus>, StoreReading), RepoError> {
        let queue = self.gauges.read(self.clock.now()).await?;
        Ok((self.breakers.statuses(), queue))
    }
}
