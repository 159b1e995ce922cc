//! The index stage: build the HNSW index over the item vectors and measure how well it serves.
//!
//! Recall is measured the way the engine serves: for a sample of users (drawn with the run's seed among
//! users with train items) the query is the user's vector, the user's train items are excluded, and the
//! ANN top K is compared with the exact top K from [`models::topk::top_k_dot_many`]. Recall@K is pooled over
//! the sample: Σ hits / Σ |exact top K|, where a returned item is a hit when it is in the exact top K
//! or scores at least the exact K-th score (ties at the cut-off are not misses). This is the definition
//! of [`models::ann::recall_at_k`], so the numbers agree with the models crate's own benchmarks. It is
//! reported at the configured `ef_search` (the served setting) and over a sweep of search widths.

use std::time::Instant;

use models::ann::{AnnConfig, AnnIndex, BuildControl, BuildProgress};
use models::topk::{Scored, top_k_dot_many};
use ndarray::ArrayView2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::Cancel;
use crate::error::{Error, Result};
use crate::progress;

/// Search widths of the recall sweep (widths below K are skipped).
pub const EF_SWEEP: &[usize] = &[10, 16, 32, 64, 128, 256];

/// Builds the index over `item_factors` (parallel and deterministic), with a progress bar,
/// stopping between batches once `cancel` is set.
///
/// # Errors
///
/// [`crate::Error::Model`] if the index cannot be built; [`Error::Cancelled`] if it was
/// stopped.
pub fn build(
    item_factors: ArrayView2<'_, f32>,
    config: &AnnConfig,
    show_progress: bool,
    cancel: &Cancel,
) -> Result<AnnIndex> {
    let bar = progress::bar(show_progress, item_factors.nrows() as u64, "indexing");
    let progress = |p: BuildProgress| bar.set_position(p.inserted as u64);
    let control = BuildControl {
        stop: Some(cancel.flag()),
        progress: Some(&progress),
    };
    let index = AnnIndex::build_with(item_factors, config, &control)?;
    bar.finish_and_clear();
    index.ok_or_else(|| Error::Cancelled {
        at: "in the index build, between two batches".to_owned(),
    })
}

/// Up to `n` user indices among those whose list in `items_by_user` is not empty (users with train
/// items here; with test items for the evaluation's and the gate's samples), drawn without
/// replacement with `seed`, in ascending order.
pub fn sample_users(items_by_user: &[Vec<u32>], n: usize, seed: u64) -> Vec<u32> {
    let eligible: Vec<u32> = items_by_user
        .iter()
        .enumerate()
        .filter(|(_, items)| !items.is_empty())
        .map(|(u, _)| u as u32)
        .collect();
    if n >= eligible.len() {
        return eligible;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut picked: Vec<u32> = rand::seq::index::sample(&mut rng, eligible.len(), n)
        .into_iter()
        .map(|i| eligible[i])
        .collect();
    picked.sort_unstable();
    picked
}

/// Keeps the lists of at most `n` of the users with items, a uniform sample drawn with `seed` (that
/// of [`sample_users`]), and clears the others'. Returns the sample, or `None` when every user with
/// items fits (nothing is cleared).
pub fn retain_sample(
    items_by_user: &mut [Vec<u32>],
    n: usize,
    seed: u64,
) -> Option<crate::evaluate::UserSample> {
    let eligible = items_by_user.iter().filter(|l| !l.is_empty()).count();
    if n >= eligible {
        return None;
    }
    let picked = sample_users(items_by_user, n, seed);
    let mut keep = vec![false; items_by_user.len()];
    for &u in &picked {
        keep[u as usize] = true;
    }
    for (items, keep) in items_by_user.iter_mut().zip(keep) {
        if !keep {
            items.clear();
        }
    }
    Some(crate::evaluate::UserSample {
        users: picked.len(),
        eligible_users: eligible,
        seed,
    })
}

/// Hits of one query: approximate results that are in the exact top K or score at least the exact
/// K-th score (a tie at the cut-off is not a miss), at most |exact|.
pub fn query_hits(approx: &[Scored], exact: &[Scored]) -> usize {
    let Some(cutoff) = exact.last().map(|s| s.score) else {
        return 0;
    };
    approx
        .iter()
        .filter(|a| a.score >= cutoff || exact.iter().any(|e| e.item == a.item))
        .count()
        .min(exact.len())
}

/// Σ hits / Σ |exact| over queries (1 when no query has a candidate).
fn pooled(hits: usize, relevant: usize) -> f64 {
    if relevant == 0 {
        1.0
    } else {
        hits as f64 / relevant as f64
    }
}

/// One point of the sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The search width.
    pub ef: usize,
    /// Recall@K against brute force.
    pub recall: f64,
    /// Single-thread queries per second (a timing: not reproducible).
    pub queries_per_second: f64,
}

/// What the index stage reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnReport {
    /// The index parameters.
    pub config: AnnConfig,
    /// Index build time in seconds.
    pub build_seconds: f64,
    /// Recall against brute force.
    #[serde(flatten)]
    pub measurement: AnnMeasurement,
}

