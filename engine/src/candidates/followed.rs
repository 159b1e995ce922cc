//! Recent posts of the authors the user follows, newest first across authors.
//!
//! Each author's posts come newest first from the catalog's per-author index, so the lists are
//! merged with a heap: only the posts that are proposed or rejected, plus one head per author,
//! are located, not every recent post of every followee.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Context, Located, Pool, locate};
use crate::feed::Reason;
use crate::ids::PostId;

/// The next post of one author's list, ordered newest first, then by id.
struct Head {
    created_at: i64,
    post: PostId,
    found: Located,
    list: usize,
}

impl Head {
    fn key(&self) -> (i64, Reverse<PostId>) {
        (self.created_at, Reverse(self.post))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

pub(crate) fn propose(ctx: &Context<'_>, pool: &mut Pool) {
    let quota = ctx.config.followed_quota;
    if quota == 0 {
        return;
    }
    let per_author = ctx.config.followed_per_author;
    let mut lists: Vec<_> = ctx
        .followees
        .iter()
        .filter(|author| !ctx.admission.hidden.contains(author))
        .map(|&author| ctx.catalog.recent(author, per_author))
        .collect();
    let next = |lists: &mut [_], list: usize| next_head(ctx, lists, list);
    let mut heap: BinaryHeap<Head> = (0..lists.len())
        .filter_map(|list| next(&mut lists, list))
        .collect();
    let mut taken = 0;
    while taken < quota
        && let Some(head) = heap.pop()
    {
        if let Some(following) = next(&mut lists, head.list) {
            heap.push(following);
        }
        if pool.propose_located(ctx, head.post, head.found, Reason::Followed, false) {
            taken += 1;
        }
    }
}

/// The next post of `lists[list]` that the engine can locate.
fn next_head(
    ctx: &Context<'_>,
    lists: &mut [impl Iterator<Item = PostId>],
    list: usize,
) -> Option<Head> {
    lists[list].find_map(|post| {
        let found = locate(ctx.state, ctx.catalog, post)?;
        Some(Head {
            created_at: found.created_at,
            post,
            found,
            list,
        })
    })
}
