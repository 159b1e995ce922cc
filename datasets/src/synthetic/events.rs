//! Views, likes and comments.
//!
//! Each view starts from a user drawn in proportion to their activity. Candidate posts come from
//! three feeds: a followed account's posts (40%), the user's interests (a topic drawn from their
//! affinity, then a post of that topic by quality, 40%) and the global popular feed (quality², 20%).
//! A candidate becomes a view with probability σ(b + 1.1·ln(affinity) + 0.8·ln(quality) + 1.2·follows);
//! the view happens after the post's creation, often soon (40%: exponential delay, mean two days),
//! otherwise at any later time, so recent posts collect views and old popular ones keep some. A like
//! and a comment follow a view with probabilities that also grow with affinity, quality and following.
//! Candidates are rejected in O(log n) each, so millions of events take seconds.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};

use super::config::{DAY, ValidSyntheticConfig};
use super::graph::People;
use super::sampling::{Weighted, categorical, sigmoid};
use super::{EventKind, Follow, Interaction, Post};

/// Feed shares: followed accounts, then interests; the rest is the popular feed.
const FOLLOWED_FEED: f64 = 0.4;
const INTEREST_FEED: f64 = 0.8;
/// Candidates tried per view before the user gives up on this session.
const TRIALS: usize = 30;
/// No event in the last hour of the window, so likes and comments stay inside it.
const QUIET_END: i64 = 3_600;

/// Log-odds of a view, a like and a comment: intercept, weights of ln(affinity), ln(quality),
/// follows (and, for comments, liked).
const VIEW: [f64; 4] = [-1.0, 1.1, 0.8, 1.2];
const LIKE: [f64; 4] = [-3.2, 1.3, 0.8, 0.8];
const COMMENT: [f64; 5] = [-4.6, 1.2, 0.6, 1.0, 0.8];

/// The inputs the event model reads.
pub(crate) struct World<'a> {
    pub(crate) cfg: &'a ValidSyntheticConfig,
    pub(crate) people: &'a People,
    pub(crate) follows: &'a [Follow],
    pub(crate) posts: &'a [Post],
    pub(crate) quality: &'a [f32],
}

struct Index {
    users: Weighted,
    following_start: Vec<usize>,
    following: Vec<u32>,
    by_author_start: Vec<usize>,
    by_author: Vec<u32>,
    by_topic: Vec<Option<(Vec<u32>, Weighted)>>,
    popular: Weighted,
}

/// Compressed rows: `start[k]..start[k + 1]` indexes the values of key k.
fn grouped(
    n_keys: usize,
    pairs: impl Iterator<Item = (usize, u32)> + Clone,
) -> (Vec<usize>, Vec<u32>) {
    let mut start = vec![0usize; n_keys + 1];
    for (k, _) in pairs.clone() {
        start[k + 1] += 1;
    }
    for k in 0..n_keys {
        start[k + 1] += start[k];
    }
    let mut fill = start.clone();
    let mut values = vec![0u32; start[n_keys]];
    for (k, v) in pairs {
        values[fill[k]] = v;
        fill[k] += 1;
    }
    (start, values)
}

