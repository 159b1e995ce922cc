//! Recent posts of the authors the user follows, newest first across authors.
//!
//! Each author's posts come newest first from the graph, so the lists are merged with a heap:
//! only the posts that are proposed or rejected, plus one head per author, are located, not
//! every recent post of every followee.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Context, Located, Pool, locate};
use crate::feed::Reason;

/// The next post of one author's list, ordered newest first, then by id.
struct Head<'a> {
    created_at: i64,
    post: String,
    found: Located<'a>,
    list: usize,
}

impl Head<'_> {
    fn key(&self) -> (i64, Reverse<&str>) {
        (self.created_at, Reverse(self.post.as_str()))
    }
}

impl PartialEq for Head<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Head<'_> {}

impl PartialOrd for Head<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

pub(crate) fn propose<'a>(ctx: &Context<'a>, pool: &mut Pool) {
    let quota = ctx.config.followed_quota;
    if quota == 0 {
        return;
    }
    let mut lists: Vec<std::vec::IntoIter<String>> = Vec::new();
    for author in &ctx.followees {
        if ctx.admission.hidden.contains(author) {
            continue;
        }
        let posts = ctx
            .graph
            .recent_posts(author, ctx.config.followed_per_author);
        if !posts.is_empty() {
            lists.push(posts.into_iter());
        }
    }
    // The next post of `list` that the engine can locate.
    let next = |lists: &mut Vec<std::vec::IntoIter<String>>, list: usize| -> Option<Head<'a>> {
        lists[list].find_map(|post| {
            let found = locate(ctx.state, ctx.graph, &post)?;
            Some(Head {
                created_at: found.created_at,
                post,
                found,
                list,
            })
        })
    };
    let mut heap: BinaryHeap<Head<'a>> = (0..lists.len())
        .filter_map(|list| next(&mut lists, list))
        .collect();
    let mut taken = 0;
    while taken < quota
        && let Some(head) = heap.pop()
    {
        if let Some(following) = next(&mut lists, head.list) {
            heap.push(following);
        }
        if pool.propose_located(ctx, &head.post, head.found, Reason::Followed, false) {
            taken += 1;
        }
    }
}
