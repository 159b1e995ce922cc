//! What the engine is told about users and posts: [`UserContext`], the bounded per-request
//! facts about one user, and [`PostMeta`], a post as the catalog learns it.
//!
//! The database is the source of truth and the engine mirrors none of its per-user facts:
//! the caller fetches a user's context for every feed request (from its store, behind a cache
//! its change log invalidates), bounded by [`FeedConfig::context_interactions`](crate::FeedConfig::context_interactions) and
//! [`FeedConfig::context_seen`](crate::FeedConfig::context_seen). The engine builds its lookup sets from it once per request.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::ids::{PostId, UserId};

/// What a user did with a post.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InteractionKind {
    /// Opened or dwelt on the post.
    View,
    /// Liked it.
    Like,
    /// Commented on it.
    Comment,
    /// Shared it.
    Share,
}

/// One interaction of a user with a post.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// The post.
    pub post: PostId,
    /// What the user did.
    pub kind: InteractionKind,
    /// When, Unix seconds.
    pub at: i64,
}

/// What a feed request needs about its user, fetched by the caller per request (the API reads
/// it from its store behind a cache invalidated by its change log).
///
/// Bounded: the caller fetches at most [`FeedConfig::context_interactions`](crate::FeedConfig::context_interactions) interactions and
/// [`FeedConfig::context_seen`](crate::FeedConfig::context_seen) seen posts. The engine uses whatever it is given, however
/// long.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserContext {
    /// The authors the user follows, in any order.
    pub followees: Vec<UserId>,
    /// Authors never shown to this user (blocked, muted, or who blocked them).
    pub hidden: Vec<UserId>,
    /// The user's most recent likes, comments and views (newest first): the input of the
    /// fold-in of their vector, and never recommended to them again.
    pub interactions: Vec<Interaction>,
    /// The user's most recent impressions (a bounded window): never recommended again.
    pub seen: Vec<PostId>,
}

/// What the engine needs to know about a post.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostMeta {
    /// The post's id.
    pub id: PostId,
    /// Who wrote it.
    pub author: UserId,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Whether it was deleted (a tombstone).
    pub deleted: bool,
    /// Topic labels: the topics' mean item vector places a new post whose author has no
    /// known posts, and model items' topics make those means.
    pub topics: Vec<String>,
    /// The post's text, an input of the content encoder for posts the model has not seen
    /// (the catalog does not keep it).
    #[serde(default)]
    pub text: String,
}

/// A [`UserContext`] as one request looks things up in it, built once per request.
#[derive(Debug)]
pub(crate) struct UserFacts<'c> {
    pub followees: HashSet<UserId>,
    pub hidden: HashSet<UserId>,
    /// Posts the user interacted with or saw: never admitted.
    pub excluded: HashSet<PostId>,
    pub interactions: &'c [Interaction],
}

impl<'c> UserFacts<'c> {
    pub(crate) fn new(ctx: &'c UserContext) -> Self {
        let mut excluded = HashSet::with_capacity(ctx.interactions.len() + ctx.seen.len());
        excluded.extend(ctx.interactions.iter().map(|i| i.post));
        excluded.extend(ctx.seen.iter().copied());
        Self {
            followees: ctx.followees.iter().copied().collect(),
            hidden: ctx.hidden.iter().copied().collect(),
            excluded,
            interactions: &ctx.interactions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_the_contexts_sets() {
        let ctx = UserContext {
            followees: vec![UserId(1), UserId(2), UserId(1)],
            hidden: vec![UserId(3)],
            interactions: vec![Interaction {
                post: PostId(10),
                kind: InteractionKind::Like,
                at: 5,
            }],
            seen: vec![PostId(11), PostId(10)],
        };
        let facts = UserFacts::new(&ctx);
        assert_eq!(facts.followees, [UserId(1), UserId(2)].into());
        assert_eq!(facts.hidden, [UserId(3)].into());
        assert_eq!(facts.excluded, [PostId(10), PostId(11)].into());
        assert_eq!(facts.interactions.len(), 1);
    }
}
