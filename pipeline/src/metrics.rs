//! The ranking metrics of `docs/EVALUATION.md`, as pure functions of index vectors.
//!
//! A *ranking* is a list of item indices, best first, that already excludes the user's train items; a
//! *relevant set* is the user's held-out (test) items, sorted ascending without duplicates. Nothing here
//! knows about models or files, so the tests can check every number against values computed by hand and
//! an outside script can recompute them from `recs.tsv` and `test.tsv`.
//!
//! Relevance is binary. With `hits` the number of relevant items among the first `K` of the ranking:
//!
//! - Recall@K = hits / |test_u| (not hits / min(|test_u|, K)),
//! - Precision@K = hits / K (even when the ranking is shorter than K),
//! - HitRate@K = 1 if hits > 0,
//! - NDCG@K = DCG / IDCG with DCG = Σ rel_r / log2(r + 1) over ranks r = 1..K and IDCG the DCG of
//!   min(|test_u|, K) hits at the top,
//!
//! each averaged over *evaluated users* (every user with at least one test item). A user the model
//! cannot score (`None` ranking) counts with zeros. Coverage@K is the number of distinct items in any
//! evaluated user's top K divided by the catalog size. Sums run in user order, so the results are
//! bit-for-bit reproducible.

use serde::{Deserialize, Serialize};

/// The metrics of one user at one cut-off `K`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct UserMetrics {
    /// Relevant items among the first `K` of the ranking.
    pub hits: usize,
    /// hits / |test_u|.
    pub recall: f64,
    /// hits / K.
    pub precision: f64,
    /// 1 if any hit, else 0.
    pub hit_rate: f64,
    /// DCG / IDCG with binary relevance.
    pub ndcg: f64,
}

/// Metrics at one cut-off, averaged over the evaluated users.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The cut-off `K`.
    pub k: usize,
    /// Users with at least one test item (the denominator of every mean).
    pub users: usize,
    /// Evaluated users the model could not score (they count with zeros).
    pub unscored_users: usize,
    /// Mean Recall@K.
    pub recall: f64,
    /// Mean Precision@K.
    pub precision: f64,
    /// Mean HitRate@K.
    pub hit_rate: f64,
    /// Mean NDCG@K.
    pub ndcg: f64,
    /// Distinct items in any evaluated user's top K / catalog size.
    pub coverage: f64,
    /// The catalog size used for coverage.
    pub catalog_size: usize,
}

/// Returns whether `relevant` contains `item`; `relevant` must be sorted ascending.
fn is_relevant(relevant: &[u32], item: u32) -> bool {
    relevant.binary_search(&item).is_ok()
}

/// Relevant items among the first `k` entries of `ranked`.
///
/// `relevant` must be sorted ascending; `ranked` is expected to hold no duplicates (a duplicate hit
/// would be counted twice, which no ranking produced by this crate does).
pub fn hits_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> usize {
    debug_assert!(
        relevant.windows(2).all(|w| w[0] < w[1]),
        "relevant must be sorted"
    );
    ranked
        .iter()
        .take(k)
        .filter(|&&item| is_relevant(relevant, item))
        .count()
}

/// The discount of rank `rank` (1-based): 1 / log2(rank + 1).
fn discount(rank: usize) -> f64 {
    1.0 / ((rank + 1) as f64).log2()
}

/// DCG@K with binary relevance: Σ over ranks r = 1..=K of rel_r / log2(r + 1).
pub fn dcg_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .enumerate()
        .filter(|&(_, &item)| is_relevant(relevant, item))
        .map(|(i, _)| discount(i + 1))
        .sum()
}

/// The ideal DCG@K of a user with `n_relevant` test items: min(n_relevant, K) hits at the top.
pub fn idcg_at_k(n_relevant: usize, k: usize) -> f64 {
    (1..=n_relevant.min(k)).map(discount).sum()
}

/// All metrics of one user at cut-off `k`.
///
/// `ranked` is best first and excludes the user's train items; `relevant` (sorted ascending) are the
/// user's test items. A user with no relevant items is not evaluated by the protocol; for completeness
/// this returns zeros for it, as it does for `k == 0`.
pub fn user_metrics(ranked: &[u32], relevant: &[u32], k: usize) -> UserMetrics {
    if relevant.is_empty() || k == 0 {
        return UserMetrics::default();
    }
    let hits = hits_at_k(ranked, relevant, k);
    UserMetrics {
        hits,
        recall: hits as f64 / relevant.len() as f64,
        precision: hits as f64 / k as f64,
        hit_rate: if hits > 0 { 1.0 } else { 0.0 },
        ndcg: dcg_at_k(ranked, relevant, k) / idcg_at_k(relevant.len(), k),
    }
}

