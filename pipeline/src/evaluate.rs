//! The evaluation stage: rank the full catalog for every evaluated user and score the rankings.
//!
//! Each user with at least one held-out item gets a ranking of every catalog item (including items seen
//! only in test) minus the user's own train items, by exact dot product through
//! [`models::topk::top_k_dot`] (ties go to the lower item index). MostPopular ranks by train count with
//! ties by item index. A user ALS cannot score (no train interactions, hence no learnt vector) gets no
//! ranking and counts with zeros. Users are ranked in parallel; the results are collected in user
//! order, so everything downstream is deterministic.

use std::time::Instant;

use models::als::AlsModel;
use models::popular::MostPopular;
use models::topk::top_k_dot;
use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::interactions::Interactions;
use crate::metrics::{self, Metrics};
use crate::progress;

/// The largest K of the reported recall curve (K = 1..=50).
pub const CURVE_MAX_K: usize = 50;

/// One ranking per user, best first (`None`: not evaluated or cannot be scored).
pub type Rankings = Vec<Option<Vec<u32>>>;

/// A split as per-user item sets on one catalog.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalSplit {
    /// Each user's train items, sorted: excluded from the ranking.
    pub train_items: Vec<Vec<u32>>,
    /// Each user's held-out items, sorted: the relevant set.
    pub test_items: Vec<Vec<u32>>,
    /// The catalog size (every distinct item of the data).
    pub n_items: usize,
}

impl EvalSplit {
    /// Builds the per-user sets of `n_users` users over a catalog of `n_items`.
    pub fn new(train: &Interactions, test: &Interactions, n_users: usize, n_items: usize) -> Self {
        Self {
            train_items: train.items_by_user(n_users),
            test_items: test.items_by_user(n_users),
            n_items,
        }
    }

    /// Number of users with at least one held-out item.
    pub fn evaluated_users(&self) -> usize {
        self.test_items.iter().filter(|t| !t.is_empty()).count()
    }

    /// Number of users.
    pub fn n_users(&self) -> usize {
        self.test_items.len()
    }
}

/// Ranks the top `depth` items by dot product for every evaluated user.
///
/// A user without train items, or beyond the rows of `user_factors`, cannot be scored and gets `None`.
pub fn rank_factors(
    user_factors: ArrayView2<'_, f32>,
    item_factors: ArrayView2<'_, f32>,
    split: &EvalSplit,
    depth: usize,
    show_progress: bool,
) -> Rankings {
    let bar = progress::bar(show_progress, split.evaluated_users() as u64, "evaluating");
    let rankings = (0..split.n_users())
        .into_par_iter()
        .map(|u| {
            let (train, test) = (&split.train_items[u], &split.test_items[u]);
            if test.is_empty() {
                return None;
            }
            bar.inc(1);
            if train.is_empty() || u >= user_factors.nrows() {
                return None;
            }
            let scored = top_k_dot(user_factors.row(u), item_factors, depth, train);
            Some(scored.into_iter().map(|s| s.item).collect())
        })
        .collect();
    bar.finish_and_clear();
    rankings
}

/// [`rank_factors`] with a trained model's factors.
pub fn rank_model(
    model: &AlsModel,
    split: &EvalSplit,
    depth: usize,
    show_progress: bool,
) -> Rankings {
    rank_factors(
        model.user_factors.view(),
        model.item_factors.view(),
        split,
        depth,
        show_progress,
    )
}

/// Ranks the top `depth` items by train popularity for every evaluated user (MostPopular scores every
/// user, even one without train items).
pub fn rank_popular(popular: &MostPopular, split: &EvalSplit, depth: usize) -> Rankings {
    (0..split.n_users())
        .into_par_iter()
        .map(|u| {
            if split.test_items[u].is_empty() {
                return None;
            }
            let scored = popular.recommend(depth, &split.train_items[u]);
            Some(scored.into_iter().map(|s| s.item).collect())
        })
        .collect()
}

/// The scores of one recommender on one split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelScores {
    /// Every metric at the run's K.
    pub metrics: Metrics,
    /// Mean Recall@K for K = 1..=[`CURVE_MAX_K`] (element K - 1).
    pub recall_curve: Vec<f64>,
    /// Wall time of ranking every evaluated user, in seconds.
    pub scoring_seconds: f64,
}

