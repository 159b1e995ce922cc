//! [`LogCache`]: a bounded cache of database reads that the change log keeps honest. The user
//! contexts (`context.rs`) and the post rows of feed and trending pages (`post_rows.rs`) use it.
//!
//! **Bounds.** At most `max_bytes` of values (weighed by the caller), each at most `ttl` old.
//! Every change the tailer applies drops the entries it touches, so on a replica that is caught
//! up an entry is never staler than the log's lag; the time-to-live only bounds what a cut-off
//! replica would serve, and while the tailer is not current the callers bypass the cache.
//!
//! **No stale insert.** A read that started before a change was applied could put the old value
//! back after the change dropped it. Each key hashes to one of [`SHARDS`] counters, bumped by
//! every invalidation; a read notes its keys' counters before it starts and caches a value only
//! if its counter has not moved (otherwise the value serves its own request only).

use std::hash::{BuildHasher, Hash};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::future::Cache;

/// Invalidation counters (a fixed 32 KiB, whatever the number of keys).
const SHARDS: usize = 4096;

/// A bounded, log-invalidated cache. Cheap to clone.
pub struct LogCache<K, V> {
    cache: Cache<K, Arc<V>>,
    epochs: Arc<[AtomicU64]>,
    hasher: std::hash::RandomState,
}

impl<K, V> Clone for LogCache<K, V> {
    fn clone(&self) -> Self {
        Self {
            cache: self.cache.clone(),
            epochs: Arc::clone(&self.epochs),
            hasher: self.hasher.clone(),
        }
    }
}

impl<K, V> std::fmt::Debug for LogCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCache")
            .field("entries", &self.cache.entry_count())
            .field("bytes", &self.cache.weighted_size())
            .finish_non_exhaustive()
    }
}

/// A read's snapshot of the invalidation counter of one key.
#[derive(Clone, Copy, Debug)]
pub struct Ticket {
    shard: usize,
    epoch: u64,
}

impl<K, V> LogCache<K, V>
where
    K: Hash + Eq + Send + Sync + Clone + 'static,
    V: Send + Sync + 'static,
{
    /// A cache of at most `max_bytes` as `weight` counts them, entries living at most `ttl`.
    pub fn new(max_bytes: u64, ttl: Duration, weight: fn(&V) -> u32) -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(move |_, v: &Arc<V>| weight(v))
                .time_to_live(ttl)
                .build(),
            epochs: (0..SHARDS).map(|_| AtomicU64::new(0)).collect(),
            hasher: std::hash::RandomState::new(),
        }
    }

    fn shard(&self, key: &K) -> usize {
        self.hasher.hash_one(key) as usize % SHARDS
    }

    /// The cached value of `key`.
    pub async fn get(&self, key: &K) -> Option<Arc<V>> {
        self.cache.get(key).await
    }

    /// Take before reading `key` from the database; pass to [`insert`](Self::insert).
    pub fn ticket(&self, key: &K) -> Ticket {
        let shard = self.shard(key);
        Ticket {
            shard,
            epoch: self.epochs[shard].load(Ordering::Acquire),
        }
    }

    /// Caches `value`, read after `ticket` was taken, unless `key` was invalidated since.
    pub async fn insert(&self, key: K, value: Arc<V>, ticket: Ticket) {
        if self.epochs[ticket.shard].load(Ordering::Acquire) == ticket.epoch {
            self.cache.insert(key, value).await;
        }
    }

    /// Drops `key`: the next read goes to the database.
    pub async fn invalidate(&self, key: &K) {
        self.epochs[self.shard(key)].fetch_add(1, Ordering::AcqRel);
        self.cache.invalidate(key).await;
    }

    /// Drops every entry (after a reload from a snapshot).
    pub fn invalidate_all(&self) {
        for epoch in self.epochs.iter() {
            epoch.fetch_add(1, Ordering::AcqRel);
        }
        self.cache.invalidate_all();
    }

    /// How many entries are cached (approximate, for metrics).
    pub fn len(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Whether none is cached (approximate).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes the entries weigh (approximate, for metrics).
    pub fn weighted_bytes(&self) -> u64 {
        self.cache.weighted_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> LogCache<i64, String> {
        LogCache::new(1 << 20, Duration::from_secs(60), |v| v.len() as u32)
    }

    #[tokio::test]
    async fn a_read_that_raced_an_invalidation_is_not_cached() {
        let c = cache();
        let ticket = c.ticket(&7);
        // The change is applied while the read is in flight.
        c.invalidate(&7).await;
        c.insert(7, Arc::new("old".into()), ticket).await;
        assert!(c.get(&7).await.is_none());
        // A read that started after it is cached.
        let ticket = c.ticket(&7);
        c.insert(7, Arc::new("new".into()), ticket).await;
        assert_eq!(c.get(&7).await.as_deref().map(String::as_str), Some("new"));
        c.invalidate_all();
        assert!(c.get(&7).await.is_none());
    }

    #[test]
    fn shards_spread_consecutive_keys() {
        let c = cache();
        let used: std::collections::HashSet<usize> = (0..1_000).map(|k| c.shard(&k)).collect();
        assert!(used.len() > 850, "{}", used.len());
    }
}
