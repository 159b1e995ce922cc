//! The explore slot: the newest posts added since the model was trained, so that new posts get
//! a chance before any model has seen them.

use super::{Context, Pool, read_fresh};
use crate::feed::Reason;
use crate::ids::PostId;
use crate::live::{FreshPost, dot};

pub(crate) fn propose(ctx: &Context<'_>, pool: &mut Pool) {
    let quota = ctx.config.fresh_quota;
    if quota == 0 {
        return;
    }
    let newest: Vec<PostId> = read_fresh(ctx.state)
        .newest(quota, |p| ctx.admission.admits(p.id, p.author))
        .into_iter()
        .map(|p| p.id)
        .collect();
    for post in newest {
        pool.propose(ctx, post, Reason::Fresh);
    }
}

/// The candidates among posts added after a ranked list was built, with the reasons a rebuild
/// would give them: "new" for every admissible one (the caller then re-cuts the explore slot
/// over the whole list to the newest [`fresh_quota`](crate::FeedConfig::fresh_quota), which
/// the added posts lead, being newer than anything the list holds), "from someone you follow"
/// for posts of followed authors, "similar" for posts whose model score reaches
/// `similar_floor` (the lowest the list's nearest-neighbour source took, see
/// [`Pool::similar_floor`]). The similar source's quota is not re-cut, so a merged list may keep
/// a few more similar posts than a new ranking (those the new ones outscored), which only
/// lengthens the list.
pub(crate) fn propose_added(
    ctx: &Context<'_>,
    pool: &mut Pool,
    added: &[FreshPost],
    similar_floor: Option<f32>,
) {
    let query = ctx
        .user_vector
        .as_ref()
        .map(|q| q.as_slice().expect("owned vectors are contiguous"));
    for p in added {
        // Admission runs once, here: a rejected post is not in the pool.
        if !pool.propose(ctx, p.id, Reason::Fresh) {
            continue;
        }
        if ctx.followees.contains(&p.author) {
            pool.propose(ctx, p.id, Reason::Followed);
        }
        let similar = match (query, p.vector.as_deref()) {
            (Some(q), Some(v)) => similar_floor.is_none_or(|floor| dot(q, v) >= floor),
            _ => false,
        };
        if similar {
            pool.propose(ctx, p.id, Reason::Similar);
        }
    }
}
