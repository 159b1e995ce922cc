//! The admission filters every candidate passes, at list build time and again (for what can
//! change during a session) when a page is cut from a cached list.

use std::collections::HashSet;

use crate::ids::{PostId, UserId};
use crate::live::Tombstones;

/// Why a candidate was turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Deleted (an engine tombstone).
    Deleted,
    /// Written by a withheld author (a suspended or banned account).
    Withheld,
    /// Written by the user.
    Own,
    /// Written by an author the user blocked or muted.
    Hidden,
    /// The user interacted with it or saw it.
    Seen,
    /// Already served in this feed session.
    Served,
}

/// The filters of one request: every set is built once per request (the user's from their
/// [`UserContext`](crate::UserContext)), so a verdict is a few hash lookups.
pub(crate) struct Admission<'a> {
    pub user: UserId,
    pub hidden: &'a HashSet<UserId>,
    /// Posts the user interacted with or saw.
    pub excluded: &'a HashSet<PostId>,
    pub served: &'a HashSet<PostId>,
    pub tombstones: &'a Tombstones,
    /// The request's time (withheld authors are withheld until a time).
    pub now: i64,
}

impl Admission<'_> {
    /// The first filter that rejects `post` by `author`, if any.
    pub(crate) fn verdict(&self, post: PostId, author: UserId) -> Option<Rejection> {
        if self.tombstones.contains(post) {
            Some(Rejection::Deleted)
        } else if self.tombstones.withholds(author, self.now) {
            Some(Rejection::Withheld)
        } else if author == self.user {
            Some(Rejection::Own)
        } else if self.hidden.contains(&author) {
            Some(Rejection::Hidden)
        } else if self.served.contains(&post) {
            Some(Rejection::Served)
        } else if self.excluded.contains(&post) {
            Some(Rejection::Seen)
        } else {
            None
        }
    }

    pub(crate) fn admits(&self, post: PostId, author: UserId) -> bool {
        self.verdict(post, author).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Interaction, InteractionKind, UserContext, UserFacts};

    #[test]
    fn each_filter_rejects_what_it_should_and_only_that() {
        let (me, troll, x) = (UserId(1), UserId(2), UserId(3));
        let (seen, liked, gone, served, mine, p) = (
            PostId(10),
            PostId(11),
            PostId(12),
            PostId(13),
            PostId(14),
            PostId(15),
        );
        let ctx = UserContext {
            followees: vec![],
            hidden: vec![troll],
            interactions: vec![Interaction {
                post: liked,
                kind: InteractionKind::Like,
                at: 0,
            }],
            seen: vec![seen],
        };
        let facts = UserFacts::new(&ctx);
        let (suspended, released) = (UserId(4), UserId(5));
        let mut tombstones = Tombstones::default();
        tombstones.insert(gone);
        tombstones.withhold(suspended, 100);
        tombstones.withhold(released, 100);
        tombstones.release(released);
        let served_set: HashSet<PostId> = [served].into();
        let a = Admission {
            user: me,
            hidden: &facts.hidden,
            excluded: &facts.excluded,
            served: &served_set,
            tombstones: &tombstones,
            now: 99,
        };
        assert_eq!(a.verdict(gone, x), Some(Rejection::Deleted));
        assert_eq!(a.verdict(p, suspended), Some(Rejection::Withheld));
        assert_eq!(a.verdict(p, released), None);
        // A suspension ends at its time without a release.
        let later = Admission { now: 100, ..a };
        assert_eq!(later.verdict(p, suspended), None);
        assert_eq!(a.verdict(mine, me), Some(Rejection::Own));
        assert_eq!(a.verdict(p, troll), Some(Rejection::Hidden));
        assert_eq!(a.verdict(seen, x), Some(Rejection::Seen));
        assert_eq!(a.verdict(liked, x), Some(Rejection::Seen));
        assert_eq!(a.verdict(served, x), Some(Rejection::Served));
        assert_eq!(a.verdict(p, x), None);
        assert!(a.admits(p, x));
        // A list ranked at 99 is stale at 100, not at 99 or before the end.
        assert!(tombstones.ends_between(99, 100) && tombstones.ends_between(50, 200));
        assert!(!tombstones.ends_between(99, 99) && !tombstones.ends_between(100, 200));
        assert!(!tombstones.ends_between(10, 99));
        tombstones.withhold(suspended, i64::MAX);
        assert!(!tombstones.ends_between(0, i64::MAX - 1));
    }
}
