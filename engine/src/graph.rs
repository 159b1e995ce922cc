//! The social facts the engine reads: [`SocialGraph`], and [`InMemoryGraph`] for tests and demos.
//!
//! The engine knows nothing of SQL or Redis: the API layer implements [`SocialGraph`] over its
//! store. The graph is the source of truth; the engine's `record_interaction`, `add_post` and
//! `delete_post` tell it that something changed so that it can update its own state at once.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

/// A user id (the raw ids of the model artifact).
pub type UserId = String;
/// A post id (the raw item ids of the model artifact).
pub type PostId = String;

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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// The post.
    pub post: PostId,
    /// What the user did.
    pub kind: InteractionKind,
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
    /// Topic labels, used for the vector of a new post whose author has no known posts.
    pub topics: Vec<String>,
    /// The post's text, an input of the content encoder for posts the model has not seen.
    #[serde(default)]
    pub text: String,
}

/// The social facts the engine reads, implemented by the API layer over its store.
///
/// Calls must be cheap (an in-memory or cached lookup): feed assembly makes a few per request.
pub trait SocialGraph: Send + Sync {
    /// The users `user` follows.
    fn followees(&self, user: &str) -> Vec<UserId>;
    /// The authors `user` blocked or muted: their posts never appear in `user`'s feed.
    fn hidden_authors(&self, user: &str) -> Vec<UserId>;
    /// Whether `user` has already seen `post` (shown and viewed, whatever the engine served).
    fn has_seen(&self, user: &str, post: &str) -> bool;
    /// Every interaction of `user`, including any just passed to `record_interaction`. Its posts
    /// are never recommended to `user` again, and they are the input of the ALS fold-in.
    fn interactions(&self, user: &str) -> Vec<Interaction>;
    /// A post's metadata, `None` if it does not exist.
    fn post_meta(&self, post: &str) -> Option<PostMeta>;
    /// The newest posts of `author` (newest first, at most `limit`), deleted ones excluded.
    fn recent_posts(&self, author: &str, limit: usize) -> Vec<PostId>;
}

