//! Who and what the metrics are about: users by activity, items by popularity, and novelty.
//!
//! - **Users by activity**, on each evaluated user's number of train items: *cold* up to
//!   [`SegmentConfig::cold_max`] (default 20), *light* up to [`SegmentConfig::light_max`] (default
//!   100), *heavy* above.
//! - **Items by popularity**, on the train count of each item (users who interacted with it): the
//!   *head* is the shortest prefix of the items in MostPopular order (count descending, ties by lower
//!   index) that holds at least [`SegmentConfig::head_share`] (default 20 %) of the train
//!   interactions; the *tail* is every other catalog item, those never seen in train included.
//! - **Novelty** of a recommended item is its self-information −log2 p with p = (train count + 1) /
//!   (users with train items + 1): the share of users who know it, smoothed so that an item never seen
//!   in train is finite (and the most novel).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Thresholds of the segments.
///
/// `Default` gives cold ≤ 20 train items < light ≤ 100 < heavy, and a head of 20 % of the train
/// interactions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentConfig {
    /// A user with at most this many train items is *cold* (default 20).
    pub cold_max: usize,
    /// A user with more than `cold_max` and at most this many train items is *light*; above is
    /// *heavy* (default 100).
    pub light_max: usize,
    /// Share of the train interactions the head items hold, strictly between 0 and 1 (default 0.2).
    pub head_share: f64,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        Self {
            cold_max: 20,
            light_max: 100,
            head_share: 0.2,
        }
    }
}

impl SegmentConfig {
    /// Checks the thresholds.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`]: `evaluation.segments.light_max` when it is not above `cold_max`,
    /// `evaluation.segments.head_share` outside (0, 1).
    pub fn validate(&self) -> Result<()> {
        if self.light_max <= self.cold_max {
            return Err(Error::InvalidConfig {
                field: "evaluation.segments.light_max",
                reason: format!("must be above cold_max ({})", self.cold_max),
            });
        }
        let h = self.head_share;
        if !(h.is_finite() && h > 0.0 && h < 1.0) {
            return Err(Error::InvalidConfig {
                field: "evaluation.segments.head_share",
                reason: "must be strictly between 0 and 1".into(),
            });
        }
        Ok(())
    }

    /// The activity segment of a user with `train_items` train items.
    pub fn user_segment(&self, train_items: usize) -> UserSegment {
        if train_items <= self.cold_max {
            UserSegment::Cold
        } else if train_items <= self.light_max {
            UserSegment::Light
        } else {
            UserSegment::Heavy
        }
    }
}

/// A user's activity segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserSegment {
    /// Few train items.
    Cold,
    /// Some.
    Light,
    /// Many.
    Heavy,
}

impl UserSegment {
    /// All segments in report order.
    pub const ALL: [Self; 3] = [Self::Cold, Self::Light, Self::Heavy];

    /// The segment's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cold => "cold",
            Self::Light => "light",
            Self::Heavy => "heavy",
        }
    }
}

/// Users who interacted with each item in train, from each user's sorted train items.
pub fn item_counts(train_items: &[Vec<u32>], n_items: usize) -> Vec<u32> {
    let mut counts = vec![0u32; n_items];
    for items in train_items {
        for &i in items {
            counts[i as usize] += 1;
        }
    }
    counts
}

/// Which items are in the head: the shortest prefix in MostPopular order (count descending, ties by
/// lower index) whose counts sum to at least `share` of all counts. No item is in the head when no
/// item has a count.
pub fn head_items(counts: &[u32], share: f64) -> Vec<bool> {
    let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    let mut head = vec![false; counts.len()];
    if total == 0 {
        return head;
    }
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    let target = share * total as f64;
    let mut held = 0u64;
    for i in order {
        if held as f64 >= target {
            break;
        }
        head[i] = true;
        held += u64::from(counts[i]);
    }
    head
}

/// Self-information −log2((count + 1) / (users + 1)) of every item, `users` being the users with at
/// least one train item.
pub fn self_information(counts: &[u32], users: usize) -> Vec<f64> {
    let denominator = (users + 1) as f64;
    counts
        .iter()
        .map(|&c| -((f64::from(c) + 1.0) / denominator).log2())
        .collect()
}

/// How the segments came out on the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentDefinition {
    /// The thresholds.
    pub config: SegmentConfig,
    /// Evaluated users per activity segment, in [`UserSegment::ALL`] order.
    pub users: Vec<SegmentCount>,
    /// Items in the head.
    pub head_items: usize,
    /// Items in the tail (the rest of the catalog).
    pub tail_items: usize,
    /// Share of the train interactions the head actually holds.
    pub head_train_share: f64,
    /// Share of the held-out (test) interactions on head items.
    pub head_test_share: f64,
}

/// A named segment's size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentCount {
    /// `cold`, `light` or `heavy`.
    pub segment: String,
    /// Evaluated users in it.
    pub users: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_thresholds_on_a_hand_made_data_set() {
        let c = SegmentConfig {
            cold_max: 2,
            light_max: 4,
            head_share: 0.2,
        };
        // Users with 0..=6 train items.
        let segs: Vec<UserSegment> = (0..=6).map(|n| c.user_segment(n)).collect();
        use UserSegment::*;
        assert_eq!(segs, [Cold, Cold, Cold, Light, Light, Heavy, Heavy]);
        let d = SegmentConfig::default();
        assert_eq!(d.user_segment(20), Cold);
        assert_eq!(d.user_segment(21), Light);
        assert_eq!(d.user_segment(100), Light);
        assert_eq!(d.user_segment(101), Heavy);
    }

    #[test]
    fn head_is_the_shortest_popular_prefix_holding_the_share() {
        // Train items of 4 users over 5 items: counts [1, 4, 2, 2, 0], 9 interactions.
        let train = vec![vec![0, 1, 2], vec![1, 3], vec![1, 2], vec![1, 3]];
        let counts = item_counts(&train, 5);
        assert_eq!(counts, [1, 4, 2, 2, 0]);
        // 20 % of 9 = 1.8: item 1 alone (4) holds it.
        assert_eq!(head_items(&counts, 0.2), [false, true, false, false, false]);
        // 50 % = 4.5: item 1 (4) then item 2 (tie with 3, lower index first) → 6.
        assert_eq!(head_items(&counts, 0.5), [false, true, true, false, false]);
        // 4 / 9 exactly: item 1 is enough.
        assert_eq!(
            head_items(&counts, 4.0 / 9.0),
            [false, true, false, false, false]
        );
        assert_eq!(head_items(&[0, 0], 0.2), [false, false]);
    }

    #[test]
    fn self_information_by_hand() {
        // 3 users with train items: p = (c + 1) / 4.
        let s = self_information(&[3, 1, 0], 3);
        assert!((s[0] - 0.0).abs() < 1e-12);
        assert!((s[1] - 1.0).abs() < 1e-12);
        assert!((s[2] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn invalid_thresholds_are_rejected() {
        let c = SegmentConfig {
            cold_max: 10,
            light_max: 10,
            ..SegmentConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "evaluation.segments.light_max",
                ..
            })
        ));
        let c = SegmentConfig {
            head_share: 0.0,
            ..SegmentConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "evaluation.segments.head_share",
                ..
            })
        ));
        SegmentConfig::default().validate().unwrap();
    }
}
