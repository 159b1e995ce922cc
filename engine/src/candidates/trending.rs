//! Trending posts (time-decayed engagement over a sliding window), topped up with the model's
//! most popular items: the backbone of cold-start feeds.

use super::{Context, Pool};
use crate::feed::Reason;

pub(crate) fn propose(ctx: &Context<'_>, pool: &mut Pool) {
    let quota = ctx.config.trending_quota;
    let mut taken = 0;
    for (post, _) in &ctx.trending {
        if taken == quota {
            return;
        }
        if pool.propose(ctx, post, Reason::Trending) {
            taken += 1;
        }
    }
    let state = ctx.state;
    for &item in &state.popular_order {
        if taken == quota {
            return;
        }
        if pool.propose(ctx, &state.item_ids[item as usize], Reason::Popular) {
            taken += 1;
        }
    }
}