/// Scores `rankings` at `k` and over the recall curve.
pub fn score(
    rankings: &Rankings,
    split: &EvalSplit,
    k: usize,
    scoring_seconds: f64,
) -> ModelScores {
    ModelScores {
        metrics: metrics::summarize(rankings, &split.test_items, k, split.n_items),
        recall_curve: metrics::recall_curve(rankings, &split.test_items, CURVE_MAX_K),
        scoring_seconds,
    }
}

/// The evaluation of the trained model beside MostPopular.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// The model's scores.
    pub model: ModelScores,
    /// The baseline's scores.
    pub most_popular: ModelScores,
    /// The model's rankings (depth max(K, 50)), kept for `recs.tsv`.
    pub model_rankings: Rankings,
}

/// Evaluates `model` and the MostPopular baseline `popular` on `split` at cut-off `k`.
pub fn evaluate(
    model: &AlsModel,
    popular: &MostPopular,
    split: &EvalSplit,
    k: usize,
    show_progress: bool,
) -> Evaluation {
    let depth = k.max(CURVE_MAX_K);
    let start = Instant::now();
    let model_rankings = rank_model(model, split, depth, show_progress);
    let model_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let popular_rankings = rank_popular(popular, split, depth);
    let popular_seconds = start.elapsed().as_secs_f64();
    Evaluation {
        model: score(&model_rankings, split, k, model_seconds),
        most_popular: score(&popular_rankings, split, k, popular_seconds),
        model_rankings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn split() -> EvalSplit {
        EvalSplit {
            // user 0 trained on item 1, user 1 has no train items, user 2 has no test items.
            train_items: vec![vec![1], vec![], vec![0]],
            test_items: vec![vec![2], vec![0], vec![]],
            n_items: 4,
        }
    }

    #[test]
    fn tied_scores_rank_lower_index_first_and_train_items_are_excluded() {
        // Every item scores 1 for user 0 except item 3 (0.5): ranking [0, 2, 3] without train item 1.
        let users = array![[1.0f32], [1.0], [1.0]];
        let items = array![[1.0f32], [1.0], [1.0], [0.5]];
        let r = rank_factors(users.view(), items.view(), &split(), 10, false);
        assert_eq!(r[0], Some(vec![0, 2, 3]));
        // User 1 has no train items: the model cannot score it. User 2 is not evaluated.
        assert_eq!(r[1], None);
        assert_eq!(r[2], None);
        let s = score(&r, &split(), 1, 0.0);
        // K = 1: user 0 misses (item 0 first), user 1 zeros.
        assert_eq!(s.metrics.users, 2);
        assert_eq!(s.metrics.unscored_users, 1);
        assert_eq!(s.metrics.recall, 0.0);
        let s = score(&r, &split(), 2, 0.0);
        // K = 2: user 0 hits item 2 at rank 2: recall 1, ndcg 1/log2(3) / 1; mean over 2 users.
        assert!((s.metrics.recall - 0.5).abs() < 1e-12);
        assert!((s.metrics.ndcg - 0.5 / 3f64.log2()).abs() < 1e-12);
        assert_eq!(s.recall_curve.len(), CURVE_MAX_K);
        assert_eq!(s.recall_curve[0], 0.0);
        assert!((s.recall_curve[1] - 0.5).abs() < 1e-12);
        // Coverage at K = 2: items {0, 2} of a catalog of 4.
        assert!((s.metrics.coverage - 0.5).abs() < 1e-12);
    }

    #[test]
    fn popular_scores_every_evaluated_user_without_their_train_items() {
        // Train counts: item 0 once (user 2), item 1 once (user 0); items 2, 3 never.
        let m =
            models::sparse::CsrMatrix::from_triplets(3, 4, &[(0, 1, 1.0), (2, 0, 1.0)]).unwrap();
        let pop = MostPopular::fit(&m);
        let r = rank_popular(&pop, &split(), 3);
        assert_eq!(r[0], Some(vec![0, 2, 3]));
        assert_eq!(r[1], Some(vec![0, 1, 2]));
        assert_eq!(r[2], None);
    }

    #[test]
    fn split_counts_evaluated_users() {
        let train = Interactions::from_columns(vec![0, 1], vec![0, 1], vec![0, 0], vec![1.0, 1.0]);
        let test = Interactions::from_columns(vec![1], vec![2], vec![1], vec![1.0]);
        let s = EvalSplit::new(&train, &test, 3, 3);
        assert_eq!(s.evaluated_users(), 1);
        assert_eq!(s.test_items, vec![vec![], vec![2], vec![]]);
        assert_eq!(s.train_items, vec![vec![0], vec![1], vec![]]);
    }
}
