//! [`Catalog`]: every live post the engine knows, with the little it needs to serve it.
//!
//! Per post the catalog keeps its author, creation time and topics (interned: a post holds
//! the 4-byte id of its topic set, and each distinct set of topics is stored once), not its
//! text: under 100 bytes a post with the per-author index (hash-map slack included), so a
//! million posts cost under 100 MB. The per-author index lists each author's live posts by creation time, so the
//! followed source reads an author's newest posts in O(limit). Deleted posts leave the
//! catalog (model items that are deleted stay tombstoned, see `live::Tombstones`).
//!
//! Interned topic names and topic sets are never freed: they are bounded by the distinct
//! topic labels and label combinations ever seen, not by the number of posts.

use std::cmp::Reverse;
use std::collections::HashMap;

use crate::context::PostMeta;
use crate::ids::{PostId, UserId};

/// A live post in the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CatalogPost {
    pub author: UserId,
    pub created_at: i64,
    /// The post's interned topic set.
    topics: u32,
}

/// Interned topic labels and topic sets (set 0 is the empty set).
#[derive(Debug)]
struct Topics {
    names: Vec<Box<str>>,
    by_name: HashMap<Box<str>, u32>,
    sets: Vec<Box<[u32]>>,
    by_set: HashMap<Box<[u32]>, u32>,
}

impl Default for Topics {
    fn default() -> Self {
        let empty: Box<[u32]> = Box::new([]);
        Self {
            names: Vec::new(),
            by_name: HashMap::new(),
            sets: vec![empty.clone()],
            by_set: HashMap::from([(empty, 0)]),
        }
    }
}

impl Topics {
    fn intern(&mut self, topics: &[String]) -> u32 {
        if topics.is_empty() {
            return 0;
        }
        let mut ids: Vec<u32> = topics
            .iter()
            .map(|t| {
                if let Some(&id) = self.by_name.get(t.as_str()) {
                    return id;
                }
                let id = self.names.len() as u32;
                self.names.push(t.as_str().into());
                self.by_name.insert(t.as_str().into(), id);
                id
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if let Some(&set) = self.by_set.get(ids.as_slice()) {
            return set;
        }
        let set = self.sets.len() as u32;
        let ids: Box<[u32]> = ids.into();
        self.sets.push(ids.clone());
        self.by_set.insert(ids, set);
        set
    }
}

/// Every live post the engine knows, and each author's live posts by time.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    posts: HashMap<PostId, CatalogPost>,
    /// Each author's live posts sorted by `(created_at, Reverse(id))`: read from the back,
    /// newest first and ties by ascending id. New posts are usually the newest, so an insert
    /// is usually a push.
    by_author: HashMap<UserId, Vec<(i64, Reverse<PostId>)>>,
    topics: Topics,
}

impl Catalog {
    /// Adds or replaces a post; a meta marked deleted removes it.
    pub(crate) fn upsert(&mut self, meta: &PostMeta) {
        if meta.deleted {
            self.remove(meta.id);
            return;
        }
        let post = CatalogPost {
            author: meta.author,
            created_at: meta.created_at,
            topics: self.topics.intern(&meta.topics),
        };
        match self.posts.insert(meta.id, post) {
            Some(old) if (old.author, old.created_at) == (post.author, post.created_at) => {}
            old => {
                if let Some(old) = old {
                    self.unindex(meta.id, &old);
                }
                let list = self.by_author.entry(post.author).or_default();
                let key = (post.created_at, Reverse(meta.id));
                let at = list.partition_point(|k| *k < key);
                list.insert(at, key);
            }
        }
    }

    /// Removes a post; returns it if it was there.
    pub(crate) fn remove(&mut self, id: PostId) -> Option<CatalogPost> {
        let old = self.posts.remove(&id)?;
        self.unindex(id, &old);
        Some(old)
    }

    fn unindex(&mut self, id: PostId, post: &CatalogPost) {
        if let Some(list) = self.by_author.get_mut(&post.author) {
            if let Ok(at) = list.binary_search(&(post.created_at, Reverse(id))) {
                list.remove(at);
            }
            if list.is_empty() {
                self.by_author.remove(&post.author);
            }
        }
    }

    pub(crate) fn get(&self, id: PostId) -> Option<&CatalogPost> {
        self.posts.get(&id)
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, id: PostId) -> bool {
        self.posts.contains_key(&id)
    }