/// Averages the metrics at cut-off `k` over the evaluated users.
///
/// `rankings[u]` is user `u`'s ranking (`None` when the model cannot score the user) and
/// `relevant[u]` the user's test items (sorted ascending); users with no test items are skipped.
/// Rankings longer than `k` are cut. `catalog_size` is the denominator of coverage. With no evaluated
/// user every mean is 0.
///
/// # Panics
///
/// If `rankings` and `relevant` differ in length.
pub fn summarize(
    rankings: &[Option<Vec<u32>>],
    relevant: &[Vec<u32>],
    k: usize,
    catalog_size: usize,
) -> Metrics {
    assert_eq!(rankings.len(), relevant.len(), "one ranking per user");
    let mut users = 0usize;
    let mut unscored_users = 0usize;
    let mut sum = UserMetrics::default();
    let mut seen = vec![false; catalog_size];
    let mut distinct = 0usize;
    for (ranking, rel) in rankings.iter().zip(relevant) {
        if rel.is_empty() {
            continue;
        }
        users += 1;
        let Some(ranking) = ranking else {
            unscored_users += 1;
            continue;
        };
        let m = user_metrics(ranking, rel, k);
        sum.recall += m.recall;
        sum.precision += m.precision;
        sum.hit_rate += m.hit_rate;
        sum.ndcg += m.ndcg;
        for &item in ranking.iter().take(k) {
            if let Some(slot) = seen.get_mut(item as usize)
                && !*slot
            {
                *slot = true;
                distinct += 1;
            }
        }
    }
    let mean = |x: f64| if users == 0 { 0.0 } else { x / users as f64 };
    Metrics {
        k,
        users,
        unscored_users,
        recall: mean(sum.recall),
        precision: mean(sum.precision),
        hit_rate: mean(sum.hit_rate),
        ndcg: mean(sum.ndcg),
        coverage: if catalog_size == 0 {
            0.0
        } else {
            distinct as f64 / catalog_size as f64
        },
        catalog_size,
    }
}

