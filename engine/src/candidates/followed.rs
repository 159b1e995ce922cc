//! Recent posts of the authors the user follows, newest first across authors.

use super::{Context, Pool, locate};
use crate::feed::Reason;

pub(crate) fn propose(ctx: &Context<'_>, pool: &mut Pool) {
    let quota = ctx.config.followed_quota;
    if quota == 0 {
        return;
    }
    let mut posts: Vec<(i64, String)> = Vec::new();
    for author in &ctx.followees {
        if ctx.admission.hidden.contains(author) {
            continue;
        }
        for post in ctx
            .graph
            .recent_posts(author, ctx.config.followed_per_author)
        {
            if let Some((_, created_at)) = locate(ctx.state, ctx.graph, &post) {
                posts.push((created_at, post));
            }
        }
    }
    posts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut taken = 0;
    for (_, post) in posts {
        if taken == quota {
            break;
        }
        if pool.propose(ctx, &post, Reason::Followed) {
            taken += 1;
        }
    }
}
