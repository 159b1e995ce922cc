//! The user-context cache: each feed (and search, and trending) request needs its user's
//! followees, hidden authors, newest interactions and seen window ([`engine::UserContext`]); they
//! are read from the store for that user only (one statement, `store/context.rs`) and kept in a
//! [`LogCache`]: at most [`ServeConfig::context_cache_mb`](crate::ServeConfig::context_cache_mb)
//! of contexts weighed by their length, each at most
//! [`ServeConfig::context_ttl_secs`](crate::ServeConfig::context_ttl_secs) old, dropped by the
//! change log when the user's facts change.
//!
//! **Trust.** The cache is used only while this replica's tailer is reading the log (a replica
//! cut off from the log, or paused, reads every context from the database), so a block
//! acknowledged anywhere holds on every replica that serves requests.

use std::sync::Arc;
use std::time::Duration;

use engine::{UserContext, UserId};

use crate::cache::LogCache;
use crate::muted::{MutedCache, MutedWords};
use crate::store::Store;
use crate::store::context::ContextLimits;

/// The cache. Cheap to clone.
#[derive(Clone, Debug)]
pub struct UserContexts {
    cache: LogCache<UserId, UserContext>,
    limits: ContextLimits,
    /// Each user's muted words, kept and dropped beside their context.
    muted: MutedCache,
}

/// Roughly the bytes a context holds.
fn weight(ctx: &UserContext) -> u32 {
    let ids = ctx.followees.len() + ctx.hidden.len() + ctx.seen.len();
    let bytes = 160 + 8 * ids + std::mem::size_of::<engine::Interaction>() * ctx.interactions.len();
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl UserContexts {
    /// A cache of at most `max_bytes`, entries living at most `ttl`.
    pub fn new(limits: ContextLimits, max_bytes: u64, ttl: Duration) -> Self {
        Self {
            cache: LogCache::new(max_bytes, ttl, weight),
            limits,
            muted: MutedCache::new(ttl),
        }
    }

    /// `user`'s context, from the cache or read from `store`. With `trusted` false (the change
    /// log is not being applied: see
    /// [`ChangeFeed::is_current`](crate::changes::ChangeFeed::is_current)) the cache is
    /// bypassed: the context is read from the database and not kept.
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
        let result = match trusted {
            false => "untrusted",
            true => match self.cache.get(&user).await {
                Some(ctx) => {
                    metrics::counter!("social_live_user_context_total", "result" => "hit")
                        .increment(1);
                    return Ok(ctx);
                }
                None => "miss",
            },
        };
        metrics::counter!("social_live_user_context_total", "result" => result).increment(1);
        let ticket = self.cache.ticket(&user);
        let ctx = Arc::new(store.user_context(user.0, self.limits).await?);
        if trusted {
            self.cache.insert(user, Arc::clone(&ctx), ticket).await;
        }
        Ok(ctx)
    }

    /// `user`'s muted words (cached as the context is; `trusted` as for [`get`](Self::get)).
    ///
    /// # Errors
    ///
    /// The database error of a read.
    pub async fn muted(
        &self,
        store: &Store,
        user: UserId,
        trusted: bool,
    ) -> sqlx::Result<Arc<MutedWords>> {
        self.muted.get(store, user, trusted).await
    }

    /// Drops `user`'s context and muted words: the next request reads them again.
    pub async fn invalidate(&self, user: UserId) {
        self.cache.invalidate(&user).await;
        self.muted.invalidate(user).await;
    }

    /// Drops every context and muted list (after a reload from a snapshot).
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
        self.muted.invalidate_all();
    }

    /// How many contexts are cached (approximate, for metrics).
    pub fn len(&self) -> u64 {
        self.cache.len()
    }

    /// Whether none is cached (approximate).
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// The bytes the cached contexts weigh (approximate, for metrics).
    pub fn weighted_bytes(&self) -> u64 {
        self.cache.weighted_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