impl World<'_> {
    fn index(&self) -> Index {
        let c = self.cfg.config();
        let users =
            Weighted::new(self.people.activity.iter().map(|&a| f64::from(a))).expect("positive");
        let (following_start, following) = grouped(
            c.users,
            self.follows
                .iter()
                .map(|f| (f.follower as usize, f.followee)),
        );
        let (by_author_start, by_author) = grouped(
            c.users,
            self.posts.iter().map(|p| (p.author as usize, p.id)),
        );
        let mut topic_posts: Vec<Vec<u32>> = vec![Vec::new(); c.topics];
        for p in self.posts {
            for &t in &p.topics {
                topic_posts[t as usize].push(p.id);
            }
        }
        let by_topic = topic_posts
            .into_iter()
            .map(|ids| {
                let w = Weighted::new(ids.iter().map(|&p| f64::from(self.quality[p as usize])))?;
                Some((ids, w))
            })
            .collect();
        let popular = Weighted::new(self.quality.iter().map(|&q| f64::from(q) * f64::from(q)))
            .expect("posts > 0");
        Index {
            users,
            following_start,
            following,
            by_author_start,
            by_author,
            by_topic,
            popular,
        }
    }

    /// Affinity of `user` for `post` relative to a uniform interest (1.0 = average).
    fn relative_affinity(&self, user: usize, post: &Post) -> f64 {
        let t = self.cfg.config().topics;
        let row = &self.people.affinity[user * t..(user + 1) * t];
        let sum: f32 = post.topics.iter().map(|&k| row[k as usize]).sum();
        f64::from(sum) / post.topics.len() as f64 * t as f64
    }

    /// All events, sorted by (timestamp, user, post, kind); exactly `interactions` of them unless the
    /// network cannot produce that many.
    pub(crate) fn events(&self, rng: &mut ChaCha8Rng) -> Vec<Interaction> {
        let c = self.cfg.config();
        let index = self.index();
        let soon = Exp::new(1.0 / (2 * DAY) as f64).expect("positive rate");
        let target = c.interactions;
        let mut events = Vec::with_capacity(target + 2);
        let max_sessions = target.saturating_mul(50).max(10_000);
        let mut sessions = 0;
        while events.len() < target && sessions < max_sessions {
            sessions += 1;
            let user = index.users.sample(rng);
            let Some((post, at, follows, rel)) = self.view(&index, &soon, user, rng) else {
                continue;
            };
            let ln_rel = (rel + 0.05).ln();
            let ln_q = f64::from(self.quality[post as usize]).ln();
            let f = f64::from(u8::from(follows));
            let user = user as u32;
            events.push(Interaction {
                user,
                post,
                kind: EventKind::View,
                timestamp: at,
            });
            let liked = rng.random::<f64>()
                < sigmoid(LIKE[0] + LIKE[1] * ln_rel + LIKE[2] * ln_q + LIKE[3] * f);
            if liked {
                let timestamp = at + 1 + rng.random_range(0..300);
                events.push(Interaction {
                    user,
                    post,
                    kind: EventKind::Like,
                    timestamp,
                });
            }
            let z = COMMENT[0]
                + COMMENT[1] * ln_rel
                + COMMENT[2] * ln_q
                + COMMENT[3] * f
                + COMMENT[4] * f64::from(u8::from(liked));
            if rng.random::<f64>() < sigmoid(z) {
                let timestamp = at + 5 + rng.random_range(0..1_800);
                events.push(Interaction {
                    user,
                    post,
                    kind: EventKind::Comment,
                    timestamp,
                });
            }
        }
        if events.len() < target {
            tracing::warn!(
                wanted = target,
                got = events.len(),
                "synthetic network produced fewer events"
            );
        }
        events.truncate(target);
        events.sort_unstable_by_key(|e| (e.timestamp, e.user, e.post, e.kind));
        events
    }

    /// One accepted view of `user`: (post, time, follows the author, relative affinity).
    fn view(
        &self,
        index: &Index,
        soon: &Exp<f64>,
        user: usize,
        rng: &mut ChaCha8Rng,
    ) -> Option<(u32, i64, bool, f64)> {
        let c = self.cfg.config();
        let followees =
            &index.following[index.following_start[user]..index.following_start[user + 1]];
        let affinity = &self.people.affinity[user * c.topics..(user + 1) * c.topics];
        let last = c.end_timestamp - QUIET_END;
        for _ in 0..TRIALS {
            let feed = rng.random::<f64>();
            let candidate = if feed < FOLLOWED_FEED && !followees.is_empty() {
                let author = followees[rng.random_range(0..followees.len())] as usize;
                let own = &index.by_author
                    [index.by_author_start[author]..index.by_author_start[author + 1]];
                if own.is_empty() {
                    continue;
                }
                own[rng.random_range(0..own.len())]
            } else if feed < INTEREST_FEED {
                match &index.by_topic[categorical(affinity, rng)] {
                    Some((ids, w)) => ids[w.sample(rng)],
                    None => continue,
                }
            } else {
                index.popular.sample(rng) as u32
            };
            let post = &self.posts[candidate as usize];
            if post.author as usize == user || post.created_at >= last - 1 {
                continue;
            }
            let follows = followees.binary_search(&post.author).is_ok();
            let rel = self.relative_affinity(user, post);
            let z = VIEW[0]
                + VIEW[1] * (rel + 0.05).ln()
                + VIEW[2] * f64::from(self.quality[candidate as usize]).ln()
                + VIEW[3] * f64::from(u8::from(follows));
            if rng.random::<f64>() >= sigmoid(z) {
                continue;
            }
            let room = last - post.created_at - 1;
            let delay = if rng.random::<f64>() < 0.4 {
                soon.sample(rng) as i64
            } else {
                rng.random_range(0..room)
            };
            if delay >= room {
                continue;
            }
            return Some((candidate, post.created_at + 1 + delay, follows, rel));
        }
        None
    }
}
