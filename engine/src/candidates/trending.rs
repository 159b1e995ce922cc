//! Trending posts (time-decayed engagement over a sliding window), topped up with the model's
//! most popular items, or without a model with the newest posts: the backbone of cold-start
//! feeds.

use super::{Context, Pool, read_fresh};
use crate::feed::Reason;
use crate::ids::PostId;

pub(crate) fn propose(ctx: &Context<'_>, pool: &mut Pool) {
    let quota = ctx.config.trending_quota;
    let mut taken = 0;
    for &(post, _) in &ctx.trending.snapshot.ranked {
        if taken == quota {
            return;
        }
        if pool.propose(ctx, post, Reason::Trending) {
            taken += 1;
        }
    }
    let state = ctx.state;
    if !state.has_model() {
        // No popularity to fall back on: the newest posts the engine knows, so that a feed is
        // never empty while posts exist.
        let newest: Vec<PostId> = read_fresh(state)
            .newest(quota - taken, |p| ctx.admission.admits(p.id, p.author))
            .into_iter()
            .map(|p| p.id)
            .collect();
        for post in newest {
            pool.propose(ctx, post, Reason::Fresh);
        }
        return;
    }
    for &item in &state.model.popular_order {
        if taken == quota {
            return;
        }
        if pool.propose(ctx, state.model.item_ids[item as usize], Reason::Popular) {
            taken += 1;
        }
    }
}
