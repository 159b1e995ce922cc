//! The user-context cache: each feed (and search) request needs its user's followees, hidden
//! authors, newest interactions and seen window ([`engine::UserContext`]); they are read from the
//! store for that user only and kept here.
//!
//! **Trust.** The cache is used only while this replica's tailer is reading the log (a
//! replica cut off from the log, or paused, reads every context from the database), so a block
//! acknowledged anywhere holds on every replica that serves requests.
//!
//! **Bounds.** At most [`ServeConfig::context_cache_mb`](crate::ServeConfig::context_cache_mb)
//! of contexts (weighed by their length), each at most
//! [`ServeConfig::context_ttl_secs`](crate::ServeConfig::context_ttl_secs) old. Every change
//! the change log applies drops the contexts of the users it touches, so on a replica that is
//! caught up a context is never staler than the log's lag; the time-to-live only bounds what a
//! cut-off replica serves.
//!
//! **No stale insert.** A read that started before a change was applied could put the old
//! context back after the change dropped it. Each user hashes to one of [`SHARDS`] counters,
//! bumped by every invalidation; a read notes its shard's counter before it starts and caches
//! its result only if the counter has not moved (otherwise it serves it to its own request
//! only).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use engine::{UserContext, UserId};
use moka::future::Cache;

use crate::store::Store;
use crate::store::context::ContextLimits;

/// Invalidation counters (a fixed 32 KiB, whatever the number of users).
const SHARDS: usize = 4096;

/// The cache. Cheap to clone.
#[derive(Clone)]
pub struct UserContexts {
    cache: Cache<UserId, Arc<UserContext>>,
    epochs: Arc<[AtomicU64]>,
    limits: ContextLimits,
}

impl std::fmt::Debug for UserContexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserContexts")
            .field("entries", &self.cache.entry_count())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Roughly the bytes a context holds.
fn weight(ctx: &UserContext) -> u32 {
    let ids = ctx.followees.len() + ctx.hidden.len() + ctx.seen.len();
    let bytes = 160 + 8 * ids + std::mem::size_of::<engine::Interaction>() * ctx.interactions.len();
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

fn shard(user: UserId) -> usize {
    (user.0 as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) as usize % SHARDS
}

impl UserContexts {
    /// A cache of at most `max_bytes`, entries living at most `ttl`.
    pub fn new(limits: ContextLimits, max_bytes: u64, ttl: Duration) -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, ctx: &Arc<UserContext>| weight(ctx))
                .time_to_live(ttl)
                .build(),
            epochs: (0..SHARDS).map(|_| AtomicU64::new(0)).collect(),
            limits,
        }
    }

    /// `user`'s context, from the cache or read from `store`. With `trusted` false (the change
    /// log is not being applied: see [`ChangeFeed::is_current`](crate::changes::ChangeFeed::is_current))
    /// the cache is bypassed: the context is read from the database and not kept.
    ///
    /// # Errors
    ///
    /// The database error of a read.
    pub async fn get(
        &self,
        store: &Store,
        user: UserId,
        trusted: bool,
    ) -> sqlx::Result<Arc<UserContext>> {
        if !trusted {
            metrics::counter!("social_live_user_context_total", "result" => "untrusted")
                .increment(1);
            return Ok(Arc::new(store.user_context(user.0, self.limits).await?));
        }
        if let Some(ctx) = self.cache.get(&user).await {
            metrics::counter!("social_live_user_context_total", "result" => "hit").increment(1);
            return Ok(ctx);
        }
        metrics::counter!("social_live_user_context_total", "result" => "miss").increment(1);
        let epoch = &self.epochs[shard(user)];
        let before = epoch.load(Ordering::Acquire);
        let ctx = Arc::new(store.user_context(user.0, self.limits).await?);
        if epoch.load(Ordering::Acquire) == before {
            self.cache.insert(user, Arc::clone(&ctx)).await;
        }
        Ok(ctx)
    }

    /// Drops `user`'s context: the next request reads it again.
    pub async fn invalidate(&self, user: UserId) {
        self.epochs[shard(user)].fetch_add(1, Ordering::AcqRel);
        self.cache.invalidate(&user).await;
    }

    /// Drops every context (after a reload from a snapshot).
    pub fn invalidate_all(&self) {
        for epoch in self.epochs.iter() {
            epoch.fetch_add(1, Ordering::AcqRel);
        }
        self.cache.invalidate_all();
    }

    /// How many contexts are cached (approximate, for metrics).
    pub fn len(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Whether none is cached (approximate).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes the cached contexts weigh (approximate, for metrics).
    pub fn weighted_bytes(&self) -> u64 {
        self.cache.weighted_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_spread_consecutive_ids() {
        let mut used = std::collections::HashSet::new();
        for id in 0..1_000 {
            used.insert(shard(UserId(id)));
        }
        assert!(used.len() > 900, "{}", used.len());
    }

    #[test]
    fn weight_grows_with_the_context() {
        let small = UserContext::default();
        let big = UserContext {
            seen: vec![engine::PostId(1); 1_000],
            ..UserContext::default()
        };
        assert!(weight(&big) >= weight(&small) + 8_000);
    }
}
