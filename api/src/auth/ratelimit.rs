//! Fixed-window attempt counters for login limits: in process by default, in Redis when it is
//! configured, so that every replica behind a load balancer counts the same attempts.
//!
//! Redis is never needed for a request to succeed: every Redis call has a short timeout, and
//! when Redis cannot answer the limiter counts in this process instead (logged, and counted in
//! `social_live_ratelimit_redis_errors_total`), skipping Redis for a second ([`Breaker`]), so
//! logins keep working with per-replica limits until Redis is back. The connection is made
//! lazily and re-made after failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use moka::future::Cache;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long a Redis call may take before the in-process counters answer instead.
pub(crate) const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// Counts attempts per key within a window that starts at the key's first attempt.
#[derive(Clone)]
pub struct Limiter {
    memory: Memory,
    redis: Option<Shared>,
}

/// Counters in this process (one replica, tests, or while Redis is down).
#[derive(Clone)]
struct Memory {
    counters: Cache<String, Arc<(Instant, AtomicU32)>>,
    window: Duration,
}

/// Counters in Redis under `prefix`, shared by every replica.
#[derive(Clone)]
struct Shared {
    conn: ConnectionManager,
    breaker: Breaker,
    prefix: String,
    window: Duration,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("window", &self.memory.window)
            .field("redis_prefix", &self.redis.as_ref().map(|r| &r.prefix))
            .finish()
    }
}

/// INCR with the expiry set on the first hit, atomically; returns the count and the seconds
/// left in the window.
const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
return {n, ttl}
";

impl Memory {
    fn new(window: Duration) -> Self {
        Self {
            counters: Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(window)
                .build(),
            window,
        }
    }

    async fn count(&self, key: &str) -> (u32, u64) {
        match self.counters.get(key).await {
            Some(entry) => (
                entry.1.load(Ordering::Relaxed),
                self.window
                    .saturating_sub(entry.0.elapsed())
                    .as_secs()
                    .max(1),
            ),
            None => (0, 0),
        }
    }

    async fn hit(&self, key: &str) -> (u32, u64) {
        let entry = self
            .counters
            .get_with(key.to_owned(), async {
                Arc::new((Instant::now(), AtomicU32::new(0)))
            })
            .await;
        let n = entry.1.fetch_add(1, Ordering::Relaxed) + 1;
        (
            n,
            self.window
                .saturating_sub(entry.0.elapsed())
                .as_secs()
                .max(1),
        )
    }
}

impl Shared {
    async fn count(&self, key: &str) -> redis::RedisResult<(u32, u64)> {
        let mut conn = self.conn.clone();
        let key = format!("{}{key}", self.prefix);
        let (n, ttl): (Option<u32>, i64) = redis::pipe()
            .get(&key)
            .ttl(&key)
            .query_async(&mut conn)
            .await?;
        Ok((n.unwrap_or(0), ttl.max(1) as u64))
    }

    async fn hit(&self, key: &str) -> redis::RedisResult<(u32, u64)> {
        let mut conn = self.conn.clone();
        let (n, ttl): (u32, i64) = redis::Script::new(HIT)
            .key(format!("{}{key}", self.prefix))
            .arg(self.window.as_secs().max(1))
            .invoke_async(&mut conn)
            .await?;
        Ok((n, ttl.max(1) as u64))
    }

    async fn reset(&self, key: &str) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("DEL")
            .arg(format!("{}{key}", self.prefix))
            .query_async(&mut conn)
            .await
    }
}

/// How long Redis is left alone after it failed or was slow: an outage costs one timeout per
/// second, not one per call, and Redis is tried again by itself.
pub(crate) const BREAKER: Duration = Duration::from_secs(1);

/// Skips Redis for [`BREAKER`] after a failure. Cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub(crate) struct Breaker {
    /// Redis is skipped until this time, Unix ms.
    skip_until: Arc<std::sync::atomic::AtomicI64>,
}

impl Breaker {
    pub(crate) fn closed(&self) -> bool {
        crate::store::changes::now_ms() >= self.skip_until.load(Ordering::Relaxed)
    }

