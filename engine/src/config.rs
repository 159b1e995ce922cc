//! [`FeedConfig`]: quotas, weights and limits of feed assembly, with documented defaults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::context::InteractionKind;
use crate::error::{Error, Result};

/// How feeds are assembled. Every field documents its default ([`FeedConfig::default`]).
///
/// The final score of a candidate is
/// `w_model · model + w_freshness · freshness + w_affinity · affinity + w_trending · trending`,
/// where `model` is the dot product of the user and post vectors (0 without a user vector),
/// `freshness = 2^(-age / freshness_half_life)`, `affinity` in `[0, 1]` says how close the user is
/// to the author (half for following them, half `n / (n + 2)` for `n` interactions
/// with their posts) and `trending` in `[0, 1)` is the post's
/// time-decayed engagement `e` squashed as `e / (e + 1)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedConfig {
    /// Candidates from the nearest neighbours of the user vector. Default 200.
    pub similar_quota: usize,
    /// Candidates from recent posts of followed authors (in total). Default 100.
    pub followed_quota: usize,
    /// Recent posts fetched per followed author. Default 10.
    pub followed_per_author: usize,
    /// Trending candidates (live engagement, then the model's popularity). Default 50.
    pub trending_quota: usize,
    /// Fresh posts (added since the model was trained, newest first): the explore slot. Default 20.
    pub fresh_quota: usize,
    /// Weight of the model score. Default 1.0.
    pub w_model: f32,
    /// Weight of freshness. Default 0.3.
    pub w_freshness: f32,
    /// Weight of author affinity. Default 0.3.
    pub w_affinity: f32,
    /// Weight of the trending score. Default 0.2.
    pub w_trending: f32,
    /// Age at which freshness halves. Default 24 hours.
    pub freshness_half_life: Duration,
    /// Engagement older than this is not trending. Default 48 hours.
    pub trending_window: Duration,
    /// Age at which an engagement event's trending weight halves. Default 6 hours.
    pub trending_half_life: Duration,
    /// How often the list of the highest trending posts is copied from the incrementally
    /// ranked board. Default 1 second.
    ///
    /// Every request in between shares one list (its scores rescaled to the request's time,
    /// which keeps them exact), so a post enters the trending source and `trending` within
    /// this period, and so does a request time this far from the list's. A candidate's
    /// trending score is read live. Zero copies on every request.
    #[serde(default = "default_trending_refresh")]
    pub trending_refresh: Duration,
    /// Diversity: at most this many posts of one author in any [`diversity_window`](Self::diversity_window)
    /// consecutive feed items. Default 2.
    pub max_per_author: usize,
    /// Diversity window, in feed items. Default 10. A window of 0 disables the rule.
    pub diversity_window: usize,
    /// Interaction weights (the ALS confidence input of fold-in and the trending weight).
    /// Default view 1, like 3, comment 4, share 5.
    pub weights: InteractionWeights,
    /// Largest page a client may ask for. Default 100.
    pub max_page_size: usize,
    /// How long a user's ranked candidate list (a feed session) stays cached. Default 5 minutes.
    pub cache_ttl: Duration,
    /// Most users whose candidate lists are cached. Default 100 000.
    pub cache_capacity: u64,
    /// `ef` of the HNSW search (raised to `k` when smaller); `None` keeps the artifact's
    /// `ef_search`. Default `None`.
    pub ef_search: Option<usize>,
    /// Up to this many model items, the nearest-neighbour source scans every item exactly
    /// (`models::topk::top_k_dot`) instead of searching the HNSW graph, whose inner-product
    /// graph can leave low-norm items unreachable. Default 0 (always the graph).
    pub exact_search_max_items: usize,
    /// Most interactions a caller fetches into a [`UserContext`](crate::UserContext) (the
    /// user's newest). Default 256.
    ///
    /// The engine uses whatever a context holds; this tells the caller how much to fetch. It
    /// bounds the fold-in input (older interactions no longer shape the user's vector) and
    /// the posts never recommended again for having been interacted with.
    #[serde(default = "default_context_interactions")]
    pub context_interactions: usize,
    /// Most seen posts (impressions) a caller fetches into a
    /// [`UserContext`](crate::UserContext) (the user's newest). Default 2048. Posts seen
    /// longer ago may be recommended again.
    #[serde(default = "default_context_seen")]
    pub context_seen: usize,
}

/// Weight of each kind of interaction.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct InteractionWeights {
    /// Default 1.
    pub view: f32,
    /// Default 3.
    pub like: f32,
    /// Default 4.
    pub comment: f32,
    /// Default 5.
    pub share: f32,
}

impl InteractionWeights {
    /// The weight of `kind`.
    pub fn of(&self, kind: InteractionKind) -> f32 {
        match kind {
            InteractionKind::View => self.view,
            InteractionKind::Like => self.like,
            InteractionKind::Comment => self.comment,
            InteractionKind::Share => self.share,
        }
    }
}

impl Default for InteractionWeights {
    fn default() -> Self {
        Self {
            view: 1.0,
            like: 3.0,
            comment: 4.0,
            share: 5.0,
        }
    }
}

