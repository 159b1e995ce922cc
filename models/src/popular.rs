//! The MostPopular baseline: every user gets the items with the most training interactions.

use crate::sparse::CsrMatrix;
use crate::topk::{Scored, sorted_exclusions};

/// Ranks items by their number of training interactions (stored entries per column), ties by
/// the lower item index.
///
/// The ranking is computed once, so [`recommend`](Self::recommend) costs O(k + |exclude|·log)
/// rather than O(n_items).
#[derive(Clone, Debug, PartialEq)]
pub struct MostPopular {
    counts: Vec<u32>,
    /// Item indices, best first.
    order: Vec<u32>,
}

impl MostPopular {
    /// Counts the users who interacted with each item of a user × item matrix.
    pub fn fit(user_items: &CsrMatrix) -> Self {
        let mut counts = vec![0u32; user_items.n_cols()];
        for &item in user_items.indices() {
            counts[item as usize] = counts[item as usize].saturating_add(1);
        }
        Self::from_counts(counts)
    }

    /// A model from per-item counts, e.g. the `popularity` stored in a model artifact.
    ///
    /// # Panics
    ///
    /// Panics if there are more than `u32::MAX + 1` items.
    pub fn from_counts(counts: Vec<u32>) -> Self {
        assert!(
            counts.len() <= (u32::MAX as usize).saturating_add(1),
            "MostPopular: too many items for u32 indices"
        );
        let mut order: Vec<u32> = (0..counts.len()).map(|i| i as u32).collect();
        // Stable sort on descending count keeps lower indices first among ties.
        order.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]));
        Self { counts, order }
    }

    /// Interactions per item.
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// The `k` most popular items not in `exclude` (sorted ascending; an unsorted slice is
    /// sorted into a copy), with their count as the score.
    pub fn recommend(&self, k: usize, exclude: &[u32]) -> Vec<Scored> {
        let exclude = sorted_exclusions(exclude);
        self.order
            .iter()
            .filter(|item| exclude.binary_search(item).is_err())
            .take(k)
            .map(|&item| Scored {
                item,
                score: self.counts[item as usize] as f32,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topk::top_k_by;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn counts_users_per_item() {
        // Item 2 three times (one a duplicate of the same user, summed into one entry).
        let m = CsrMatrix::from_triplets(
            3,
            4,
            &[
                (0, 2, 1.0),
                (0, 2, 1.0),
                (1, 2, 1.0),
                (2, 2, 5.0),
                (1, 0, 1.0),
            ],
        )
        .unwrap();
        let model = MostPopular::fit(&m);
        assert_eq!(model.counts(), &[1, 0, 3, 0]);
        let recs = model.recommend(3, &[]);
        assert_eq!(
            recs,
            vec![
                Scored {
                    item: 2,
                    score: 3.0
                },
                Scored {
                    item: 0,
                    score: 1.0
                },
                Scored {
                    item: 1,
                    score: 0.0
                },
            ]
        );
    }

    #[test]
    fn matches_brute_force_top_k_with_exclusions() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let counts: Vec<u32> = (0..200).map(|_| rng.random_range(0..8)).collect();
        let model = MostPopular::from_counts(counts.clone());
        for _ in 0..50 {
            let exclude: Vec<u32> = (0..rng.random_range(0..30))
                .map(|_| rng.random_range(0..200))
                .collect();
            let k = rng.random_range(0..40);
            let want = top_k_by(counts.len(), k, &exclude, |i| counts[i as usize] as f32);
            assert_eq!(model.recommend(k, &exclude), want);
        }
    }

    #[test]
    fn k_beyond_available_items_returns_all_remaining() {
        let model = MostPopular::from_counts(vec![1, 2, 3]);
        let items: Vec<u32> = model.recommend(10, &[1]).iter().map(|s| s.item).collect();
        assert_eq!(items, vec![2, 0]);
    }
}
