//! Candidate generation: each source proposes posts up to its quota, every proposal passes the
//! same admission filters, and the proposals are merged by post with their reasons.
//!
//! Sources:
//! - [`similar`]: nearest neighbours of the user vector in the HNSW index, merged with an exact
//!   search of the buffer of new posts;
//! - [`followed`]: recent posts of followed authors;
//! - [`trending`]: time-decayed live engagement, then the model's popularity (cold start), or
//!   without a model the newest posts;
//! - [`fresh`]: the newest posts added since the model was trained (explore slot).
//!
//! Every source keeps fetching until its quota of *admissible* candidates is met or it runs
//! out, so filters never empty a page while posts remain.

pub(crate) mod followed;
pub(crate) mod fresh;
pub(crate) mod similar;
pub(crate) mod trending;

use std::collections::{HashMap, HashSet};

use ndarray::Array1;

use crate::catalog::Catalog;
use crate::config::FeedConfig;
use crate::context::Interaction;
use crate::feed::{Reason, SourceCounts};
use crate::filters::Admission;
use crate::ids::{PostId, UserId};
use crate::live::{FreshBuffer, dot};
use crate::state::ModelState;
use crate::trending::TrendingView;

/// Everything a feed build needs to know about the request, gathered once.
pub(crate) struct Context<'a> {
    pub state: &'a ModelState,
    pub catalog: &'a Catalog,
    pub config: &'a FeedConfig,
    pub user_vector: Option<Array1<f32>>,
    pub followees: &'a HashSet<UserId>,
    /// The user's interactions (from their context): the index excludes their posts.
    pub interactions: &'a [Interaction],
    /// The highest trending posts (shared by the requests of one refresh period) and live
    /// trending scores at the request's time.
    pub trending: TrendingView<'a>,
    pub admission: Admission<'a>,
    /// Interactions of the user per author (author affinity).
    pub author_interactions: HashMap<UserId, usize>,
}

/// A merged candidate.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub post: PostId,
    pub author: UserId,
    pub created_at: i64,
    /// Dot product of the user and post vectors (0 without either).
    pub model: f32,
    /// Live decayed engagement (0 when not trending).
    pub trending: f32,
    pub reasons: Vec<Reason>,
}

/// Candidates merged by post, in first-proposed order.
#[derive(Default)]
pub(crate) struct Pool {
    candidates: Vec<Candidate>,
    by_post: HashMap<PostId, usize>,
    pub counts: SourceCounts,
    /// The lowest model score the nearest-neighbour source proposed when it filled its quota
    /// (`None` when it did not, so any post with a vector would have been proposed; infinite
    /// when its quota is 0): what a post added later must reach to count as similar.
    pub similar_floor: Option<f32>,
}

impl Pool {
    pub(crate) fn into_candidates(self) -> Vec<Candidate> {
        self.candidates
    }

    /// Proposes `post` for `reason`. Returns whether it was admissible (new or already in).
    pub(crate) fn propose(&mut self, ctx: &Context<'_>, post: PostId, reason: Reason) -> bool {
        if self.merge(post, reason) {
            return true;
        }
        match locate(ctx.state, ctx.catalog, post) {
            Some(found) => self.insert(ctx, post, found, reason, false),
            None => false,
        }
    }

    /// [`propose`](Self::propose) for a post the source already located (and, if `admitted`,
    /// passed through the admission filters).
    pub(crate) fn propose_located(
        &mut self,
        ctx: &Context<'_>,
        post: PostId,
        found: Located,
        reason: Reason,
        admitted: bool,
    ) -> bool {
        self.merge(post, reason) || self.insert(ctx, post, found, reason, admitted)
    }

    /// Adds `reason` to `post` if it is in the pool already; returns whether it was.
    fn merge(&mut self, post: PostId, reason: Reason) -> bool {
        let Some(&i) = self.by_post.get(&post) else {
            return false;
        };
        let reasons = &mut self.candidates[i].reasons;
        if !reasons.contains(&reason) {
            reasons.push(reason);
            reasons.sort_unstable();
            self.count(reason);
        }
        true
    }

    fn insert(
        &mut self,
        ctx: &Context<'_>,
        post: PostId,
        found: Located,
        reason: Reason,
        admitted: bool,
    ) -> bool {
        if !admitted && !ctx.admission.admits(post, found.author) {
            return false;
        }
        let model = match &ctx.user_vector {
            Some(q) => vector_dot(ctx.state, found.item, post, q),
            None => 0.0,
        };
        let trending = ctx.trending.score(post);
        self.by_post.insert(post, self.candidates.len());
        self.candidates.push(Candidate {
            post,
            author: found.author,
            created_at: found.created_at,
            model,
            trending,
            reasons: vec![reason],
        });
        self.count(reason);
        true
    }

    fn count(&mut self, reason: Reason) {
        let c = &mut self.counts;
        match reason {
            Reason::Similar => c.similar += 1,
            Reason::Followed => c.followed += 1,
            Reason::Trending => c.trending += 1,
            Reason::Popular => c.popular += 1,
            Reason::Fresh => c.fresh += 1,
        }
    }
}

/// Where a live post was found, with its author and creation time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Located {
    pub author: UserId,
    pub created_at: i64,
    /// The model item, `None` for a post the model does not know.
    pub item: Option<u32>,
}

/// Author and creation time of a live post: model items from the metadata read when the
/// state was built, new posts from the fresh buffer, anything else from the catalog (`None`
/// if the engine knows no live post by that id). Tombstones are not checked here.
pub(crate) fn locate(state: &ModelState, catalog: &Catalog, post: PostId) -> Option<Located> {
    if let Some(i) = state.item(post) {
        return item_located(state, catalog, i);
    }
    if let Some(p) = read_fresh(state).get(post) {
        return Some(Located {
            author: p.author,
            created_at: p.created_at,
            item: None,
        });
    }
    catalog.get(post).map(|p| Located {
        author: p.author,
        created_at: p.created_at,
        item: None,
    })
}

/// [`locate`] for a model item known by index: its metadata, else (a post the catalog did
/// not hold when the state was built) the catalog's.
pub(crate) fn item_located(state: &ModelState, catalog: &Catalog, item: u32) -> Option<Located> {
    let (author, created_at) = match &state.item_meta[item as usize] {
        Some(m) => (m.author, m.created_at),
        None => {
            let id = state.model.item_ids[item as usize];
            // Unnamed items (raw ids that are not integers) are in no map.
            state.item(id)?;
            let p = catalog.get(id)?;
            (p.author, p.created_at)
        }
    };
    Some(Located {
        author,
        created_at,
        item: Some(item),
    })
}

fn vector_dot(state: &ModelState, item: Option<u32>, post: PostId, q: &Array1<f32>) -> f32 {
    if let Some(i) = item {
        return q.dot(&state.items().row(i as usize));
    }
    let q = q.as_slice().expect("owned vectors are contiguous");
    read_fresh(state).vector(post).map_or(0.0, |v| dot(q, v))
}

pub(crate) fn read_fresh(state: &ModelState) -> std::sync::RwLockReadGuard<'_, FreshBuffer> {
    state.fresh.read().unwrap_or_else(|e| e.into_inner())
}

/// Runs every source and merges their proposals.
pub(crate) fn gather(ctx: &Context<'_>) -> Pool {
    let mut pool = Pool::default();
    similar::propose(ctx, &mut pool);
    followed::propose(ctx, &mut pool);
    trending::propose(ctx, &mut pool);
    fresh::propose(ctx, &mut pool);
    pool
}
