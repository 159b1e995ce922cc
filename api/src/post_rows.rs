//! The post rows of feed and trending pages, cached: every page shows 20 posts with their
//! author's handle and their like and comment counts, and many users' pages show the same posts,
//! so a [`LogCache`] keyed by post id spares the database one read per page. The change log
//! drops a post's row when it is edited, deleted, liked, unliked or commented on (handles never
//! change). At most [`ServeConfig::post_cache_mb`](crate::ServeConfig::post_cache_mb) of rows,
//! each at most [`ServeConfig::context_ttl_secs`](crate::ServeConfig::context_ttl_secs) old; a
//! replica that is not reading its log reads every row from the database.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::LogCache;
use crate::store::Store;
use crate::store::posts::PostRow;

/// The cache. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PostRows {
    cache: LogCache<i64, PostRow>,
}

fn weight(row: &PostRow) -> u32 {
    let bytes = 160 + row.text.len() + row.topics.len() + row.author_handle.len();
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl PostRows {
    /// A cache of at most `max_bytes`, rows living at most `ttl`.
    pub fn new(max_bytes: u64, ttl: Duration) -> Self {
        Self {
            cache: LogCache::new(max_bytes, ttl, weight),
        }
    }

    /// The live posts among `ids`, by id, from the cache and (in one read) the database.
    /// `trusted`: as for [`UserContexts::get`](crate::context::UserContexts::get).
    ///
    /// # Errors
    ///
    /// The database error of the read.
    pub async fn live(
        &self,
        store: &Store,
        ids: &[i64],
        trusted: bool,
    ) -> sqlx::Result<HashMap<i64, Arc<PostRow>>> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for &id in ids {
            match trusted {
                true => match self.cache.get(&id).await {
                    Some(row) => {
                        found.insert(id, row);
                    }
                    None => missing.push((id, self.cache.ticket(&id))),
                },
                false => missing.push((id, self.cache.ticket(&id))),
            }
        }
        metrics::counter!("social_live_post_rows_total", "result" => "hit")
            .increment(found.len() as u64);
        metrics::counter!("social_live_post_rows_total", "result" => "miss")
            .increment(missing.len() as u64);
        if missing.is_empty() {
            return Ok(found);
        }
        let wanted: Vec<i64> = missing.iter().map(|(id, _)| *id).collect();
        let mut rows = store.posts_by_ids(&wanted).await?;
        for (id, ticket) in missing {
            if let Some(row) = rows.remove(&id) {
                let row = Arc::new(row);
                if trusted {
                    self.cache.insert(id, Arc::clone(&row), ticket).await;
                }
                found.insert(id, row);
            }
        }
        Ok(found)
    }

    /// Drops `post`'s row.
    pub async fn invalidate(&self, post: i64) {
        self.cache.invalidate(&post).await;
    }

    /// Drops every row (after a reload from a snapshot).
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// How many rows are cached (approximate, for metrics).
    pub fn len(&self) -> u64 {
        self.cache.len()
    }

    /// Whether none is cached (approximate).
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}