    /// How many live posts the catalog holds.
    pub(crate) fn len(&self) -> usize {
        self.posts.len()
    }

    /// Every post id, in no order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = PostId> + '_ {
        self.posts.keys().copied()
    }

    /// The topics of `post`, as interned topic ids (see [`topic_name`](Self::topic_name)).
    pub(crate) fn topic_ids(&self, post: &CatalogPost) -> &[u32] {
        &self.topics.sets[post.topics as usize]
    }

    /// The label of an interned topic id.
    pub(crate) fn topic_name(&self, topic: u32) -> &str {
        &self.topics.names[topic as usize]
    }

    /// The newest live posts of `author` (newest first, ties by id), at most `limit`: O(limit).
    pub(crate) fn recent(&self, author: UserId, limit: usize) -> impl Iterator<Item = PostId> + '_ {
        self.by_author
            .get(&author)
            .map(|list| list.as_slice())
            .unwrap_or_default()
            .iter()
            .rev()
            .take(limit)
            .map(|&(_, Reverse(id))| id)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rand::{Rng, SeedableRng};

    use super::*;

    fn meta(id: i64, author: i64, created_at: i64, topics: &[&str]) -> PostMeta {
        PostMeta {
            id: PostId(id),
            author: UserId(author),
            created_at,
            deleted: false,
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            text: "not kept".into(),
        }
    }

    #[test]
    fn recent_posts_match_brute_force_through_adds_edits_and_deletes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
        let mut c = Catalog::default();
        let mut all: HashMap<PostId, PostMeta> = HashMap::new();
        for _ in 0..2000 {
            let id = rng.random_range(0..300);
            let m = PostMeta {
                deleted: rng.random_bool(0.2),
                ..meta(id, rng.random_range(0..7), rng.random_range(0..50), &[])
            };
            c.upsert(&m);
            if m.deleted {
                all.remove(&m.id);
            } else {
                all.insert(m.id, m);
            }
        }
        assert_eq!(c.len(), all.len());
        for a in 0..8 {
            let mut want: Vec<&PostMeta> = all.values().filter(|p| p.author == UserId(a)).collect();
            want.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
            for limit in [0, 1, 5, 1000] {
                let want: Vec<PostId> = want.iter().take(limit).map(|p| p.id).collect();
                let got: Vec<PostId> = c.recent(UserId(a), limit).collect();
                assert_eq!(got, want, "author {a} limit {limit}");
            }
        }
        for (id, m) in &all {
            let p = c.get(*id).unwrap();
            assert_eq!((p.author, p.created_at), (m.author, m.created_at));
        }
    }

    #[test]
    fn topic_sets_are_interned_once() {
        let mut c = Catalog::default();
        c.upsert(&meta(1, 1, 10, &["b", "a"]));
        c.upsert(&meta(2, 1, 11, &["a", "b", "a"]));
        c.upsert(&meta(3, 2, 12, &[]));
        let (p1, p2) = (*c.get(PostId(1)).unwrap(), *c.get(PostId(2)).unwrap());
        assert_eq!(p1.topics, p2.topics);
        let names: Vec<&str> = c.topic_ids(&p1).iter().map(|&t| c.topic_name(t)).collect();
        assert_eq!(names, vec!["b", "a"]);
        assert!(c.topic_ids(c.get(PostId(3)).unwrap()).is_empty());
        assert_eq!(c.topics.sets.len(), 2);
        // An edit of the topics alone keeps the post's place in its author's index.
        c.upsert(&meta(1, 1, 10, &["c"]));
        assert_eq!(
            c.recent(UserId(1), 5).collect::<Vec<_>>(),
            [PostId(2), PostId(1)]
        );
        // Moving to another author moves the index entry.
        c.upsert(&meta(1, 3, 10, &["c"]));
        assert_eq!(c.recent(UserId(1), 5).collect::<Vec<_>>(), [PostId(2)]);
        assert_eq!(c.recent(UserId(3), 5).collect::<Vec<_>>(), [PostId(1)]);
        // A deleted meta removes the post.
        c.upsert(&PostMeta {
            deleted: true,
            ..meta(1, 3, 10, &[])
        });
        assert!(!c.contains(PostId(1)));
        assert_eq!(c.recent(UserId(3), 5).count(), 0);
        assert!(c.remove(PostId(1)).is_none());
        assert_eq!(c.remove(PostId(2)).map(|p| p.created_at), Some(11));
        assert_eq!(c.len(), 1);
    }
}
