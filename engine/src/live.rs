//! State that changes between model runs: posts added since the model was trained (searched
//! exactly beside the HNSW index), tombstones, and the engagement that makes posts trend.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use crate::graph::{PostId, UserId};

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
}

impl FreshBuffer {
    /// Adds a post (a second add of the same id replaces the first).
    pub(crate) fn push(&mut self, post: FreshPost) {
        if let Some(&i) = self.by_id.get(&post.id) {
            self.posts[i] = post;
        } else {
            self.by_id.insert(post.id.clone(), self.posts.len());
            self.posts.push(post);
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&FreshPost> {
        self.by_id.get(id).map(|&i| &self.posts[i])
    }

    pub(crate) fn vector(&self, id: &str) -> Option<&[f32]> {
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

    /// The `k` newest posts that `keep` accepts (ties by id).
    pub(crate) fn newest(
        &self,
        k: usize,
        mut keep: impl FnMut(&FreshPost) -> bool,
    ) -> Vec<&FreshPost> {
        let mut posts: Vec<&FreshPost> = self.posts.iter().filter(|p| keep(p)).collect();
        posts.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        posts.truncate(k);
        posts
    }
}

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Deleted posts. Checked on every page, so a deletion shows at once.
#[derive(Debug, Default)]
pub(crate) struct Tombstones {
    posts: HashSet<PostId>,
}

impl Tombstones {
    pub(crate) fn insert(&mut self, post: &str) {
        self.posts.insert(post.to_owned());
    }

    pub(crate) fn contains(&self, post: &str) -> bool {
        self.posts.contains(post)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &PostId> {
        self.posts.iter()
    }
}

/// Time-decayed engagement over a sliding window.
///
/// Each event of weight `w` at time `t` counts `w · 2^(-(now - t) / half_life)` while
/// `now - t <= window`; events are kept in arrival order and pruned from the front.
#[derive(Debug, Default)]
pub(crate) struct Trending {
    events: VecDeque<(i64, PostId, f32)>,
}

impl Trending {
    pub(crate) fn record(&mut self, post: &str, at: i64, weight: f32) {
        self.events.push_back((at, post.to_owned(), weight));
    }

    /// Drops events older than `window` before `now` (only those at the front: events arrive
    /// roughly in time order, and stragglers are skipped by [`scores`](Self::scores)).
    pub(crate) fn prune(&mut self, now: i64, window: Duration) {
        let oldest = now.saturating_sub(window.as_secs() as i64);
        while self.events.front().is_some_and(|(t, _, _)| *t < oldest) {
            self.events.pop_front();
        }
    }

    /// The decayed engagement of every post with an event in the window, highest first (ties
    /// by id).
    pub(crate) fn scores(
        &self,
        now: i64,
        window: Duration,
        half_life: Duration,
    ) -> Vec<(PostId, f32)> {
        let oldest = now.saturating_sub(window.as_secs() as i64);
        let half = half_life.as_secs_f64().max(1e-9);
        let mut sums: HashMap<&str, f64> = HashMap::new();
        for (t, post, w) in &self.events {
            if *t < oldest || *t > now {
                continue;
            }
            let age = (now - t) as f64;
            *sums.entry(post.as_str()).or_default() += f64::from(*w) * (-age / half).exp2();
        }
        let mut out: Vec<(PostId, f32)> = sums
            .into_iter()
            .map(|(p, s)| (p.to_owned(), s as f32))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3600;

    #[test]
    fn trending_decays_and_forgets_old_events() {
        let mut t = Trending::default();
        let now = 100 * H as i64;
        t.record("old", now - 50 * H as i64, 100.0); // outside a 48 h window
        t.record("a", now - 6 * H as i64, 4.0); // one half-life ago: counts 2
        t.record("b", now, 1.5);
        t.record("b", now, 1.0);
        let s = t.scores(now, Duration::from_secs(48 * H), Duration::from_secs(6 * H));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, "b");
        assert!((s[0].1 - 2.5).abs() < 1e-6);
        assert_eq!(s[1].0, "a");
        assert!((s[1].1 - 2.0).abs() < 1e-5);
        t.prune(now, Duration::from_secs(48 * H));
        assert_eq!(t.events.len(), 3);
    }

    #[test]
    fn fresh_search_is_exact_and_filtered() {
        let mut b = FreshBuffer::default();
        for (id, v, at) in [
            ("p", [1.0, 0.0], 5),
            ("q", [0.0, 1.0], 9),
            ("r", [2.0, 0.0], 7),
        ] {
            b.push(FreshPost {
                id: id.into(),
                author: "x".into(),
                created_at: at,
                vector: Some(v.to_vec()),
            });
        }
        let found: Vec<&str> = b
            .search(&[1.0, 0.1], 2, |p| p.id != "p")
            .iter()
            .map(|(p, _)| p.id.as_str())
            .collect();
        assert_eq!(found, vec!["r", "q"]);
        let newest: Vec<&str> = b
            .newest(2, |_| true)
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(newest, vec!["q", "r"]);
    }
}
