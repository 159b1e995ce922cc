//! Candidate generation: each source proposes posts up to its quota, every proposal passes the
//! same admission filters, and the proposals are merged by post with their reasons.
//!
//! Sources:
//! - [`similar`]: nearest neighbours of the user vector in the HNSW index, merged with an exact
//!   search of the buffer of new posts;
//! - [`followed`]: recent posts of followed authors;
//! - [`trending`]: time-decayed live engagement, then the model's popularity (cold start);
//! - [`fresh`]: the newest posts added since the model was trained (explore slot).
//!
//! Every source keeps fetching until its quota of *admissible* candidates is met or it runs
//! out, so filters never empty a page while posts remain.

pub(crate) mod followed;
pub(crate) mod fresh;
pub(crate) mod similar;
pub(crate) mod trending;

use std::collections::HashMap;

use ndarray::Array1;

use crate::config::FeedConfig;
use crate::feed::{Reason, SourceCounts};
use crate::filters::Admission;
use crate::graph::{PostId, SocialGraph, UserId};
use crate::live::{FreshBuffer, dot};
use crate::state::ModelState;

/// Everything a feed build needs to know about the request, gathered once.
pub(crate) struct Context<'a> {
    pub state: &'a ModelState,
    pub graph: &'a dyn SocialGraph,
    pub config: &'a FeedConfig,
    pub user_vector: Option<Array1<f32>>,
    pub followees: Vec<UserId>,
    /// Live trending scores, highest first.
    pub trending: Vec<(PostId, f32)>,
    /// The same scores by post.
    pub trending_by_post: HashMap<PostId, f32>,
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
}

impl Pool {
    pub(crate) fn into_candidates(self) -> Vec<Candidate> {
        self.candidates
    }

    /// Proposes `post` for `reason`. Returns whether it was admissible (new or already in).
    pub(crate) fn propose(&mut self, ctx: &Context<'_>, post: &str, reason: Reason) -> bool {
        if let Some(&i) = self.by_post.get(post) {
            let reasons = &mut self.candidates[i].reasons;
            if !reasons.contains(&reason) {
                reasons.push(reason);
                reasons.sort_unstable();
                self.count(reason);
            }
            return true;
        }
        let Some((author, created_at)) = locate(ctx.state, ctx.graph, post) else {
            return false;
        };
        if !ctx.admission.admits(post, &author) {
            return false;
        }
        let model = match &ctx.user_vector {
            Some(q) => vector_dot(ctx.state, post, q),
            None => 0.0,
        };
        let trending = ctx.trending_by_post.get(post).copied().unwrap_or(0.0);
        self.by_post.insert(post.to_owned(), self.candidates.len());
        self.candidates.push(Candidate {
            post: post.to_owned(),
            author,
            created_at,
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

/// Author and creation time of a live post: model items from the load-time metadata, new posts
/// from the fresh buffer, anything else from the graph (`None` if unknown or deleted there).
pub(crate) fn locate(
    state: &ModelState,
    graph: &dyn SocialGraph,
    post: &str,
) -> Option<(UserId, i64)> {
    if let Some(&i) = state.item_index.get(post) {
        return state.item_meta[i as usize]
            .as_ref()
            .map(|m| (m.author.clone(), m.created_at));
    }
    if let Some(p) = read_fresh(state).get(post) {
        return Some((p.author.clone(), p.created_at));
    }
    graph
        .post_meta(post)
        .filter(|m| !m.deleted)
        .map(|m| (m.author, m.created_at))
}

fn vector_dot(state: &ModelState, post: &str, q: &Array1<f32>) -> f32 {
    if let Some(&i) = state.item_index.get(post) {
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
