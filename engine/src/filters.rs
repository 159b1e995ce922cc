//! The admission filters every candidate passes, at list build time and again (for what can
//! change during a session) when a page is cut from a cached list.

use std::collections::HashSet;

use crate::cursor::id_hash;
use crate::graph::{PostId, SocialGraph, UserId};
use crate::live::Tombstones;

/// Why a candidate was turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Deleted (an engine tombstone).
    Deleted,
    /// Written by the user.
    Own,
    /// Written by an author the user blocked or muted.
    Hidden,
    /// The user interacted with it or saw it.
    Seen,
    /// Already served in this feed session.
    Served,
}

/// The filters of one request.
pub(crate) struct Admission<'a> {
    pub user: &'a str,
    pub graph: &'a dyn SocialGraph,
    pub hidden: &'a HashSet<UserId>,
    pub interacted: &'a HashSet<PostId>,
    pub served: &'a HashSet<u64>,
    pub tombstones: &'a Tombstones,
}

impl Admission<'_> {
    /// The first filter that rejects `post` by `author`, if any. The cheap in-memory checks
    /// run first; `has_seen` asks the graph last.
    pub(crate) fn verdict(&self, post: &str, author: &str) -> Option<Rejection> {
        if self.tombstones.contains(post) {
            Some(Rejection::Deleted)
        } else if author == self.user {
            Some(Rejection::Own)
        } else if self.hidden.contains(author) {
            Some(Rejection::Hidden)
        } else if self.served.contains(&id_hash(post)) {
            Some(Rejection::Served)
        } else if self.interacted.contains(post) || self.graph.has_seen(self.user, post) {
            Some(Rejection::Seen)
        } else {
            None
        }
    }

    pub(crate) fn admits(&self, post: &str, author: &str) -> bool {
        self.verdict(post, author).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{InMemoryGraph, InteractionKind};

    #[test]
    fn each_filter_rejects_what_it_should_and_only_that() {
        let graph = InMemoryGraph::new();
        graph.mark_seen("me", "seen-post");
        graph.interact("me", "liked-post", InteractionKind::Like);
        let mut tombstones = Tombstones::default();
        tombstones.insert("gone");
        let served: HashSet<u64> = [id_hash("served-post")].into();
        let a = Admission {
            user: "me",
            graph: &graph,
            hidden: &["troll".to_owned()].into(),
            interacted: &["liked-post".to_owned()].into(),
            served: &served,
            tombstones: &tombstones,
        };
        assert_eq!(a.verdict("gone", "x"), Some(Rejection::Deleted));
        assert_eq!(a.verdict("mine", "me"), Some(Rejection::Own));
        assert_eq!(a.verdict("p", "troll"), Some(Rejection::Hidden));
        assert_eq!(a.verdict("seen-post", "x"), Some(Rejection::Seen));
        assert_eq!(a.verdict("liked-post", "x"), Some(Rejection::Seen));
        assert_eq!(a.verdict("served-post", "x"), Some(Rejection::Served));
        assert_eq!(a.verdict("p", "x"), None);
        assert!(a.admits("p", "x"));
    }
}