/// Mean Recall@K for every K in 1..=`max_k` (element `K - 1`), over the evaluated users.
///
/// Equal to `summarize(rankings, relevant, K, _).recall` for each K, computed in one pass.
///
/// # Panics
///
/// If `rankings` and `relevant` differ in length.
pub fn recall_curve(
    rankings: &[Option<Vec<u32>>],
    relevant: &[Vec<u32>],
    max_k: usize,
) -> Vec<f64> {
    assert_eq!(rankings.len(), relevant.len(), "one ranking per user");
    let mut sums = vec![0.0f64; max_k];
    let mut users = 0usize;
    for (ranking, rel) in rankings.iter().zip(relevant) {
        if rel.is_empty() {
            continue;
        }
        users += 1;
        let Some(ranking) = ranking else { continue };
        let mut hits = 0usize;
        for (i, slot) in sums.iter_mut().enumerate() {
            if let Some(&item) = ranking.get(i)
                && is_relevant(rel, item)
            {
                hits += 1;
            }
            *slot += hits as f64 / rel.len() as f64;
        }
    }
    if users > 0 {
        for s in &mut sums {
            *s /= users as f64;
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-12;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < EPS
    }

    #[test]
    fn hand_computed_user_with_more_test_items_than_k() {
        // K = 3, five test items {1, 2, 3, 4, 5}; ranking hits at ranks 1 and 3.
        let ranked = [1, 9, 4, 2];
        let relevant = [1, 2, 3, 4, 5];
        let m = user_metrics(&ranked, &relevant, 3);
        assert_eq!(m.hits, 2);
        assert!(close(m.recall, 2.0 / 5.0));
        assert!(close(m.precision, 2.0 / 3.0));
        assert!(close(m.hit_rate, 1.0));
        // DCG = 1/log2(2) + 1/log2(4) = 1 + 0.5; IDCG over min(5, 3) = 3 hits = 1 + 1/log2(3) + 0.5.
        let idcg = 1.0 + 1.0 / 3f64.log2() + 0.5;
        assert!(close(m.ndcg, 1.5 / idcg));
    }

    #[test]
    fn hand_computed_user_with_fewer_test_items_than_k() {
        // K = 5, two test items {7, 8}; hit at rank 2 only.
        let ranked = [3, 8, 1, 2, 4];
        let relevant = [7, 8];
        let m = user_metrics(&ranked, &relevant, 5);
        assert_eq!(m.hits, 1);
        assert!(close(m.recall, 0.5));
        assert!(close(m.precision, 0.2));
        assert!(close(m.hit_rate, 1.0));
        // DCG = 1/log2(3); IDCG over min(2, 5) = 2 hits = 1 + 1/log2(3).
        let expected = (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!(close(m.ndcg, expected));
    }

    #[test]
    fn perfect_ranking_has_ndcg_one_and_miss_has_zeros() {
        let m = user_metrics(&[4, 2, 9], &[2, 4], 3);
        assert!(close(m.ndcg, 1.0));
        assert!(close(m.recall, 1.0));
        let miss = user_metrics(&[1, 3], &[2], 2);
        assert_eq!(miss, UserMetrics::default());
    }

    #[test]
    fn hits_beyond_k_do_not_count() {
        let m = user_metrics(&[0, 1, 2, 3], &[3], 3);
        assert_eq!(m.hits, 0);
        assert!(close(m.ndcg, 0.0));
        let m = user_metrics(&[0, 1, 2, 3], &[3], 4);
        assert!(close(m.ndcg, 1.0 / 5f64.log2()));
    }

    #[test]
    fn short_ranking_precision_still_divides_by_k() {
        // A catalog smaller than K: the ranking has 2 entries, both hits.
        let m = user_metrics(&[5, 6], &[5, 6], 10);
        assert!(close(m.precision, 0.2));
        assert!(close(m.recall, 1.0));
        assert!(close(m.ndcg, 1.0));
    }

    #[test]
    fn idcg_is_capped_at_k() {
        assert!(close(idcg_at_k(0, 10), 0.0));
        assert!(close(idcg_at_k(1, 10), 1.0));
        assert!(close(idcg_at_k(20, 2), 1.0 + 1.0 / 3f64.log2()));
        assert!(close(idcg_at_k(2, 20), idcg_at_k(2, 2)));
    }

    #[test]
    fn summarize_hand_computed_three_users_and_a_skipped_one() {
        // Catalog of 10 items, K = 2.
        // u0: ranking [1, 2], test {2}: recall 1, precision 0.5, hit 1, ndcg (1/log2 3)/1.
        // u1: cannot be scored, test {3}: zeros.
        // u2: ranking [4, 5], test {4, 6, 7}: recall 1/3, precision 0.5, hit 1, ndcg 1/(1 + 1/log2 3).
        // u3: no test items: not evaluated even though it has a ranking.
        let rankings = vec![
            Some(vec![1, 2, 9]),
            None,
            Some(vec![4, 5]),
            Some(vec![8, 9]),
        ];
        let relevant = vec![vec![2], vec![3], vec![4, 6, 7], vec![]];
        let m = summarize(&rankings, &relevant, 2, 10);
        assert_eq!(m.users, 3);
        assert_eq!(m.unscored_users, 1);
        assert_eq!(m.k, 2);
        let l3 = 3f64.log2();
        assert!(close(m.recall, (1.0 + 0.0 + 1.0 / 3.0) / 3.0));
        assert!(close(m.precision, (0.5 + 0.0 + 0.5) / 3.0));
        assert!(close(m.hit_rate, 2.0 / 3.0));
        assert!(close(
            m.ndcg,
            (1.0 / l3 + 0.0 + 1.0 / (1.0 + 1.0 / l3)) / 3.0
        ));
        // Top-2 items of evaluated users: {1, 2, 4, 5}; u3's {8, 9} do not count.
        assert!(close(m.coverage, 0.4));
        assert_eq!(m.catalog_size, 10);
    }

    #[test]
    fn summarize_with_no_evaluated_users_is_all_zeros() {
        let m = summarize(&[Some(vec![1])], &[vec![]], 10, 5);
        assert_eq!(m.users, 0);
        assert!(close(m.recall, 0.0) && close(m.ndcg, 0.0) && close(m.coverage, 0.0));
    }

    #[test]
    fn recall_curve_matches_summarize_at_every_k() {
        let rankings = vec![
            Some(vec![3, 1, 4, 0, 5]),
            None,
            Some(vec![2, 7, 6]),
            Some(vec![0, 1, 2, 3, 4]),
        ];
        let relevant = vec![vec![0, 5], vec![1], vec![6, 7, 8], vec![]];
        let curve = recall_curve(&rankings, &relevant, 6);
        assert_eq!(curve.len(), 6);
        for (i, &r) in curve.iter().enumerate() {
            let k = i + 1;
            assert!(
                close(r, summarize(&rankings, &relevant, k, 10).recall),
                "k={k}"
            );
        }
        // By hand at K = 4: u0 hit 0 → 1/2; u1 0; u2 hits 7, 6 → 2/3; mean over 3 users.
        assert!(close(curve[3], (0.5 + 2.0 / 3.0) / 3.0));
    }
}
