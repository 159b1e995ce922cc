//! State that changes between model runs: posts added since the model was trained (searched
//! exactly beside the HNSW index) and tombstones (deleted posts, withheld authors). The
//! engagement that makes posts trend is in `trending`.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::ids::{PostId, UserId};

/// A post added since the model was trained, with a vector in one model's space.
#[derive(Clone, Debug)]
pub(crate) struct FreshPost {
    pub id: PostId,
    pub author: UserId,
    pub created_at: i64,
    /// `None` when neither the author nor the topics are known to the model.
    pub vector: Option<Vec<f32>>,
}

/// The exact buffer of fresh posts of one model version.
#[derive(Clone, Debug, Default)]
pub(crate) struct FreshBuffer {
    posts: Vec<FreshPost>,
    by_id: HashMap<PostId, usize>,
    /// Every post by creation time, newest first, ties by id (with its position in `posts`):
    /// [`newest`](Self::newest) reads from the front instead of sorting the buffer.
    by_time: BTreeSet<(Reverse<i64>, PostId, usize)>,
}

impl FreshBuffer {
    /// Adds a post (a second add of the same id replaces the first).
    pub(crate) fn push(&mut self, post: FreshPost) {
        let key = |p: &FreshPost, i: usize| (Reverse(p.created_at), p.id, i);
        if let Some(&i) = self.by_id.get(&post.id) {
            self.by_time.remove(&key(&self.posts[i], i));
            self.by_time.insert(key(&post, i));
            self.posts[i] = post;
        } else {
            let i = self.posts.len();
            self.by_id.insert(post.id, i);
            self.by_time.insert(key(&post, i));
            self.posts.push(post);
        }
    }

    /// How many posts were ever added (a replacement keeps its place): the mark a ranked list
    /// records, so that [`since`](Self::since) gives what was added after it.
    pub(crate) fn len(&self) -> usize {
        self.posts.len()
    }

    /// The posts added after the first `mark`, in the order they were added.
    pub(crate) fn since(&self, mark: usize) -> &[FreshPost] {
        self.posts.get(mark..).unwrap_or_default()
    }

    /// Whether a post with this id is in the buffer.
    pub(crate) fn contains(&self, id: PostId) -> bool {
        self.by_id.contains_key(&id)
    }

    pub(crate) fn get(&self, id: PostId) -> Option<&FreshPost> {
        self.by_id.get(&id).map(|&i| &self.posts[i])
    }

    pub(crate) fn vector(&self, id: PostId) -> Option<&[f32]> {
        self.get(id).and_then(|p| p.vector.as_deref())
    }

    /// The `k` best posts by dot product with `query` among those `keep` accepts, best first
    /// (ties by id).
    pub(crate) fn search(
        &self,
        query: &[f32],
        k: usize,
        mut keep: impl FnMut(&FreshPost) -> bool,
    ) -> Vec<(&FreshPost, f32)> {
        let mut scored: Vec<(&FreshPost, f32)> = self
            .posts
            .iter()
            .filter_map(|p| {
                let v = p.vector.as_deref()?;
                keep(p).then(|| (p, dot(query, v)))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.id.cmp(&b.0.id)));
        scored.truncate(k);
        scored
    }

    /// Every post, newest first (ties by id), without sorting.
    pub(crate) fn iter_newest(&self) -> impl Iterator<Item = &FreshPost> {
        self.by_time.iter().map(|&(_, _, i)| &self.posts[i])
    }