impl<T: SocialGraph + ?Sized> SocialGraph for std::sync::Arc<T> {
    fn followees(&self, user: &str) -> Vec<UserId> {
        (**self).followees(user)
    }
    fn hidden_authors(&self, user: &str) -> Vec<UserId> {
        (**self).hidden_authors(user)
    }
    fn has_seen(&self, user: &str, post: &str) -> bool {
        (**self).has_seen(user, post)
    }
    fn interactions(&self, user: &str) -> Vec<Interaction> {
        (**self).interactions(user)
    }
    fn post_meta(&self, post: &str) -> Option<PostMeta> {
        (**self).post_meta(post)
    }
    fn recent_posts(&self, author: &str, limit: usize) -> Vec<PostId> {
        (**self).recent_posts(author, limit)
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Followees of each user (a set: following and unfollowing are O(1)).
    follows: HashMap<UserId, HashSet<UserId>>,
    /// Number of followers of each author, kept in step with `follows`.
    followers: HashMap<UserId, usize>,
    hidden: HashMap<UserId, HashSet<UserId>>,
    seen: HashMap<UserId, HashSet<PostId>>,
    interactions: HashMap<UserId, Vec<Interaction>>,
    posts: HashMap<PostId, PostMeta>,
    /// Live (not deleted) posts of each author, newest first, ties by id: `recent_posts` reads
    /// the first `limit` entries.
    by_author: HashMap<UserId, BTreeSet<(Reverse<i64>, PostId)>>,
}

impl Inner {
    fn unindex(&mut self, meta: &PostMeta) {
        if let Some(posts) = self.by_author.get_mut(&meta.author) {
            posts.remove(&(Reverse(meta.created_at), meta.id.clone()));
            if posts.is_empty() {
                self.by_author.remove(&meta.author);
            }
        }
    }
}

/// A [`SocialGraph`] in memory: for tests, demos and benchmarks, and the API's in-process mirror
/// of its store.
///
/// Every method takes `&self` (one `RwLock` inside). Costs: following, unfollowing, hiding and
/// marking seen are O(1); adding, replacing and deleting a post O(log p) in the author's post
/// count; [`recent_posts`](SocialGraph::recent_posts) O(limit) through an index of each
/// author's live posts, newest first; [`followees`](SocialGraph::followees) O(f log f) (it
/// returns them sorted by id); removing an interaction is linear in the user's interactions.
#[derive(Debug, Default)]
pub struct InMemoryGraph {
    inner: RwLock<Inner>,
}

impl InMemoryGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a post, or replaces the post with the same id (its author index entry moves with
    /// it). A post added with `deleted: true` is stored but never listed by `recent_posts`.
    pub fn add_post(&self, meta: PostMeta) {
        let mut inner = self.write();
        if let Some(old) = inner.posts.remove(&meta.id) {
            inner.unindex(&old);
        }
        if !meta.deleted {
            inner
                .by_author
                .entry(meta.author.clone())
                .or_default()
                .insert((Reverse(meta.created_at), meta.id.clone()));
        }
        inner.posts.insert(meta.id.clone(), meta);
    }

    /// Marks a post deleted (no-op for an unknown post): `post_meta` still answers, with
    /// `deleted: true`, and `recent_posts` no longer lists it.
    pub fn delete_post(&self, post: &str) {
        let mut inner = self.write();
        let Some(meta) = inner.posts.get_mut(post) else {
            return;
        };
        if meta.deleted {
            return;
        }
        meta.deleted = true;
        let meta = meta.clone();
        inner.unindex(&meta);
    }

    /// `user` follows `author` (no-op if they already do).
    pub fn follow(&self, user: &str, author: &str) {
        let mut inner = self.write();
        let added = inner
            .follows
            .entry(user.to_owned())
            .or_default()
            .insert(author.to_owned());
        if added {
            *inner.followers.entry(author.to_owned()).or_default() += 1;
        }
    }

    /// `user` no longer follows `author` (no-op if they did not).
    pub fn unfollow(&self, user: &str, author: &str) {
        let mut inner = self.write();
        let Some(followees) = inner.follows.get_mut(user) else {
            return;
        };
        if !followees.remove(author) {
            return;
        }
        if followees.is_empty() {
            inner.follows.remove(user);
        }
        if let Some(n) = inner.followers.get_mut(author) {
            *n -= 1;
            if *n == 0 {
                inner.followers.remove(author);
            }
        }
    }

    /// How many users follow `author`. O(1).
    pub fn followers_count(&self, author: &str) -> usize {
        self.read().followers.get(author).copied().unwrap_or(0)
    }

    /// How many authors `user` follows. O(1).
    pub fn followees_count(&self, user: &str) -> usize {
        self.read().follows.get(user).map_or(0, HashSet::len)
    }

    /// Whether `user` follows `author`. O(1).
    pub fn follows(&self, user: &str, author: &str) -> bool {
        self.read()
            .follows
            .get(user)
            .is_some_and(|f| f.contains(author))
    }

    /// `user` blocks or mutes `author`.
    pub fn hide(&self, user: &str, author: &str) {
        self.write()
            .hidden
            .entry(user.to_owned())
            .or_default()
            .insert(author.to_owned());
    }

    /// `user` unblocks or unmutes `author` (no-op if they had not hidden them).
    pub fn unhide(&self, user: &str, author: &str) {
        let mut inner = self.write();
        if let Some(hidden) = inner.hidden.get_mut(user) {
            hidden.remove(author);
            if hidden.is_empty() {
                inner.hidden.remove(user);
            }
        }
    }

    /// `user` has seen `post`.
    pub fn mark_seen(&self, user: &str, post: &str) {
        self.write()
            .seen
            .entry(user.to_owned())
            .or_default()
            .insert(post.to_owned());
    }

    /// Records an interaction (it also counts as seen).
    pub fn interact(&self, user: &str, post: &str, kind: InteractionKind) {
        let mut inner = self.write();
        inner
            .interactions
            .entry(user.to_owned())
            .or_default()
            .push(Interaction {
                post: post.to_owned(),
                kind,
            });
        inner
            .seen
            .entry(user.to_owned())
            .or_default()
            .insert(post.to_owned());
    }

    /// Removes one interaction of `user` with `post` of `kind` (the most recent one, if there
    /// are several), as for an unlike; returns whether there was one. The post stays seen.
    /// Tell the engine with [`Engine::refresh_user`](crate::Engine::refresh_user).
    pub fn remove_interaction(&self, user: &str, post: &str, kind: InteractionKind) -> bool {
        let mut inner = self.write();
        let Some(list) = inner.interactions.get_mut(user) else {
            return false;
        };
        let Some(i) = list.iter().rposition(|x| x.post == post && x.kind == kind) else {
            return false;
        };
        list.remove(i);
        if list.is_empty() {
            inner.interactions.remove(user);
        }
        true
    }
}

impl SocialGraph for InMemoryGraph {
    /// The followees of `user`, sorted by id (the graph keeps them in a set).
    fn followees(&self, user: &str) -> Vec<UserId> {
        let mut followees: Vec<UserId> = self
            .read()
            .follows
            .get(user)
            .map(|f| f.iter().cloned().collect())
            .unwrap_or_default();
        followees.sort_unstable();
        followees
    }

