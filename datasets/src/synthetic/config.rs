//! The generator's parameters: [`SyntheticConfig`] → [`SyntheticConfig::check`] →
//! [`ValidSyntheticConfig`] → [`ValidSyntheticConfig::generate`], in the linfa style.

use serde::{Deserialize, Serialize};

use super::SocialNetwork;
use crate::error::{Error, Result};

/// The largest accepted number of topics.
pub const MAX_TOPICS: usize = 1_000;
/// The pseudo-word generator's budget: `topics * words_per_topic` may not exceed this.
pub const MAX_VOCABULARY: usize = 200_000;
/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

/// Parameters of the synthetic social network. Every field has a documented default; the result is
/// a pure function of the whole struct (the seed included).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyntheticConfig {
    /// Seed of every random draw (default 42).
    pub seed: u64,
    /// Number of users (default 2,000; at least 2).
    pub users: usize,
    /// Number of posts (default 10,000).
    pub posts: usize,
    /// Total number of events: views, likes and comments together (default 200,000). Generation
    /// stops at exactly this many (fewer only if the network cannot produce them, which is logged).
    pub interactions: usize,
    /// Number of communities users belong to (default 8).
    pub communities: usize,
    /// Number of topics (default 24; the first 24 have real names such as `music`).
    pub topics: usize,
    /// Core topics per community: users' interests concentrate on them (default 3).
    pub topics_per_community: usize,
    /// Mean number of accounts a user follows (default 20).
    pub mean_follows: usize,
    /// Share of follows that stay inside the user's community (default 0.8).
    pub in_community_follows: f64,
    /// Length of the time window posts are spread over, in days (default 60).
    pub window_days: u32,
    /// End of the window, Unix seconds (default 1,700,000,000 = 2023-11-14T22:13:20Z); a fixed epoch,
    /// never the clock, so the output does not depend on when it is generated.
    pub end_timestamp: i64,
    /// Pseudo-words in each topic's vocabulary (default 300).
    pub words_per_topic: usize,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            users: 2_000,
            posts: 10_000,
            interactions: 200_000,
            communities: 8,
            topics: 24,
            topics_per_community: 3,
            mean_follows: 20,
            in_community_follows: 0.8,
            window_days: 60,
            end_timestamp: 1_700_000_000,
            words_per_topic: 300,
        }
    }
}

/// A [`SyntheticConfig`] that passed [`SyntheticConfig::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct ValidSyntheticConfig(SyntheticConfig);

impl SyntheticConfig {
    /// Validates the parameters.
    ///
    /// # Errors
    ///
    /// One variant per parameter: [`Error::TooFewUsers`], [`Error::NoPosts`], [`Error::NoInteractions`],
    /// [`Error::InvalidCommunities`], [`Error::InvalidTopics`], [`Error::InvalidTopicsPerCommunity`],
    /// [`Error::InvalidMeanFollows`], [`Error::InvalidInCommunityFollows`], [`Error::EmptyWindow`],
    /// [`Error::InvalidWordsPerTopic`], and [`Error::TooLarge`] for counts beyond `u32` ids.
    pub fn check(&self) -> Result<ValidSyntheticConfig> {
        let max_id = u32::MAX as usize;
        for (parameter, value) in [
            ("users", self.users),
            ("posts", self.posts),
            ("interactions", self.interactions),
        ] {
            if value > max_id {
                return Err(Error::TooLarge {
                    parameter,
                    value,
                    max: max_id,
                });
            }
        }
        if self.users < 2 {
            return Err(Error::TooFewUsers { users: self.users });
        }
        if self.posts == 0 {
            return Err(Error::NoPosts);
        }
        if self.interactions == 0 {
            return Err(Error::NoInteractions);
        }
        if self.communities == 0 || self.communities > self.users {
            return Err(Error::InvalidCommunities {
                communities: self.communities,
                users: self.users,
            });
        }
        if self.topics == 0 || self.topics > MAX_TOPICS {
            return Err(Error::InvalidTopics {
                topics: self.topics,
                max: MAX_TOPICS,
            });
        }
        if self.topics_per_community == 0 || self.topics_per_community > self.topics {
            return Err(Error::InvalidTopicsPerCommunity {
                topics_per_community: self.topics_per_community,
                topics: self.topics,
            });
        }
        if self.mean_follows == 0 || self.mean_follows >= self.users {
            return Err(Error::InvalidMeanFollows {
                mean_follows: self.mean_follows,
                max: self.users - 1,
            });
        }
        if !(0.0..=1.0).contains(&self.in_community_follows) {
            return Err(Error::InvalidInCommunityFollows {
                value: self.in_community_follows,
            });
        }
        if self.window_days == 0 {
            return Err(Error::EmptyWindow);
        }
        let max_words = MAX_VOCABULARY / self.topics;
        if self.words_per_topic == 0 || self.words_per_topic > max_words {
            return Err(Error::InvalidWordsPerTopic {
                words_per_topic: self.words_per_topic,
                max: max_words,
            });
        }
        Ok(ValidSyntheticConfig(self.clone()))
    }
}