/// Recall of the index against brute force on a user sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnMeasurement {
    /// The cut-off K.
    pub k: usize,
    /// Users in the sample.
    pub users_sampled: usize,
    /// Recall@K at the configured `ef_search` (the served setting).
    pub recall: f64,
    /// Recall at other search widths.
    pub sweep: Vec<SweepPoint>,
    /// Single-thread exact (brute-force) queries per second, for comparison (64 queries a
    /// matrix product, as the evaluation ranks).
    pub exact_queries_per_second: f64,
}

/// Measures `index` against brute force on the `users` sample at cut-off `k`.
pub fn measure(
    index: &AnnIndex,
    user_factors: ArrayView2<'_, f32>,
    item_factors: ArrayView2<'_, f32>,
    train_items: &[Vec<u32>],
    users: &[u32],
    k: usize,
) -> AnnMeasurement {
    let start = Instant::now();
    // Blocks of users through one matrix product per tile of items, on this one thread.
    let exact: Vec<Vec<Scored>> = users
        .chunks(crate::evaluate::QUERY_BLOCK)
        .flat_map(|block| {
            let rows: Vec<usize> = block.iter().map(|&u| u as usize).collect();
            let queries = user_factors.select(ndarray::Axis(0), &rows);
            let excludes: Vec<&[u32]> = rows.iter().map(|&u| train_items[u].as_slice()).collect();
            top_k_dot_many(queries.view(), item_factors, k, &excludes)
        })
        .collect();
    let relevant: usize = exact.iter().map(Vec::len).sum();
    let exact_qps = per_second(users.len(), start.elapsed().as_secs_f64());
    let run = |ef: Option<usize>| -> (f64, f64) {
        let start = Instant::now();
        let mut hits = 0usize;
        for (&u, truth) in users.iter().zip(&exact) {
            let u = u as usize;
            let query = user_factors.row(u);
            let found = match ef {
                None => index.search(query, k, &train_items[u]),
                Some(ef) => index.search_with_ef(query, k, ef, &train_items[u]),
            };
            hits += query_hits(&found, truth);
        }
        let secs = start.elapsed().as_secs_f64();
        (pooled(hits, relevant), per_second(users.len(), secs))
    };
    let (recall, _) = run(None);
    let sweep = EF_SWEEP
        .iter()
        .filter(|&&ef| ef >= k)
        .map(|&ef| {
            let (recall, queries_per_second) = run(Some(ef));
            SweepPoint {
                ef,
                recall,
                queries_per_second,
            }
        })
        .collect();
    AnnMeasurement {
        k,
        users_sampled: users.len(),
        recall,
        sweep,
        exact_queries_per_second: exact_qps,
    }
}

/// `n / seconds`, or 0 when no time was measured.
fn per_second(n: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_seeded_sorted_and_skips_users_without_train_items() {
        let train: Vec<Vec<u32>> = (0..100)
            .map(|u| if u % 10 == 0 { vec![] } else { vec![1] })
            .collect();
        let a = sample_users(&train, 20, 42);
        assert_eq!(a.len(), 20);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert!(a.iter().all(|&u| u % 10 != 0));
        assert_eq!(a, sample_users(&train, 20, 42));
        assert_ne!(a, sample_users(&train, 20, 43));
        // Asking for more than there are gives all eligible users.
        assert_eq!(sample_users(&train, 1000, 1).len(), 90);
    }

    fn scored(pairs: &[(u32, f32)]) -> Vec<Scored> {
        pairs
            .iter()
            .map(|&(item, score)| Scored { item, score })
            .collect()
    }

    #[test]
    fn query_hits_by_hand() {
        let exact = scored(&[(3, 0.9), (4, 0.8), (1, 0.7), (5, 0.5)]);
        // Items 1 and 3 are in the exact list; item 2 scores below the cut-off.
        assert_eq!(
            query_hits(&scored(&[(1, 0.7), (2, 0.4), (3, 0.9)]), &exact),
            2
        );
        // Item 9 ties the cut-off score: not a miss.
        assert_eq!(query_hits(&scored(&[(9, 0.5)]), &exact), 1);
        assert_eq!(query_hits(&[], &exact), 0);
        assert_eq!(query_hits(&scored(&[(1, 1.0)]), &[]), 0);
        assert_eq!(pooled(0, 0), 1.0);
        assert_eq!(pooled(3, 4), 0.75);
    }

    #[test]
    fn recall_agrees_with_the_models_crate() {
        use ndarray::Array2;
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let items = Array2::from_shape_fn((300, 8), |_| rng.random_range(-1.0f32..1.0));
        let users = Array2::from_shape_fn((50, 8), |_| rng.random_range(-1.0f32..1.0));
        let train: Vec<Vec<u32>> = (0..50u32).map(|u| vec![u, u + 100, u + 200]).collect();
        let config = AnnConfig {
            max_connections: 4,
            ef_construction: 16,
            ef_search: 10,
        };
        let index = AnnIndex::build(items.view(), &config).unwrap();
        let sample: Vec<u32> = (0..50).collect();
        let m = measure(&index, users.view(), items.view(), &train, &sample, 10);
        let expected = models::ann::recall_at_k(&index, items.view(), users.view(), &train, 10);
        assert_eq!(m.recall, expected);
        assert_eq!(m.users_sampled, 50);
        // ef below K is skipped; the widest search is at least as good as the served one here.
        assert_eq!(m.sweep.first().map(|p| p.ef), Some(10));
        assert_eq!(m.sweep[0].recall, m.recall);
        assert!(m.sweep.last().unwrap().recall >= m.recall);
    }
}
