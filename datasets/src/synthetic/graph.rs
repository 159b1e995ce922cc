//! Users (community, hidden interests, activity, popularity) and the follow graph.
//!
//! Each user belongs to one community; their topic interests are a Dirichlet draw concentrated on the
//! community's core topics plus one personal topic. Popularity ("fitness") is Pareto-distributed, and
//! followees are drawn in proportion to it, mostly inside the follower's own community: in-degrees are
//! therefore heavy-tailed and the graph clusters by community.

use std::collections::HashSet;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Pareto};

use super::config::{DAY, ValidSyntheticConfig};
use super::sampling::{Weighted, dirichlet};
use super::text::handle;
use super::{Follow, User};

/// Concentration of a core topic of the user's community, of the personal topic, of any other topic.
const CORE_ALPHA: f64 = 3.0;
const PERSONAL_ALPHA: f64 = 2.0;
const BACKGROUND_ALPHA: f64 = 0.05;

/// What the follow graph and the events are built from.
pub(crate) struct People {
    pub(crate) users: Vec<User>,
    pub(crate) community: Vec<u32>,
    /// Row-major users × topics, each row summing to 1.
    pub(crate) affinity: Vec<f32>,
    pub(crate) activity: Vec<f32>,
    pub(crate) popularity: Vec<f32>,
}

/// Core topics of community `c`: `topics_per_community` consecutive topics, wrapping around.
pub(crate) fn core_topics(
    c: usize,
    topics: usize,
    per_community: usize,
) -> impl Iterator<Item = usize> {
    (0..per_community).map(move |j| (c * per_community + j) % topics)
}

pub(crate) fn people(cfg: &ValidSyntheticConfig, rng: &mut ChaCha8Rng) -> People {
    let c = cfg.config();
    let (n, topics) = (c.users, c.topics);
    // Community sizes vary (weights 1/sqrt(k+1)); the first users seed every community.
    let sizes = Weighted::new((0..c.communities).map(|k| 1.0 / ((k + 1) as f64).sqrt()))
        .expect("communities > 0");
    let activity_dist = LogNormal::new(0.0, 1.0).expect("valid");
    let popularity_dist = Pareto::new(1.0, 1.5).expect("valid");
    let start = cfg.start_timestamp();

    let mut p = People {
        users: Vec::with_capacity(n),
        community: Vec::with_capacity(n),
        affinity: Vec::with_capacity(n * topics),
        activity: Vec::with_capacity(n),
        popularity: Vec::with_capacity(n),
    };
    let mut alpha = vec![0.0; topics];
    for u in 0..n {
        let community = if u < c.communities {
            u
        } else {
            sizes.sample(rng)
        };
        alpha.fill(BACKGROUND_ALPHA);
        alpha[rng.random_range(0..topics)] = PERSONAL_ALPHA;
        for t in core_topics(community, topics, c.topics_per_community) {
            alpha[t] = CORE_ALPHA;
        }
        p.affinity.extend(dirichlet(&alpha, rng));
        p.community.push(community as u32);
        p.activity.push(activity_dist.sample(rng) as f32);
        p.popularity.push(popularity_dist.sample(rng) as f32);
        let id = u as u32;
        p.users.push(User {
            id,
            handle: handle(id, rng),
            joined_at: start - rng.random_range(0..365 * DAY),
        });
    }
    p
}

/// The follow graph, sorted by (follower, followee), without self-follows or duplicates.
pub(crate) fn follows(
    cfg: &ValidSyntheticConfig,
    people: &People,
    rng: &mut ChaCha8Rng,
) -> Vec<Follow> {
    let c = cfg.config();
    let n = c.users;
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); c.communities];
    for (u, &k) in people.community.iter().enumerate() {
        members[k as usize].push(u as u32);
    }
    let by_popularity = |ids: &[u32]| {
        Weighted::new(
            ids.iter()
                .map(|&u| f64::from(people.popularity[u as usize])),
        )
    };
    let everyone: Vec<u32> = (0..n as u32).collect();
    let global = by_popularity(&everyone).expect("users > 0");
    let local: Vec<Option<Weighted>> = members.iter().map(|m| by_popularity(m)).collect();
    // Out-degrees vary around the mean (log-normal with mean 1 as the multiplier).
    let degree_dist = LogNormal::new(-0.18, 0.6).expect("valid");

    let mut out = Vec::with_capacity(n * c.mean_follows);
    let mut chosen: HashSet<u32> = HashSet::new();
    let mut sorted: Vec<u32> = Vec::new();
    for u in 0..n {
        let community = people.community[u] as usize;
        let degree =
            ((c.mean_follows as f64 * degree_dist.sample(rng)).round() as usize).clamp(1, n - 1);
        chosen.clear();
        let mut tries = 0;
        while chosen.len() < degree && tries < degree * 20 {
            tries += 1;
            let inside =
                members[community].len() > 1 && rng.random::<f64>() < c.in_community_follows;
            let v = match (&local[community], inside) {
                (Some(w), true) => members[community][w.sample(rng)],
                _ => everyone[global.sample(rng)],
            };
            if v as usize != u {
                chosen.insert(v);
            }
        }
        sorted.clear();
        sorted.extend(chosen.iter().copied());
        sorted.sort_unstable();
        out.extend(sorted.iter().map(|&v| Follow {
            follower: u as u32,
            followee: v,
        }));
    }
    out
}
