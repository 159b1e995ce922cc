//! The seeded synthetic social network: users, a follow graph, posts with topics and text, and
//! views / likes / comments driven by hidden interests, post quality, recency and the follow graph.
//!
//! ```
//! use datasets::synthetic::{SyntheticConfig, generate};
//!
//! let config = SyntheticConfig { users: 200, posts: 500, interactions: 5_000, ..SyntheticConfig::default() };
//! let net = generate(&config)?;
//! assert_eq!(net.interactions.len(), 5_000);
//! assert_eq!(net, generate(&config)?); // a pure function of the config (seed 42 by default)
//! # Ok::<(), datasets::Error>(())
//! ```
//!
//! How it is built (each stage on its own ChaCha8 stream of the seed, so stages do not perturb each
//! other):
//!
//! - **Users** belong to communities; each has hidden topic interests (a Dirichlet draw concentrated on
//!   the community's core topics and one personal topic), an activity level (log-normal) and a
//!   popularity (Pareto).
//! - **Follows** go to accounts drawn by popularity, mostly within the community: heavy-tailed
//!   in-degrees, clustered graph.
//! - **Posts** are spread over a fixed window ending at `end_timestamp`; each has 1–3 topics drawn
//!   from its author's interests, a hidden quality, and text from per-topic vocabularies plus hashtags.
//! - **Events**: see [`events`](self) in the source: a view's probability grows with the user's
//!   affinity for the post's topics, its quality and whether the user follows the author; likes and
//!   comments follow views, more often with high affinity. A model can learn who likes what.
//!
//! The hidden truth ([`HiddenTruth`]) is in the struct for tests and is never written to files.

mod config;
mod content;
mod events;
mod graph;
mod sampling;
mod text;
mod write;

use serde::{Deserialize, Serialize};

pub use config::{MAX_TOPICS, MAX_VOCABULARY, SyntheticConfig, ValidSyntheticConfig};
pub use write::{EventWeights, MANIFEST, read_manifest, write_csv, write_manifest};
#[cfg(feature = "polars")]
pub use write::{Generated, read_generated, to_canonical_frame, write_parquet};

use crate::error::Result;

/// A user. Ids are dense, `0..users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The id.
    pub id: u32,
    /// A pronounceable handle, unique thanks to its `_<id>` suffix.
    pub handle: String,
    /// Sign-up time (Unix seconds), up to a year before the window.
    pub joined_at: i64,
}

/// `follower` follows `followee`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Follow {
    /// Who follows.
    pub follower: u32,
    /// Whom.
    pub followee: u32,
}

/// A post. Ids are dense, `0..posts`, in creation order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// The id.
    pub id: u32,
    /// The author's user id.
    pub author: u32,
    /// Creation time (Unix seconds), inside the window.
    pub created_at: i64,
    /// 1–3 distinct topic indices (into [`SocialNetwork::topic_names`]), the main one first.
    pub topics: Vec<u32>,
    /// Text: words from the topics' vocabularies and filler words, then hashtags.
    pub text: String,
}

/// Kinds of events, in the order they happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The user opened the post.
    View,
    /// The user liked it (always after a view).
    Like,
    /// The user commented on it (always after a view).
    Comment,
}

impl EventKind {
    /// `"view"`, `"like"` or `"comment"`, as written to files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Like => "like",
            Self::Comment => "comment",
        }
    }
}

/// One event. Its timestamp is after the post's creation and inside the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    /// The user.
    pub user: u32,
    /// The post.
    pub post: u32,
    /// What happened.
    pub kind: EventKind,
    /// When (Unix seconds).
    pub timestamp: i64,
}

/// What generated the events, for tests and analyses; never written to files.
#[derive(Clone, Debug, PartialEq)]
pub struct HiddenTruth {
    /// Community of each user.
    pub community: Vec<u32>,
    /// Topic interests, row-major users × topics; each row sums to 1.
    pub affinity: Vec<f32>,
    /// Number of topics (the row length of `affinity`).
    pub topics: usize,
    /// Activity level of each user (how many sessions they have, relatively).
    pub activity: Vec<f32>,
    /// Popularity of each user (how likely others follow them, relatively).
    pub popularity: Vec<f32>,
    /// Quality of each post (how likely it is viewed and liked, relatively).
    pub post_quality: Vec<f32>,
}

impl HiddenTruth {
    /// The interest vector of `user`.
    pub fn user_affinity(&self, user: u32) -> &[f32] {
        let u = user as usize;
        &self.affinity[u * self.topics..(u + 1) * self.topics]
    }

    /// The user's mean interest in the post's topics (0..=1; 1/topics is a uniform interest).
    pub fn affinity(&self, user: u32, post: &Post) -> f32 {
        let row = self.user_affinity(user);
        post.topics.iter().map(|&t| row[t as usize]).sum::<f32>() / post.topics.len() as f32
    }
}