    /// `call` with the Redis timeout, unless Redis failed within the last [`BREAKER`]; `None`
    /// (logged and counted) when it is skipped, failed or was slow.
    pub(crate) async fn within<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        if !self.closed() {
            return None;
        }
        let err = match tokio::time::timeout(REDIS_TIMEOUT, call).await {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("no answer within {} ms", REDIS_TIMEOUT.as_millis()),
        };
        self.skip_until.store(
            crate::store::changes::now_ms() + BREAKER.as_millis() as i64,
            Ordering::Relaxed,
        );
        metrics::counter!("social_live_ratelimit_redis_errors_total").increment(1);
        tracing::warn!(error = %err, "Redis rate limiter unavailable; counting in this process for a second");
        None
    }
}

/// A lazy connection to the Redis at `url` (made on first use, re-made after failures), with
/// [`REDIS_TIMEOUT`] on connecting and on every answer.
///
/// # Errors
///
/// An invalid Redis URL.
pub(crate) fn connect(url: &str) -> Result<ConnectionManager, crate::Error> {
    let invalid = |source| crate::Error::RedisUrl {
        url: url.to_owned(),
        source,
    };
    let client = redis::Client::open(url).map_err(invalid)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(REDIS_TIMEOUT))
        .set_response_timeout(Some(REDIS_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client, config).map_err(invalid)
}

impl Limiter {
    /// In-process counters.
    pub fn memory(window: Duration) -> Self {
        Self {
            memory: Memory::new(window),
            redis: None,
        }
    }

    /// Counters in the Redis at `url` (connected on first use), in process while it is down.
    ///
    /// # Errors
    ///
    /// An invalid Redis URL.
    pub fn redis(url: &str, prefix: &str, window: Duration) -> Result<Self, crate::Error> {
        let conn = connect(url)?;
        Ok(Self {
            memory: Memory::new(window),
            redis: Some(Shared {
                conn,
                breaker: Breaker::default(),
                prefix: format!("{prefix}limit:"),
                window,
            }),
        })
    }

    /// The attempts counted for `key` in its current window, and the seconds left in it.
    pub async fn count(&self, key: &str) -> (u32, u64) {
        if let Some(redis) = &self.redis
            && let Some(counted) = redis.breaker.within(redis.count(key)).await
        {
            return counted;
        }
        self.memory.count(key).await
    }

    /// Counts one attempt for `key`; returns the count in the window and the seconds left.
    pub async fn hit(&self, key: &str) -> (u32, u64) {
        if let Some(redis) = &self.redis
            && let Some(counted) = redis.breaker.within(redis.hit(key)).await
        {
            return counted;
        }
        self.memory.hit(key).await
    }

    /// Forgets `key` (a successful login clears its account's failures), in Redis and here.
    pub async fn reset(&self, key: &str) {
        if let Some(redis) = &self.redis {
            redis.breaker.within(redis.reset(key)).await;
        }
        self.memory.counters.invalidate(key).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_counts_and_resets() {
        let limiter = Limiter::memory(Duration::from_secs(60));
        assert_eq!(limiter.count("a").await.0, 0);
        assert_eq!(limiter.hit("a").await.0, 1);
        assert_eq!(limiter.hit("a").await.0, 2);
        assert_eq!(limiter.hit("b").await.0, 1);
        let (n, left) = limiter.count("a").await;
        assert_eq!(n, 2);
        assert!((1..=60).contains(&left));
        limiter.reset("a").await;
        assert_eq!(limiter.count("a").await.0, 0);
    }

    #[tokio::test]
    async fn memory_window_expires() {
        let limiter = Limiter::memory(Duration::from_millis(50));
        limiter.hit("a").await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(limiter.count("a").await.0, 0);
    }

    /// Redis unreachable (nothing listens on the port): every call answers at once from the
    /// in-process counters.
    #[tokio::test]
    async fn an_unreachable_redis_falls_back_to_process_counters() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let limiter = Limiter::redis(
            &format!("redis://127.0.0.1:{port}"),
            "t:",
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(limiter.hit("a").await.0, 1);
        assert_eq!(limiter.hit("a").await.0, 2);
        assert_eq!(limiter.count("a").await.0, 2);
        limiter.reset("a").await;
        assert_eq!(limiter.count("a").await.0, 0);
    }
}
