//! The Prometheus adapter: installs the process-wide `metrics` recorder and renders it, with the process's own figures, for a scrape.
//!
//! `metrics-exporter-prometheus` is the recorder behind the `metrics` facade the use cases
//! record through; only its renderer is used (no listener of its own: `/metrics` is an
//! actix route). `metrics-process` reads resident memory, CPU time, open descriptors, threads
//! and the start time from `/proc` at each scrape.

use application::metrics::{self, DURATION_BUCKETS};
use application::ports::Exposition;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use metrics_process::Collector;
use std::sync::OnceLock;
use std::time::Duration;

/// How often histogram samples are folded into their buckets when nobody scrapes, so that
/// they do not pile up in memory.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static INSTALLED: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The installed recorder, rendering on demand.
#[derive(Clone)]
pub struct PrometheusExposition {
    handle: PrometheusHandle,
    process: Collector,
}

impl PrometheusExposition {
    /// Installs the recorder on the first call and shares it afterwards (tests start several
    /// apps in one process). `None` when another recorder was installed first.
    pub fn install() -> Option<Self> {
        let handle = INSTALLED.get_or_init(install_recorder).clone()?;
        let process = Collector::default();
        process.describe();
        metrics::describe();
        Some(Self { handle, process })
    }

    /// Folds pending histogram samples into their buckets; run every [`UPKEEP_EVERY`].
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

fn install_recorder() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new()
        .set_buckets(&DURATION_BUCKETS)
        .ok()?;
    match builder.install_recorder() {
        Ok(handle) => Some(handle),
        Err(error) => {
            tracing::warn!(%error, "metrics: another recorder is installed; /metrics stays empty");
            None
        }
    }
}

impl Exposition for PrometheusExposition {
    fn render(&self) -> String {
        self.process.collect();
        self.handle.render()
    }
}
