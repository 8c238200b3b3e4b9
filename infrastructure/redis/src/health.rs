//! Readiness: Redis answers `PING`.

use application::ports::HealthCheck;
use async_trait::async_trait;
use deadpool_redis::Pool;

pub struct RedisHealth {
    pub(crate) pool: Pool,
}

#[async_trait]
impl HealthCheck for RedisHealth {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn check(&self) -> Result<(), String> {
        let answered = self.ping().await;
        application::metrics::redis_up(answered.is_ok());
        answered
    }
}

impl RedisHealth {
    async fn ping(&self) -> Result<(), String> {
        let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
        deadpool_redis::redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}
