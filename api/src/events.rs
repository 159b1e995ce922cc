//! The event bus between replicas: Redis pub/sub on `<prefix>events`.
//!
//! Every replica keeps its own in-memory mirror of the social graph and its own engine state; a
//! write handled by one replica is applied there at once and published here, and every other
//! replica applies it when it arrives (milliseconds later). Delivery is at most once, as Redis
//! pub/sub is: a replica disconnected from Redis misses what was published meanwhile, and says so
//! in its log; it converges again at its next restart. The database stays the source of truth.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures_util::StreamExt as _;
use rand::RngCore as _;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};

use crate::live::Event;

/// What goes over the wire: the event and the replica it came from.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    origin: String,
    event: Event,
}

/// A connection to the bus.
#[derive(Clone)]
pub struct EventBus {
    conn: ConnectionManager,
    client: redis::Client,
    channel: String,
    /// This replica's random id: its own events come back from Redis and are skipped.
    origin: Arc<str>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("channel", &self.channel)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl EventBus {
    /// Connects to the Redis at `url`.
    ///
    /// # Errors
    ///
    /// Redis cannot be reached.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).with_context(|| format!("invalid Redis URL {url:?}"))?;
        let conn = ConnectionManager::new(client.clone())
            .await
            .context("cannot connect to Redis")?;
        let mut id = [0u8; 8];
        rand::rng().fill_bytes(&mut id);
        Ok(Self {
            conn,
            client,
            channel: format!("{prefix}events"),
            origin: hex::encode(id).into(),
        })
    }

    /// Publishes `event` in the background (a failure is logged: the write itself succeeded).
    pub fn publish(&self, event: Event) {
        let envelope = Envelope {
            origin: self.origin.to_string(),
            event,
        };
        let Ok(payload) = serde_json::to_string(&envelope) else {
            return;
        };
        let mut conn = self.conn.clone();
        let channel = self.channel.clone();
        tokio::spawn(async move {
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(payload)
                .query_async(&mut conn)
                .await;
            if let Err(err) = sent {
                tracing::warn!(error = %err, "cannot publish a live event to the other replicas");
            }
        });
    }

    /// Receives the other replicas' events and hands each to `apply`, until the task is dropped.
    /// Reconnects (with a pause) when the subscription breaks.
    pub fn spawn_listener(
        &self,
        apply: impl Fn(Event) + Send + Sync + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let bus = self.clone();
        tokio::spawn(async move {
            loop {
                match bus.listen(&apply).await {
                    Ok(()) => tracing::warn!("event subscription ended; resubscribing"),
                    Err(err) => {
                        tracing::warn!(error = %format!("{err:#}"), "event subscription failed; retrying (events published meanwhile are missed)")
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }

    async fn listen(&self, apply: &impl Fn(Event)) -> anyhow::Result<()> {
        let mut pubsub = self
            .client
            .get_async_pubsub()
            .await
            .context("cannot subscribe")?;
        pubsub
            .subscribe(&self.channel)
            .await
            .context("cannot subscribe")?;
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let payload: String = match message.get_payload() {
                Ok(p) => p,
                Err(err) => {
                    tracing::warn!(error = %err, "unreadable live event");
                    continue;
                }
            };
            match serde_json::from_str::<Envelope>(&payload) {
                Ok(envelope) if *envelope.origin == *self.origin => {}
                Ok(envelope) => apply(envelope.event),
                Err(err) => tracing::warn!(error = %err, "malformed live event"),
            }
        }
        Ok(())
    }

    /// Resolves once this bus's subscription is active (for tests and start-up ordering).
    ///
    /// # Errors
    ///
    /// Redis cannot be reached.
    pub async fn subscribers(&self) -> anyhow::Result<i64> {
        let mut conn = self.conn.clone();
        let counts: Vec<(String, i64)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&self.channel)
            .query_async(&mut conn)
            .await
            .context("redis")?;
        Ok(counts.first().map_or(0, |(_, n)| *n))
    }
}
