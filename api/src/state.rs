//! The state every handler shares.

use std::path::PathBuf;
use std::sync::Arc;

use engine::{Engine, UserContext, UserId};

use crate::auth::jwt::Keys;
use crate::auth::ratelimit::Limiter;
use crate::changes::ChangeFeed;
use crate::config::ServeConfig;
use crate::context::UserContexts;
use crate::cpu::CpuPool;
use crate::error::ApiError;
use crate::store::Store;
use crate::store::changes::Position;

/// The engine as the API runs it.
pub type FeedEngine = Engine;

/// Shared state: cheap to clone (everything is behind an `Arc` or is a pool handle).
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub engine: Arc<FeedEngine>,
    /// Per-request user facts, cached and invalidated by the change log.
    pub contexts: UserContexts,
    /// Post rows of feed and trending pages, cached and invalidated by the change log.
    pub post_rows: crate::post_rows::PostRows,
    /// Sessions and roles of accounts, cached and invalidated by the change log.
    pub principals: crate::principals::Principals,
    /// This replica's consumer of the change log.
    pub changes: ChangeFeed,
    pub keys: Arc<Keys>,
    pub limiter: Limiter,
    /// The rate limits of every route (`limits.rs`).
    pub routes: crate::limits::RouteLimiter,
    /// Where CPU-heavy work runs, bounded (see [`crate::cpu`]).
    pub cpu: CpuPool,
    pub config: Arc<ServeConfig>,
    /// Where published models are looked for.
    pub models_dir: PathBuf,
}

impl AppState {
    /// `user`'s context (cached).
    ///
    /// # Errors
    ///
    /// The database error of a read.
    pub async fn context(&self, user: i64) -> Result<Arc<UserContext>, ApiError> {
        let trusted = self.changes.is_current();
        Ok(self
            .contexts
            .get(&self.store, UserId(user), trusted)
            .await?)
    }

    /// The live posts among `ids`, by id (cached rows).
    ///
    /// # Errors
    ///
    /// The database error of a read.
    pub async fn live_posts(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Arc<crate::store::posts::PostRow>>, ApiError> {
        let trusted = self.changes.is_current();
        Ok(self.post_rows.live(&self.store, ids, trusted).await?)
    }

    /// `viewer`'s muted words (cached); none for an anonymous request.
    ///
    /// # Errors
    ///
    /// The database error of a read.
    pub async fn muted(
        &self,
        viewer: Option<&crate::auth::extract::AuthUser>,
    ) -> Result<Arc<crate::muted::MutedWords>, ApiError> {
        let Some(user) = viewer else {
            return Ok(Arc::default());
        };
        let trusted = self.changes.is_current();
        Ok(self
            .contexts
            .muted(&self.store, UserId(user.id), trusted)
            .await?)
    }

    /// The authors whose posts `viewer` must not see (blocked, muted, or who blocked them);
    /// empty for an anonymous request.
    ///
    /// # Errors
    ///
    /// The database error of a context read.
    pub async fn hidden_from(
        &self,
        viewer: Option<&crate::auth::extract::AuthUser>,
    ) -> Result<std::collections::HashSet<UserId>, ApiError> {
        Ok(match viewer {
            Some(user) => self
                .context(user.id)
                .await?
                .hidden
                .iter()
                .copied()
                .collect(),
            None => std::collections::HashSet::new(),
        })
    }

    /// Whether `author`'s posts are withheld now (a suspended or banned account): they leave
    /// every list, as the engine leaves them out of feeds and trending.
    pub fn withheld(&self, author: i64) -> bool {
        self.engine.withholds(UserId(author), crate::store::now())
    }

    /// Waits until this replica applied the change at `position` (a write it just committed),
    /// so the writer's next request here sees it; logs when that takes longer than
    /// [`ServeConfig::read_your_writes_ms`]. `None` (nothing changed) returns at once.
    pub async fn applied(&self, position: Option<Position>) {
        let Some(position) = position else {
            return;
        };
        if !self
            .changes
            .caught_up(position, self.config.read_your_writes())
            .await
        {
            metrics::counter!("social_live_read_your_writes_timeouts_total").increment(1);
            tracing::warn!(
                position,
                applied = self.changes.position(),
                "a committed write is not applied on this replica yet"
            );
        }
    }
}