/// The generated network.
#[derive(Clone, Debug, PartialEq)]
pub struct SocialNetwork {
    /// The parameters it was generated from.
    pub config: SyntheticConfig,
    /// Topic names (`music`, `football`, …).
    pub topic_names: Vec<String>,
    /// Each topic's vocabulary, its name first.
    pub vocabulary: Vec<Vec<String>>,
    /// Users, by id.
    pub users: Vec<User>,
    /// Follow edges, sorted by (follower, followee).
    pub follows: Vec<Follow>,
    /// Posts, by id (creation order).
    pub posts: Vec<Post>,
    /// Events, sorted by (timestamp, user, post, kind).
    pub interactions: Vec<Interaction>,
    /// The hidden variables behind the events.
    pub truth: HiddenTruth,
}

/// Checks `config` and generates the network.
///
/// # Errors
///
/// The errors of [`SyntheticConfig::check`].
pub fn generate(config: &SyntheticConfig) -> Result<SocialNetwork> {
    Ok(config.check()?.generate())
}

/// RNG streams of the stages.
const STREAM_PEOPLE: u64 = 1;
const STREAM_FOLLOWS: u64 = 2;
const STREAM_WORDS: u64 = 3;
const STREAM_POSTS: u64 = 4;
const STREAM_EVENTS: u64 = 5;

