//! What the process tells about itself: the metrics catalogue, the scrape and the counted leases.

pub mod counted_leases;
pub mod metrics;
pub mod scrape;