impl ValidSyntheticConfig {
    /// The checked parameters.
    pub fn config(&self) -> &SyntheticConfig {
        &self.0
    }

    /// Generates the network: a pure function of the parameters.
    pub fn generate(&self) -> SocialNetwork {
        super::build(self)
    }

    /// First second of the window.
    pub(crate) fn start_timestamp(&self) -> i64 {
        self.0.end_timestamp - i64::from(self.0.window_days) * DAY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut SyntheticConfig)) -> Error {
        let mut c = SyntheticConfig::default();
        f(&mut c);
        c.check().unwrap_err()
    }

    #[test]
    fn the_default_is_valid_and_documented() {
        let c = SyntheticConfig::default();
        assert_eq!(
            (c.seed, c.users, c.posts, c.interactions),
            (42, 2_000, 10_000, 200_000)
        );
        assert_eq!(c.check().unwrap().config(), &c);
    }

    #[test]
    fn each_invalid_parameter_has_its_error() {
        assert!(matches!(
            with(|c| c.users = 0),
            Error::TooFewUsers { users: 0 }
        ));
        assert!(matches!(
            with(|c| c.users = 1),
            Error::TooFewUsers { users: 1 }
        ));
        assert!(matches!(with(|c| c.posts = 0), Error::NoPosts));
        assert!(matches!(
            with(|c| c.interactions = 0),
            Error::NoInteractions
        ));
        assert!(matches!(
            with(|c| c.communities = 0),
            Error::InvalidCommunities { communities: 0, .. }
        ));
        assert!(matches!(
            with(|c| c.communities = 2_001),
            Error::InvalidCommunities {
                communities: 2_001,
                users: 2_000
            }
        ));
        assert!(matches!(
            with(|c| c.topics = 0),
            Error::InvalidTopics { topics: 0, .. }
        ));
        assert!(matches!(
            with(|c| c.topics = MAX_TOPICS + 1),
            Error::InvalidTopics { .. }
        ));
        assert!(matches!(
            with(|c| c.topics_per_community = 25),
            Error::InvalidTopicsPerCommunity {
                topics_per_community: 25,
                topics: 24
            }
        ));
        assert!(matches!(
            with(|c| c.topics_per_community = 0),
            Error::InvalidTopicsPerCommunity { .. }
        ));
        assert!(matches!(
            with(|c| c.mean_follows = 0),
            Error::InvalidMeanFollows {
                mean_follows: 0,
                ..
            }
        ));
        assert!(matches!(
            with(|c| c.mean_follows = 2_000),
            Error::InvalidMeanFollows {
                mean_follows: 2_000,
                max: 1_999
            }
        ));
        assert!(matches!(
            with(|c| c.in_community_follows = 1.5),
            Error::InvalidInCommunityFollows { .. }
        ));
        assert!(matches!(
            with(|c| c.in_community_follows = f64::NAN),
            Error::InvalidInCommunityFollows { .. }
        ));
        assert!(matches!(with(|c| c.window_days = 0), Error::EmptyWindow));
        assert!(matches!(
            with(|c| c.words_per_topic = 0),
            Error::InvalidWordsPerTopic { .. }
        ));
        assert!(matches!(
            with(|c| c.words_per_topic = 10_000),
            Error::InvalidWordsPerTopic {
                words_per_topic: 10_000,
                max: 8_333
            }
        ));
        assert!(matches!(
            with(|c| c.posts = u32::MAX as usize + 1),
            Error::TooLarge {
                parameter: "posts",
                ..
            }
        ));
    }

    #[test]
    fn missing_fields_take_their_defaults_when_deserialised() {
        let c: SyntheticConfig = serde_json::from_str(r#"{"users": 50, "seed": 7}"#).unwrap();
        assert_eq!(
            c,
            SyntheticConfig {
                users: 50,
                seed: 7,
                ..SyntheticConfig::default()
            }
        );
    }
}
