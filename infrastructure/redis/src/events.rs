//! Cross-replica fan-out: this process's events are `PUBLISH`ed, in order, on one channel; the
//! other processes' events on it are handed to a local sink. Events are announcements, so one
//! published while Redis is away is dropped (logged), never retried into a backlog.

use crate::envelope::Envelope;
use crate::health::RedisHealth;
use crate::pool::pool;
use crate::RedisSetupError;
use application::metrics;
use application::ports::EventRelay;
use deadpool_redis::redis::{self, AsyncCommands};
use deadpool_redis::Pool;
use domain::PublishedEvent;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Connections: one sender and the readiness probe need few.
const POOL_SIZE: usize = 4;
/// How long to wait before subscribing again after the connection dropped.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// One process's link to the event channel `{prefix}:events`.
#[derive(Clone)]
pub struct RedisEvents {
    pool: Pool,
    client: redis::Client,
    channel: String,
    origin: Uuid,
}

impl RedisEvents {
    /// Parses the URL and sets up the pool; nothing connects until used.
    pub fn new(url: &str, prefix: &str) -> Result<Self, RedisSetupError> {
        let client = redis::Client::open(url).map_err(|e| RedisSetupError(e.to_string()))?;
        Ok(Self {
            pool: pool(url, POOL_SIZE)?,
            client,
            channel: format!("{prefix}:events"),
            origin: Uuid::new_v4(),
        })
    }

    /// The publisher of this process's events; spawns the task that sends them in order.
    pub fn publisher(&self) -> RedisPublisher {
        let (outbox, mut pending) = mpsc::channel::<String>(OUTBOX_CAPACITY);
        let link = self.clone();
        let task = tokio::spawn(async move {
            while let Some(payload) = pending.recv().await {
                let sent = link.send(&payload).await;
                metrics::redis_up(sent.is_ok());
                if let Err(error) = sent {
                    metrics::events_dropped(1);
                    tracing::warn!(%error, "an event was not fanned out to the other replicas");
                }
            }
        });
        RedisPublisher {
            outbox,
            origin: self.origin,
            task: Arc::new(task),
        }
    }

    async fn send(&self, payload: &str) -> Result<(), String> {
        let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
        conn.publish::<_, _, i64>(&self.channel, payload)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Spawns the subscriber: every other process's event goes to `sink`; it subscribes again
    /// whenever the connection drops. Resolves once subscribed the first time (or failed to).
    pub async fn listen(&self, sink: Arc<dyn Fn(PublishedEvent) + Send + Sync>) -> JoinHandle<()> {
        let (ready, subscribed) = tokio::sync::oneshot::channel();
        let link = self.clone();
        let task = tokio::spawn(async move {
            let mut ready = Some(ready);
            loop {
                if let Err(error) = link.follow(&sink, &mut ready).await {
                    metrics::redis_up(false);
                    tracing::warn!(%error, "the Redis event subscription dropped; resubscribing");
                }
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                tokio::time::sleep(RESUBSCRIBE_AFTER).await;
            }
        });
        let _ = subscribed.await;
        task
    }

    /// Subscribes and forwards until the connection ends.
    async fn follow(
        &self,
        sink: &Arc<dyn Fn(PublishedEvent) + Send + Sync>,
        ready: &mut Option<tokio::sync::oneshot::Sender<()>>,
    ) -> Result<(), String> {
        let mut pubsub = self
            .client
            .get_async_pubsub()
            .await
            .map_err(|e| e.to_string())?;
        pubsub
            .subscribe(&self.channel)
            .await
            .map_err(|e| e.to_string())?;
        metrics::redis_up(true);
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            if let Some(event) = Envelope::foreign(message.get_payload_bytes(), self.origin) {
                sink(event);
            }
        }
        Err("the connection closed".into())
    }

    /// The readiness check on the same Redis.
    pub fn health(&self) -> RedisHealth {
        RedisHealth {
            pool: self.pool.clone(),
        }
    }
}

/// Events waiting to be sent; beyond this (Redis slow or away) new ones are dropped, not queued.
const OUTBOX_CAPACITY: usize = 1024;

/// Queues each event for the sending task: never blocks, never fails the pipeline.
#[derive(Clone)]
pub struct RedisPublisher {
    outbox: mpsc::Sender<String>,
    origin: Uuid,
    task: Arc<JoinHandle<()>>,
}

impl RedisPublisher {
    /// Stops the sending task (events still queued are dropped).
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl EventRelay for RedisPublisher {
    fn relay(&self, event: &PublishedEvent) {
        let envelope = Envelope {
            origin: self.origin,
            event: event.clone(),
        };
        match serde_json::to_string(&envelope) {
            Ok(payload) => {
                if let Err(mpsc::error::TrySendError::Full(_)) = self.outbox.try_send(payload) {
                    metrics::events_dropped(1);
                    tracing::warn!("Redis is not keeping up: an event was not fanned out");
                }
            }
            Err(error) => tracing::warn!(%error, "an event could not be serialized"),
        }
    }
}