fn default_trending_refresh() -> Duration {
    Duration::from_secs(1)
}

fn default_context_interactions() -> usize {
    256
}

fn default_context_seen() -> usize {
    2048
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            similar_quota: 200,
            followed_quota: 100,
            followed_per_author: 10,
            trending_quota: 50,
            fresh_quota: 20,
            w_model: 1.0,
            w_freshness: 0.3,
            w_affinity: 0.3,
            w_trending: 0.2,
            freshness_half_life: Duration::from_secs(24 * 3600),
            trending_window: Duration::from_secs(48 * 3600),
            trending_half_life: Duration::from_secs(6 * 3600),
            trending_refresh: default_trending_refresh(),
            max_per_author: 2,
            diversity_window: 10,
            weights: InteractionWeights::default(),
            max_page_size: 100,
            cache_ttl: Duration::from_secs(300),
            cache_capacity: 100_000,
            ef_search: None,
            exact_search_max_items: 0,
            context_interactions: default_context_interactions(),
            context_seen: default_context_seen(),
        }
    }
}

impl FeedConfig {
    /// Validates the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a negative or non-finite weight, a zero half-life, a zero
    /// `max_per_author` with an active diversity window, a zero `max_page_size`, a non-positive
    /// interaction weight, a zero `ef_search`, or a zero `context_interactions` or
    /// `context_seen`.
    pub fn check(&self) -> Result<()> {
        let bad = |field, reason| Err(Error::InvalidConfig { field, reason });
        for (field, w) in [
            ("w_model", self.w_model),
            ("w_freshness", self.w_freshness),
            ("w_affinity", self.w_affinity),
            ("w_trending", self.w_trending),
        ] {
            if !w.is_finite() || w < 0.0 {
                return bad(field, "must be finite and >= 0");
            }
        }
        let w = &self.weights;
        for (field, v) in [
            ("weights.view", w.view),
            ("weights.like", w.like),
            ("weights.comment", w.comment),
            ("weights.share", w.share),
        ] {
            if !v.is_finite() || v <= 0.0 {
                return bad(field, "must be finite and > 0");
            }
        }
        if self.freshness_half_life.is_zero() {
            return bad("freshness_half_life", "must be > 0");
        }
        if self.trending_half_life.is_zero() {
            return bad("trending_half_life", "must be > 0");
        }
        if self.diversity_window > 0 && self.max_per_author == 0 {
            return bad("max_per_author", "must be > 0 when diversity_window > 0");
        }
        if self.max_page_size == 0 {
            return bad("max_page_size", "must be > 0");
        }
        if self.ef_search == Some(0) {
            return bad("ef_search", "must be > 0");
        }
        if self.context_interactions == 0 {
            return bad("context_interactions", "must be > 0");
        }
        if self.context_seen == 0 {
            return bad("context_seen", "must be > 0");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(config: &FeedConfig) -> &'static str {
        match config.check() {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn the_default_is_valid() {
        let d = FeedConfig::default();
        d.check().unwrap();
        assert_eq!((d.context_interactions, d.context_seen), (256, 2048));
    }

    #[test]
    fn every_invalid_field_is_named() {
        let d = FeedConfig::default;
        assert_eq!(
            field_of(&FeedConfig {
                w_model: -1.0,
                ..d()
            }),
            "w_model"
        );
        assert_eq!(
            field_of(&FeedConfig {
                w_freshness: f32::NAN,
                ..d()
            }),
            "w_freshness"
        );
        assert_eq!(
            field_of(&FeedConfig {
                w_affinity: -0.1,
                ..d()
            }),
            "w_affinity"
        );
        assert_eq!(
            field_of(&FeedConfig {
                w_trending: f32::INFINITY,
                ..d()
            }),
            "w_trending"
        );
        let weights = InteractionWeights {
            like: 0.0,
            ..InteractionWeights::default()
        };
        assert_eq!(field_of(&FeedConfig { weights, ..d() }), "weights.like");
        let zero = Duration::ZERO;
        assert_eq!(
            field_of(&FeedConfig {
                freshness_half_life: zero,
                ..d()
            }),
            "freshness_half_life"
        );
        assert_eq!(
            field_of(&FeedConfig {
                trending_half_life: zero,
                ..d()
            }),
            "trending_half_life"
        );
        assert_eq!(
            field_of(&FeedConfig {
                max_per_author: 0,
                ..d()
            }),
            "max_per_author"
        );
        assert_eq!(
            field_of(&FeedConfig {
                max_page_size: 0,
                ..d()
            }),
            "max_page_size"
        );
        assert_eq!(
            field_of(&FeedConfig {
                ef_search: Some(0),
                ..d()
            }),
            "ef_search"
        );
        assert_eq!(
            field_of(&FeedConfig {
                context_interactions: 0,
                ..d()
            }),
            "context_interactions"
        );
        assert_eq!(
            field_of(&FeedConfig {
                context_seen: 0,
                ..d()
            }),
            "context_seen"
        );
        FeedConfig {
            max_per_author: 0,
            diversity_window: 0,
            ..d()
        }
        .check()
        .unwrap();
    }
}