fn build(valid: &ValidSyntheticConfig) -> SocialNetwork {
    use rand::SeedableRng;
    let config = valid.config();
    let rng = |stream: u64| {
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(config.seed);
        r.set_stream(stream);
        r
    };
    let people = graph::people(valid, &mut rng(STREAM_PEOPLE));
    let follows = graph::follows(valid, &people, &mut rng(STREAM_FOLLOWS));
    let topic_names = text::topic_names(config.topics);
    let vocabulary =
        text::vocabularies(&topic_names, config.words_per_topic, &mut rng(STREAM_WORDS));
    let generator = text::TextGenerator::new(&topic_names, &vocabulary);
    let (posts, post_quality) = content::posts(valid, &people, &generator, &mut rng(STREAM_POSTS));
    let world = events::World {
        cfg: valid,
        people: &people,
        follows: &follows,
        posts: &posts,
        quality: &post_quality,
    };
    let interactions = world.events(&mut rng(STREAM_EVENTS));
    tracing::debug!(
        users = config.users,
        follows = follows.len(),
        posts = posts.len(),
        interactions = interactions.len(),
        "generated synthetic network"
    );
    let graph::People {
        users,
        community,
        affinity,
        activity,
        popularity,
    } = people;
    SocialNetwork {
        config: config.clone(),
        topic_names,
        vocabulary,
        users,
        follows,
        posts,
        interactions,
        truth: HiddenTruth {
            community,
            affinity,
            topics: config.topics,
            activity,
            popularity,
            post_quality,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn small(seed: u64) -> SocialNetwork {
        let config = SyntheticConfig {
            seed,
            users: 500,
            posts: 2_000,
            interactions: 30_000,
            ..SyntheticConfig::default()
        };
        generate(&config).unwrap()
    }

    #[test]
    fn same_seed_same_network_other_seed_other_network() {
        let a = small(42);
        assert_eq!(a, small(42));
        let b = small(43);
        assert_ne!(a.interactions, b.interactions);
        assert_ne!(a.follows, b.follows);
    }

    #[test]
    fn invalid_configs_are_rejected_by_generate() {
        let config = SyntheticConfig {
            posts: 0,
            ..SyntheticConfig::default()
        };
        assert!(matches!(generate(&config), Err(crate::Error::NoPosts)));
    }

    #[test]
    fn structure_holds_its_invariants() {
        let net = small(7);
        let c = &net.config;
        let (start, end) = (
            c.end_timestamp - i64::from(c.window_days) * 86_400,
            c.end_timestamp,
        );
        assert_eq!(net.users.len(), 500);
        assert!(
            net.users
                .iter()
                .enumerate()
                .all(|(i, u)| u.id as usize == i && u.joined_at < start)
        );
        assert!(
            net.follows.windows(2).all(|w| w[0] < w[1]),
            "sorted and unique"
        );
        assert!(
            net.follows
                .iter()
                .all(|f| f.follower != f.followee && (f.followee as usize) < 500)
        );
        assert_eq!(net.posts.len(), 2_000);
        assert!(
            net.posts
                .windows(2)
                .all(|w| w[0].created_at <= w[1].created_at)
        );
        for p in &net.posts {
            assert!((start..end).contains(&p.created_at));
            assert!((1..=3).contains(&p.topics.len()));
            assert_eq!(
                p.topics.iter().collect::<HashSet<_>>().len(),
                p.topics.len()
            );
            let hashtag = format!(". #{}", net.topic_names[p.topics[0] as usize]);
            assert!(p.text.contains(&hashtag), "{}", p.text);
        }
        assert_eq!(net.interactions.len(), 30_000);
        let key = |e: &Interaction| (e.timestamp, e.user, e.post, e.kind);
        assert!(
            net.interactions
                .windows(2)
                .all(|w| key(&w[0]) <= key(&w[1]))
        );
        let mut first_view: HashMap<(u32, u32), i64> = HashMap::new();
        for e in &net.interactions {
            let post = &net.posts[e.post as usize];
            assert!(e.timestamp > post.created_at && e.timestamp <= end);
            assert_ne!(post.author, e.user);
            match e.kind {
                EventKind::View => {
                    first_view.entry((e.user, e.post)).or_insert(e.timestamp);
                }
                _ => {
                    let viewed = first_view.get(&(e.user, e.post));
                    assert!(
                        viewed.is_some_and(|&t| t < e.timestamp),
                        "{e:?} without an earlier view"
                    );
                }
            }
        }
        let kinds = |k| net.interactions.iter().filter(|e| e.kind == k).count();
        let (views, likes, comments) = (
            kinds(EventKind::View),
            kinds(EventKind::Like),
            kinds(EventKind::Comment),
        );
        assert!(
            likes > 0 && comments > 0 && views > likes && likes > comments,
            "{views} {likes} {comments}"
        );
    }

    #[test]
    fn follow_graph_is_heavy_tailed_and_clustered() {
        let net = generate(&SyntheticConfig {
            interactions: 1,
            ..SyntheticConfig::default()
        })
        .unwrap();
        let n = net.users.len();
        let mut indegree = vec![0usize; n];
        for f in &net.follows {
            indegree[f.followee as usize] += 1;
        }
        let mean = net.follows.len() as f64 / n as f64;
        assert!((15.0..25.0).contains(&mean), "mean out-degree {mean}");
        let max = *indegree.iter().max().unwrap() as f64;
        assert!(max > 8.0 * mean, "max in-degree {max} vs mean {mean}");
        indegree.sort_unstable_by(|a, b| b.cmp(a));
        let top1: usize = indegree[..n / 100].iter().sum();
        assert!(
            top1 as f64 > 0.08 * net.follows.len() as f64,
            "top 1% get {top1}"
        );
        let community = &net.truth.community;
        let inside = net
            .follows
            .iter()
            .filter(|f| community[f.follower as usize] == community[f.followee as usize])
            .count();
        let share = inside as f64 / net.follows.len() as f64;
        assert!((0.75..0.92).contains(&share), "in-community share {share}");
    }

    #[test]
    fn the_signal_is_learnable() {
        let net = small(11);
        let truth = &net.truth;
        let mean = |pairs: &mut dyn Iterator<Item = (u32, u32)>| {
            let (mut sum, mut n) = (0.0f64, 0usize);
            for (u, p) in pairs {
                sum += f64::from(truth.affinity(u, &net.posts[p as usize]));
                n += 1;
            }
            sum / n as f64
        };
        let of = |k: EventKind| {
            mean(
                &mut net
                    .interactions
                    .iter()
                    .filter(|e| e.kind == k)
                    .map(|e| (e.user, e.post)),
            )
        };
        // Random (user, post) pairs: a fixed stride walk over both.
        let random = mean(&mut (0..20_000u32).map(|i| (i * 7 % 500, i * 13 % 2_000)));
        let liked: HashSet<(u32, u32)> = net
            .interactions
            .iter()
            .filter(|e| e.kind == EventKind::Like)
            .map(|e| (e.user, e.post))
            .collect();
        let viewed_only = mean(
            &mut net
                .interactions
                .iter()
                .filter(|e| e.kind == EventKind::View && !liked.contains(&(e.user, e.post)))
                .map(|e| (e.user, e.post)),
        );
        let (views, likes, comments) = (
            of(EventKind::View),
            of(EventKind::Like),
            of(EventKind::Comment),
        );
        assert!(views > 2.0 * random, "views {views} vs random {random}");
        assert!(
            likes > viewed_only,
            "likes {likes} vs viewed-only {viewed_only}"
        );
        assert!(
            comments > viewed_only,
            "comments {comments} vs viewed-only {viewed_only}"
        );

        // Following matters: far more views of followed authors than the graph's density explains.
        let follows: HashSet<(u32, u32)> = net
            .follows
            .iter()
            .map(|f| (f.follower, f.followee))
            .collect();
        let views_of_followed = net
            .interactions
            .iter()
            .filter(|e| {
                e.kind == EventKind::View
                    && follows.contains(&(e.user, net.posts[e.post as usize].author))
            })
            .count() as f64
            / net
                .interactions
                .iter()
                .filter(|e| e.kind == EventKind::View)
                .count() as f64;
        let density = net.follows.len() as f64 / (500.0 * 499.0);
        assert!(
            views_of_followed > 10.0 * density,
            "{views_of_followed} vs density {density}"
        );
    }
}
