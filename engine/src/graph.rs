//! The social facts the engine reads: [`SocialGraph`], and [`InMemoryGraph`] for tests and demos.
//!
//! The engine knows nothing of SQL or Redis: the API layer implements [`SocialGraph`] over its
//! store. The graph is the source of truth; the engine's `record_interaction`, `add_post` and
//! `delete_post` tell it that something changed so that it can update its own state at once.

use std::collections::{HashMap, HashSet};
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
    follows: HashMap<UserId, Vec<UserId>>,
    hidden: HashMap<UserId, HashSet<UserId>>,
    seen: HashMap<UserId, HashSet<PostId>>,
    interactions: HashMap<UserId, Vec<Interaction>>,
    posts: HashMap<PostId, PostMeta>,
}

/// A [`SocialGraph`] in memory, for tests, demos and benchmarks.
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

    /// Adds or replaces a post.
    pub fn add_post(&self, meta: PostMeta) {
        self.write().posts.insert(meta.id.clone(), meta);
    }

    /// Marks a post deleted (no-op for an unknown post).
    pub fn delete_post(&self, post: &str) {
        if let Some(meta) = self.write().posts.get_mut(post) {
            meta.deleted = true;
        }
    }

    /// `user` follows `author`.
    pub fn follow(&self, user: &str, author: &str) {
        let mut inner = self.write();
        let list = inner.follows.entry(user.to_owned()).or_default();
        if !list.iter().any(|a| a == author) {
            list.push(author.to_owned());
        }
    }

    /// `user` blocks or mutes `author`.
    pub fn hide(&self, user: &str, author: &str) {
        self.write()
            .hidden
            .entry(user.to_owned())
            .or_default()
            .insert(author.to_owned());
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
}

impl SocialGraph for InMemoryGraph {
    fn followees(&self, user: &str) -> Vec<UserId> {
        self.read().follows.get(user).cloned().unwrap_or_default()
    }

    fn hidden_authors(&self, user: &str) -> Vec<UserId> {
        let inner = self.read();
        let mut hidden: Vec<UserId> = inner
            .hidden
            .get(user)
            .map(|h| h.iter().cloned().collect())
            .unwrap_or_default();
        hidden.sort();
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

    fn recent_posts(&self, author: &str, limit: usize) -> Vec<PostId> {
        let inner = self.read();
        let mut posts: Vec<&PostMeta> = inner
            .posts
            .values()
            .filter(|p| p.author == author && !p.deleted)
            .collect();
        // Newest first, ties by id, so the answer is deterministic.
        posts.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        posts
            .into_iter()
            .take(limit)
            .map(|p| p.id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        g.delete_post("c");
        assert_eq!(g.recent_posts("x", 10), vec!["b", "a"]);
        assert_eq!(g.recent_posts("x", 1), vec!["b"]);
    }

    #[test]
    fn interactions_count_as_seen() {
        let g = InMemoryGraph::new();
        g.interact("u", "p", InteractionKind::Like);
        assert!(g.has_seen("u", "p"));
        assert!(!g.has_seen("u", "q"));
        assert_eq!(g.interactions("u").len(), 1);
        g.follow("u", "x");
        g.follow("u", "x");
        assert_eq!(g.followees("u"), vec!["x"]);
    }
}