    fn hidden_authors(&self, user: &str) -> Vec<UserId> {
        let inner = self.read();
        let mut hidden: Vec<UserId> = inner
            .hidden
            .get(user)
            .map(|h| h.iter().cloned().collect())
            .unwrap_or_default();
        hidden.sort_unstable();
        hidden
    }

    fn has_seen(&self, user: &str, post: &str) -> bool {
        self.read().seen.get(user).is_some_and(|s| s.contains(post))
    }

    fn interactions(&self, user: &str) -> Vec<Interaction> {
        self.read()
            .interactions
            .get(user)
            .cloned()
            .unwrap_or_default()
    }

    fn post_meta(&self, post: &str) -> Option<PostMeta> {
        self.read().posts.get(post).cloned()
    }

    /// Newest first, ties by id, deleted posts excluded; O(limit).
    fn recent_posts(&self, author: &str, limit: usize) -> Vec<PostId> {
        self.read()
            .by_author
            .get(author)
            .map_or_else(Vec::new, |posts| {
                posts.iter().take(limit).map(|(_, id)| id.clone()).collect()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn post(id: &str, author: &str, at: i64) -> PostMeta {
        PostMeta {
            id: id.into(),
            author: author.into(),
            created_at: at,
            deleted: false,
            topics: vec![],
            text: String::new(),
        }
    }

    #[test]
    fn recent_posts_are_newest_first_without_deleted() {
        let g = InMemoryGraph::new();
        g.add_post(post("a", "x", 1));
        g.add_post(post("b", "x", 3));
        g.add_post(post("c", "x", 2));
        g.add_post(post("d", "y", 9));
        g.add_post(post("e", "x", 3));
        g.delete_post("c");
        assert_eq!(g.recent_posts("x", 10), vec!["b", "e", "a"]);
        assert_eq!(g.recent_posts("x", 1), vec!["b"]);
        assert_eq!(g.recent_posts("x", 0), Vec::<String>::new());
        assert_eq!(g.recent_posts("nobody", 5), Vec::<String>::new());
        // A deleted post keeps its metadata, marked deleted.
        assert!(g.post_meta("c").unwrap().deleted);
        g.delete_post("c");
        g.delete_post("unknown");
        assert_eq!(g.recent_posts("x", 10), vec!["b", "e", "a"]);
    }

    #[test]
    fn adding_an_existing_post_replaces_it_and_its_index_entry() {
        let g = InMemoryGraph::new();
        g.add_post(post("a", "x", 1));
        g.add_post(post("b", "x", 2));
        // Edited: newer, and moved to another author.
        g.add_post(post("a", "y", 5));
        assert_eq!(g.recent_posts("x", 10), vec!["b"]);
        assert_eq!(g.recent_posts("y", 10), vec!["a"]);
        assert_eq!(g.post_meta("a").unwrap().created_at, 5);
        // Replaced by a deleted version: out of the index.
        g.add_post(PostMeta {
            deleted: true,
            ..post("b", "x", 2)
        });
        assert_eq!(g.recent_posts("x", 10), Vec::<String>::new());
        // Undeleted by a replacement.
        g.add_post(post("b", "x", 2));
        assert_eq!(g.recent_posts("x", 10), vec!["b"]);
    }

    /// The author index against a scan of every post, over random adds, replacements and
    /// deletions.
    #[test]
    fn recent_posts_equal_a_full_scan() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let g = InMemoryGraph::new();
        let mut all: HashMap<String, PostMeta> = HashMap::new();
        for _ in 0..2_000 {
            let id = format!("p{}", rng.random_range(0..300));
            if rng.random_bool(0.2) {
                g.delete_post(&id);
                if let Some(m) = all.get_mut(&id) {
                    m.deleted = true;
                }
            } else {
                let meta = post(
                    &id,
                    &format!("a{}", rng.random_range(0..7)),
                    rng.random_range(0..50),
                );
                g.add_post(meta.clone());
                all.insert(id, meta);
            }
        }
        for a in 0..8 {
            let author = format!("a{a}");
            let mut want: Vec<&PostMeta> = all
                .values()
                .filter(|p| p.author == author && !p.deleted)
                .collect();
            want.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
            for limit in [0, 1, 5, 1000] {
                let want: Vec<String> = want.iter().take(limit).map(|p| p.id.clone()).collect();
                assert_eq!(g.recent_posts(&author, limit), want, "{author} {limit}");
            }
        }
    }

    #[test]
    fn interactions_count_as_seen() {
        let g = InMemoryGraph::new();
        g.interact("u", "p", InteractionKind::Like);
        assert!(g.has_seen("u", "p"));
        assert!(!g.has_seen("u", "q"));
        assert_eq!(g.interactions("u").len(), 1);
    }

    #[test]
    fn follow_and_unfollow_keep_the_counts() {
        let g = InMemoryGraph::new();
        g.follow("u", "x");
        g.follow("u", "x");
        g.follow("u", "b");
        g.follow("v", "x");
        // Sorted by id, whatever the order of following.
        assert_eq!(g.followees("u"), vec!["b", "x"]);
        assert!(g.follows("u", "x"));
        assert_eq!(g.followers_count("x"), 2);
        assert_eq!(g.followees_count("u"), 2);
        g.unfollow("u", "x");
        g.unfollow("u", "x");
        g.unfollow("u", "never-followed");
        g.unfollow("nobody", "x");
        assert_eq!(g.followees("u"), vec!["b"]);
        assert!(!g.follows("u", "x"));
        assert_eq!(g.followers_count("x"), 1);
        assert_eq!(g.followees_count("u"), 1);
        g.unfollow("v", "x");
        assert_eq!(g.followers_count("x"), 0);
        assert_eq!(g.followees("v"), Vec::<String>::new());
    }

    #[test]
    fn unhide_restores_an_author() {
        let g = InMemoryGraph::new();
        g.hide("u", "troll");
        g.hide("u", "spam");
        assert_eq!(g.hidden_authors("u"), vec!["spam", "troll"]);
        g.unhide("u", "troll");
        g.unhide("u", "troll");
        g.unhide("nobody", "troll");
        assert_eq!(g.hidden_authors("u"), vec!["spam"]);
        g.unhide("u", "spam");
        assert_eq!(g.hidden_authors("u"), Vec::<String>::new());
    }

    #[test]
    fn remove_interaction_removes_one_match_and_keeps_the_post_seen() {
        let g = InMemoryGraph::new();
        g.interact("u", "p", InteractionKind::Like);
        g.interact("u", "p", InteractionKind::View);
        g.interact("u", "p", InteractionKind::Like);
        assert!(g.remove_interaction("u", "p", InteractionKind::Like));
        let kinds: Vec<InteractionKind> = g.interactions("u").iter().map(|i| i.kind).collect();
        assert_eq!(kinds, vec![InteractionKind::Like, InteractionKind::View]);
        assert!(!g.remove_interaction("u", "p", InteractionKind::Share));
        assert!(!g.remove_interaction("u", "q", InteractionKind::Like));
        assert!(!g.remove_interaction("nobody", "p", InteractionKind::Like));
        assert!(g.remove_interaction("u", "p", InteractionKind::Like));
        assert!(g.remove_interaction("u", "p", InteractionKind::View));
        assert!(g.interactions("u").is_empty());
        assert!(!g.remove_interaction("u", "p", InteractionKind::View));
        assert!(g.has_seen("u", "p"));
    }
}
