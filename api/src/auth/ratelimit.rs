//! Fixed-window attempt counters for login limits: in process by default, in Redis when it is
//! configured, so that every replica behind a load balancer counts the same attempts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use moka::future::Cache;
use redis::aio::ConnectionManager;

/// Counts attempts per key within a window that starts at the key's first attempt.
#[derive(Clone)]
pub enum Limiter {
    /// Counters in this process (one replica, or tests).
    Memory {
        counters: Cache<String, Arc<(Instant, AtomicU32)>>,
        window: Duration,
    },
    /// Counters in Redis under `prefix`, shared by every replica.
    Redis {
        conn: ConnectionManager,
        prefix: String,
        window: Duration,
    },
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory { window, .. } => {
                f.debug_struct("Memory").field("window", window).finish()
            }
            Self::Redis { prefix, window, .. } => f
                .debug_struct("Redis")
                .field("prefix", prefix)
                .field("window", window)
                .finish(),
        }
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

impl Limiter {
    /// In-process counters.
    pub fn memory(window: Duration) -> Self {
        Self::Memory {
            counters: Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(window)
                .build(),
            window,
        }
    }

    /// Counters in the Redis at `url`.
    ///
    /// # Errors
    ///
    /// Redis cannot be reached.
    pub async fn redis(url: &str, prefix: &str, window: Duration) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).with_context(|| format!("invalid Redis URL {url:?}"))?;
        let conn = ConnectionManager::new(client)
            .await
            .context("cannot connect to Redis")?;
        Ok(Self::Redis {
            conn,
            prefix: format!("{prefix}limit:"),
            window,
        })
    }

    /// The attempts counted for `key` in its current window, and the seconds left in it.
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn count(&self, key: &str) -> anyhow::Result<(u32, u64)> {
        match self {
            Self::Memory { counters, window } => Ok(match counters.get(key).await {
                Some(entry) => (
                    entry.1.load(Ordering::Relaxed),
                    window.saturating_sub(entry.0.elapsed()).as_secs().max(1),
                ),
                None => (0, 0),
            }),
            Self::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let key = format!("{prefix}{key}");
                let (n, ttl): (Option<u32>, i64) = redis::pipe()
                    .get(&key)
                    .ttl(&key)
                    .query_async(&mut conn)
                    .await
                    .context("redis")?;
                Ok((n.unwrap_or(0), ttl.max(1) as u64))
            }
        }
    }

    /// Counts one attempt for `key`; returns the count in the window and the seconds left.
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn hit(&self, key: &str) -> anyhow::Result<(u32, u64)> {
        match self {
            Self::Memory { counters, window } => {
                let entry = counters
                    .get_with(key.to_owned(), async {
                        Arc::new((Instant::now(), AtomicU32::new(0)))
                    })
                    .await;
                let n = entry.1.fetch_add(1, Ordering::Relaxed) + 1;
                Ok((n, window.saturating_sub(entry.0.elapsed()).as_secs().max(1)))
            }
            Self::Redis {
                conn,
                prefix,
                window,
            } => {
                let mut conn = conn.clone();
                let (n, ttl): (u32, i64) = redis::Script::new(HIT)
                    .key(format!("{prefix}{key}"))
                    .arg(window.as_secs().max(1))
                    .invoke_async(&mut conn)
                    .await
                    .context("redis")?;
                Ok((n, ttl.max(1) as u64))
            }
        }
    }

    /// Forgets `key` (a successful login clears its account's failures).
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn reset(&self, key: &str) -> anyhow::Result<()> {
        match self {
            Self::Memory { counters, .. } => {
                counters.invalidate(key).await;
                Ok(())
            }
            Self::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let _: () = redis::cmd("DEL")
                    .arg(format!("{prefix}{key}"))
                    .query_async(&mut conn)
                    .await
                    .context("redis")?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_counts_and_resets() {
        let limiter = Limiter::memory(Duration::from_secs(60));
        assert_eq!(limiter.count("a").await.unwrap().0, 0);
        assert_eq!(limiter.hit("a").await.unwrap().0, 1);
        assert_eq!(limiter.hit("a").await.unwrap().0, 2);
        assert_eq!(limiter.hit("b").await.unwrap().0, 1);
        let (n, left) = limiter.count("a").await.unwrap();
        assert_eq!(n, 2);
        assert!((1..=60).contains(&left));
        limiter.reset("a").await.unwrap();
        assert_eq!(limiter.count("a").await.unwrap().0, 0);
    }

    #[tokio::test]
    async fn memory_window_expires() {
        let limiter = Limiter::memory(Duration::from_millis(50));
        limiter.hit("a").await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(limiter.count("a").await.unwrap().0, 0);
    }
}
