//! Blending: the final score of a candidate from its model score, freshness, author affinity
//! and trending score, weighted by [`FeedConfig`].

use std::collections::{HashMap, HashSet};

use crate::candidates::Candidate;
use crate::config::FeedConfig;
use crate::ids::UserId;

/// `2^(-age / half_life)`, 1 for posts from the future (clock skew).
pub(crate) fn freshness(created_at: i64, now: i64, config: &FeedConfig) -> f32 {
    let age = (now - created_at).max(0) as f64;
    (-age / config.freshness_half_life.as_secs_f64()).exp2() as f32
}

/// Author affinity in `[0, 1]`: half for following the author, half for having interacted
/// with their posts (`n / (n + 2)` for `n` interactions, so one like counts a third).
pub(crate) fn affinity(followed: bool, interactions: usize) -> f32 {
    let n = interactions as f32;
    0.5 * f32::from(u8::from(followed)) + 0.5 * n / (n + 2.0)
}

/// The blended score (see [`FeedConfig`]).
pub(crate) fn score(
    c: &Candidate,
    now: i64,
    config: &FeedConfig,
    followees: &HashSet<UserId>,
    author_interactions: &HashMap<UserId, usize>,
) -> f32 {
    let followed = followees.contains(&c.author);
    let n = author_interactions.get(&c.author).copied().unwrap_or(0);
    config.w_model * c.model
        + config.w_freshness * freshness(c.created_at, now, config)
        + config.w_affinity * affinity(followed, n)
        + config.w_trending * (c.trending / (c.trending + 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::Reason;

    use crate::ids::PostId;

    fn candidate(author: UserId, created_at: i64, model: f32, trending: f32) -> Candidate {
        Candidate {
            post: PostId(1),
            author,
            created_at,
            model,
            trending,
            reasons: vec![Reason::Similar],
        }
    }

    #[test]
    fn freshness_halves_every_half_life() {
        let c = FeedConfig::default();
        let day = 24 * 3600;
        assert_eq!(freshness(100, 100, &c), 1.0);
        assert!((freshness(0, day, &c) - 0.5).abs() < 1e-6);
        assert!((freshness(0, 2 * day, &c) - 0.25).abs() < 1e-6);
        assert_eq!(freshness(day, 0, &c), 1.0);
    }

    #[test]
    fn the_score_is_the_documented_blend() {
        let config = FeedConfig::default();
        let day = 24 * 3600;
        let a = UserId(7);
        let c = candidate(a, 0, 0.8, 1.0);
        let followees: HashSet<UserId> = [a].into();
        let counts: HashMap<UserId, usize> = [(a, 2)].into();
        // 1.0·0.8 + 0.3·0.5 + 0.3·(0.5 + 0.5·0.5) + 0.2·0.5
        let expected = 0.8 + 0.15 + 0.3 * 0.75 + 0.1;
        let got = score(&c, day, &config, &followees, &counts);
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
        assert_eq!(affinity(false, 0), 0.0);
        assert_eq!(affinity(true, 0), 0.5);
    }
}
