//! Wake-ups across replicas: on PostgreSQL a `LISTEN` connection turns each `NOTIFY` on the jobs channel, and each reconnect (after which one may have been missed), into a call of `wake`.

use crate::queue::JOBS_CHANNEL;
use crate::SeaStore;
use futures::future::BoxFuture;
use futures::FutureExt;
use sea_orm::sqlx::postgres::{PgListener, PgPool};
use sea_orm::DbBackend;
use std::sync::Arc;
use std::time::Duration;

/// How long to wait before listening again after the connection failed.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// What a wake-up calls.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

impl SeaStore {
    /// The listener to run for as long as the process runs, on PostgreSQL; `None` on SQLite,
    /// where every enqueue comes from this process and wakes its dispatcher in memory. It holds
    /// one connection of the pool.
    pub fn job_listener(&self, wake: Wake) -> Option<BoxFuture<'static, ()>> {
        if self.backend() != DbBackend::Postgres {
            return None;
        }
        let pool = self.connection().get_postgres_connection_pool().clone();
        Some(listen(pool, wake).boxed())
    }
}

async fn listen(pool: PgPool, wake: Wake) {
    loop {
        match subscribe(&pool).await {
            Ok(mut listener) => {
                // Whatever was enqueued while nobody listened is claimed now.
                wake();
                relay(&mut listener, &wake).await;
            }
            Err(error) => tracing::warn!(%error, "cannot listen for new jobs"),
        }
        tokio::time::sleep(RELISTEN_AFTER).await;
    }
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(JOBS_CHANNEL).await?;
    Ok(listener)
}

/// Wakes on every notification until the connection fails beyond a quiet reconnect.
async fn relay(listener: &mut PgListener, wake: &Wake) {
    loop {
        match listener.try_recv().await {
            Ok(Some(_)) => wake(),
            // The connection was lost and is listening again: a notice may have been missed.
            Ok(None) => wake(),
            Err(error) => {
                tracing::warn!(%error, "lost the connection listening for new jobs");
                return;
            }
        }
    }
}
