//! The health port: a dependency the readiness probe must reach (database, Redis).

use async_trait::async_trait;

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// A short name for the probe's report, such as `database`.
    fn name(&self) -> &'static str;

    /// `Err` with a reason when the dependency cannot be used right now.
    async fn check(&self) -> Result<(), String>;
}