    /// The `k` newest posts that `keep` accepts (ties by id). Costs O(k + rejected), not a
    /// sort of the buffer.
    pub(crate) fn newest(
        &self,
        k: usize,
        mut keep: impl FnMut(&FreshPost) -> bool,
    ) -> Vec<&FreshPost> {
        self.iter_newest().filter(|p| keep(p)).take(k).collect()
    }
}

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// What no list shows: deleted posts, and the posts of authors withheld until a time (a
/// suspended or banned account). Checked on every page, so a deletion or a suspension shows at
/// once, and a withheld author's posts come back as soon as they are released or their time
/// is up.
#[derive(Debug, Default)]
pub(crate) struct Tombstones {
    posts: HashSet<PostId>,
    /// Withheld authors and until when (Unix seconds, exclusive; `i64::MAX`: until released).
    authors: HashMap<UserId, i64>,
    /// The finite ends of `authors`, ordered: a list ranked while an author was withheld is
    /// not reused after their time is up ([`ends_between`](Self::ends_between)).
    ends: BTreeSet<(i64, UserId)>,
}

impl Tombstones {
    pub(crate) fn insert(&mut self, post: PostId) {
        self.posts.insert(post);
    }

    pub(crate) fn contains(&self, post: PostId) -> bool {
        self.posts.contains(&post)
    }

    pub(crate) fn remove(&mut self, post: PostId) {
        self.posts.remove(&post);
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &PostId> {
        self.posts.iter()
    }

    pub(crate) fn len(&self) -> usize {
        self.posts.len()
    }

    /// Keeps the tombstones of the posts `keep` accepts (withheld authors stay).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(PostId) -> bool) {
        self.posts.retain(|p| keep(*p));
    }

    /// Withholds `author`'s posts until `until` (replacing an earlier time).
    pub(crate) fn withhold(&mut self, author: UserId, until: i64) {
        self.release(author);
        self.authors.insert(author, until);
        if until != i64::MAX {
            self.ends.insert((until, author));
        }
    }

    /// Shows `author`'s posts again.
    pub(crate) fn release(&mut self, author: UserId) {
        if let Some(until) = self.authors.remove(&author) {
            self.ends.remove(&(until, author));
        }
    }

    /// Replaces every withheld author (a reload from the store).
    pub(crate) fn replace_withheld(&mut self, authors: impl IntoIterator<Item = (UserId, i64)>) {
        self.authors.clear();
        self.ends.clear();
        for (author, until) in authors {
            self.withhold(author, until);
        }
    }

    /// Whether some author's withholding ends in `(after, upto]`: a list ranked at `after`
    /// left out posts that are admissible at `upto`.
    pub(crate) fn ends_between(&self, after: i64, upto: i64) -> bool {
        after < upto
            && self
                .ends
                .range((after.saturating_add(1), UserId(i64::MIN))..)
                .next()
                .is_some_and(|&(until, _)| until <= upto)
    }

    /// Whether `author`'s posts are withheld at `now`.
    pub(crate) fn withholds(&self, author: UserId, now: i64) -> bool {
        self.authors.get(&author).is_some_and(|&until| now < until)
    }

    pub(crate) fn withheld_len(&self) -> usize {
        self.authors.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_search_is_exact_and_filtered() {
        let mut b = FreshBuffer::default();
        let (p, q, r) = (PostId(1), PostId(2), PostId(3));
        for (id, v, at) in [(p, [1.0, 0.0], 5), (q, [0.0, 1.0], 9), (r, [2.0, 0.0], 7)] {
            b.push(FreshPost {
                id,
                author: UserId(9),
                created_at: at,
                vector: Some(v.to_vec()),
            });
        }
        let found: Vec<PostId> = b
            .search(&[1.0, 0.1], 2, |x| x.id != p)
            .iter()
            .map(|(x, _)| x.id)
            .collect();
        assert_eq!(found, vec![r, q]);
        let newest: Vec<PostId> = b.newest(2, |_| true).iter().map(|x| x.id).collect();
        assert_eq!(newest, vec![q, r]);
        // A replacement moves in the time order.
        b.push(FreshPost {
            id: q,
            author: UserId(9),
            created_at: 1,
            vector: None,
        });
        let newest: Vec<PostId> = b.newest(5, |x| x.id != p).iter().map(|x| x.id).collect();
        assert_eq!(newest, vec![r, q]);
        assert_eq!(b.len(), 3);
        assert_eq!(b.since(2).len(), 1);
    }
}
