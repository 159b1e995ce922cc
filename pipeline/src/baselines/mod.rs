//! More baselines under the same protocol as ALS: item-kNN, EASE^R and Random.
//!
//! They exist to put the trained model's numbers in context, so they live with the evaluation rather
//! than in `models`: nothing serves them. Each is fitted on the binary train matrix (the per-user
//! train item sets of the [`EvalSplit`]), ranks the full catalog without the user's train items
//! exactly as ALS does (descending score, ties to the lower item index, via
//! [`models::topk::top_k_by`]), and is scored by the same [`Scorer`], with its fit and scoring
//! times.
//!
//! - [`item_knn`]: cosine item-item similarity, the top `knn_neighbours` neighbours of each item;
//!   a user's score for an item is the sum of its similarities to the user's train items.
//! - [`ease`]: EASE^R (Steck, 2019), the closed form B = I − P·diag(1/diag(P)) with
//!   P = (XᵀX + λI)⁻¹ and B's diagonal zero; it needs a dense item × item solve, so it runs only
//!   on catalogs of at most `ease_max_items` items and is otherwise skipped with the reason.
//! - [`random`]: a seeded uniform ranking.
//!
//! Item-kNN and EASE cannot score a user without train items (every score is 0): like ALS, such a
//! user gets no ranking and counts with zeros. Random scores everyone.
//!
//! As the protocol asks, their hyper-parameters (item-kNN's neighbours, EASE's λ) are chosen by
//! NDCG@K on the validation split (the protocol's rule applied to train), never on test, from small
//! grids; ties go to the earlier grid value. The chosen value is refitted on the whole train part.

pub mod ease;
pub mod item_knn;
pub mod random;

use std::time::Instant;

use models::topk::top_k_by;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::evaluate::{EvalSplit, ModelScores, Rankings, Scorer};

/// The baselines' settings.
///
/// `Default` gives neighbours {25, 50, 100, 200} for item-kNN, λ ∈ {100, 250, 500, 1000} and a limit
/// of 3,000 items for EASE, and seed 42 for Random.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineConfig {
    /// Neighbours kept per item by item-kNN, the values tried on the validation split (default
    /// 25, 50, 100, 200; at least one, each at least 1).
    pub knn_neighbours: Vec<usize>,
    /// EASE's L2 penalty λ, the values tried on the validation split (default 100, 250, 500, 1000;
    /// at least one, each finite and positive).
    pub ease_lambdas: Vec<f64>,
    /// The largest catalog EASE is fitted on (default 3,000 items). Its dense solve takes O(items³)
    /// time, once per λ on the validation split and once more on train (0.6 s a solve at 1,682
    /// items on 2 idle cores, so about 3.5 s at 3,000 and 2 minutes at 10,000), and 20 bytes per
    /// item pair (two f64 and one f32 matrix: 180 MB at 3,000, 2 GB at 10,000).
    pub ease_max_items: usize,
    /// Seed of the Random baseline (default 42).
    pub random_seed: u64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self {
            knn_neighbours: vec![25, 50, 100, 200],
            ease_lambdas: vec![100.0, 250.0, 500.0, 1000.0],
            ease_max_items: 3_000,
            random_seed: 42,
        }
    }
}

impl BaselineConfig {
    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`]: `evaluation.baselines.knn_neighbours` empty or holding a 0,
    /// `evaluation.baselines.ease_lambdas` empty or holding a value that is not finite and positive.
    pub fn validate(&self) -> Result<()> {
        if self.knn_neighbours.is_empty() || self.knn_neighbours.contains(&0) {
            return Err(Error::InvalidConfig {
                field: "evaluation.baselines.knn_neighbours",
                reason: "needs at least one value, each at least 1".into(),
            });
        }
        if self.ease_lambdas.is_empty()
            || !self.ease_lambdas.iter().all(|l| l.is_finite() && *l > 0.0)
        {
            return Err(Error::InvalidConfig {
                field: "evaluation.baselines.ease_lambdas",
                reason: "needs at least one value, each a finite number above 0".into(),
            });
        }
        Ok(())
    }
}

/// One baseline in the report: scored, or skipped and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// `ItemKNN`, `EASE` or `Random`.
    pub name: String,
    /// Its parameters in words.
    pub params: String,
    /// The hyper-parameter values tried on the validation split with their NDCG@K, in grid order
    /// (empty when there was nothing to choose or no validation split).
    pub validation: Vec<GridPoint>,
    /// Its scores (`None` when skipped).
    pub scores: Option<ModelScores>,
    /// Why it was skipped (`None` when scored).
    pub skipped: Option<String>,
}

/// Test rankings by model name.
pub type NamedRankings = Vec<(String, Rankings)>;

/// One hyper-parameter value scored on the validation split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridPoint {
    /// The value (neighbours or λ).
    pub value: f64,
    /// NDCG@K on the validation split.
    pub ndcg: f64,
}

/// Scores each of `values` by NDCG@`k` on `validation` with `rank` and returns the best (ties to the
/// earlier value) with every point; without a validation split or with one value, the first value
/// and no points.
fn choose<T: Copy + Into<f64>>(
    values: &[T],
    validation: Option<&EvalSplit>,
    k: usize,
    mut rank: impl FnMut(T, &EvalSplit) -> Result<Rankings>,
) -> Result<(T, Vec<GridPoint>)> {
    let Some(split) = validation.filter(|_| values.len() > 1) else {
        return Ok((values[0], Vec::new()));
    };
    let mut points = Vec::with_capacity(values.len());
    for &v in values {
        let rankings = rank(v, split)?;
        let m = crate::metrics::summarize(&rankings, &split.test_items, k, split.n_items);
        points.push(GridPoint {
            value: v.into(),
            ndcg: m.ndcg,
        });
    }
    let scores: Vec<f64> = points.iter().map(|p| p.ndcg).collect();
    let best = crate::tune::argmax_first(&scores).unwrap_or(0);
    Ok((values[best], points))
}

/// "chosen by validation NDCG from 25 (0.1000), 50 (0.1200)" or "fixed".
fn how_chosen(points: &[GridPoint]) -> String {
    if points.is_empty() {
        "fixed".to_owned()
    } else {
        let values: Vec<String> = points
            .iter()
            .map(|p| format!("{} ({:.4})", p.value, p.ndcg))
            .collect();
        format!("chosen by validation NDCG from {}", values.join(", "))
    }
}

/// Fits and scores item-kNN, EASE (when the catalog is small enough) and Random with `scorer`,
/// choosing item-kNN's neighbours and EASE's λ on `validation` (the validation split: fit-part items
/// excluded, validation items relevant; `None` keeps the first value of each grid). Returns the
/// baselines and, for the paired comparison, the test rankings of each scored one by name.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for invalid settings. A numerical breakdown of EASE's solve (its Gram
/// matrix is positive definite for λ > 0, but a λ far below the counts can round a pivot to zero)
/// skips EASE with the error as the reason instead.
pub fn evaluate_all(
    scorer: &Scorer<'_>,
    config: &BaselineConfig,
    validation: Option<&EvalSplit>,
) -> Result<(Vec<Baseline>, NamedRankings)> {
    config.validate()?;
    let (split, k, depth) = (scorer.split, scorer.k, scorer.depth());
    let mut out = Vec::with_capacity(3);
    let mut rankings = Vec::with_capacity(3);

    // One fit with the most neighbours serves every smaller k: the lists are sorted.
    let most = config.knn_neighbours.iter().copied().max().unwrap_or(1);
    let val_knn = validation.map(|v| item_knn::ItemKnn::fit(&v.train_items, v.n_items, most));
    let (neighbours, knn_points) = choose(
        &config
            .knn_neighbours
            .iter()
            .map(|&n| n as u32)
            .collect::<Vec<_>>(),
        validation,
        k,
        |n, v| {
            let knn = val_knn.as_ref().map(|m| m.truncated(n as usize));
            Ok(knn.map_or_else(Vec::new, |m| m.rank(v, k)))
        },
    )?;
    let start = Instant::now();
    let knn = item_knn::ItemKnn::fit(&split.train_items, split.n_items, neighbours as usize);
    let fit = start.elapsed().as_secs_f64();
    let (ranked, scores) = scorer.timed(fit, || knn.rank(split, depth));
    rankings.push(("ItemKNN".to_owned(), ranked));
    tracing::info!(ndcg = scores.metrics.ndcg, neighbours, fit, "item-knn");
    out.push(Baseline {
        name: "ItemKNN".into(),
        params: format!(
            "cosine similarity, {neighbours} neighbours per item ({})",
            how_chosen(&knn_points)
        ),
        validation: knn_points,
        scores: Some(scores),
        skipped: None,
    });

    if split.n_items > config.ease_max_items {
        let reason = format!(
            "the catalog has {} items, more than the limit of {} for EASE's dense item × item solve \
             (O(items³) time, {:.1} GB of memory)",
            split.n_items,
            config.ease_max_items,
            ease::memory_bytes(split.n_items) as f64 / 1e9
        );
        tracing::info!(reason, "ease skipped");
        out.push(Baseline {
            name: "EASE".into(),
            params: format!("λ from {}", lambda_list(&config.ease_lambdas)),
            validation: Vec::new(),
            scores: None,
            skipped: Some(reason),
        });
    } else {
        match fit_ease(scorer, &config.ease_lambdas, validation) {
            Ok((baseline, ranked)) => {
                rankings.push(("EASE".to_owned(), ranked));
                out.push(baseline);
            }
            // A numerical breakdown of the solve loses one baseline, not the run.
            Err(e @ Error::NotPositiveDefinite { .. }) => {
                tracing::warn!(error = %e, "ease skipped");
                out.push(Baseline {
                    name: "EASE".into(),
                    params: format!("λ from {}", lambda_list(&config.ease_lambdas)),
                    validation: Vec::new(),
                    scores: None,
                    skipped: Some(format!("the dense solve failed: {e}")),
                });
            }
            Err(e) => return Err(e),
        }
    }

    let (ranked, scores) = scorer.timed(0.0, || random::rank(split, depth, config.random_seed));
    rankings.push(("Random".to_owned(), ranked));
    out.push(Baseline {
        name: "Random".into(),
        params: format!("uniform, seed {}", config.random_seed),
        validation: Vec::new(),
        scores: Some(scores),
        skipped: None,
    });
    Ok((out, rankings))
}

/// Every baseline [`evaluate_all`] would score, listed as skipped for `reason`.
pub fn skipped_all(reason: &str) -> Vec<Baseline> {
    ["ItemKNN", "EASE", "Random"]
        .into_iter()
        .map(|name| Baseline {
            name: name.into(),
            params: String::new(),
            validation: Vec::new(),
            scores: None,
            skipped: Some(reason.to_owned()),
        })
        .collect()
}

/// "100, 250, 500".
fn lambda_list(lambdas: &[f64]) -> String {
    lambdas
        .iter()
        .map(f64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// EASE with λ chosen on `validation`, refitted on train and scored: the baseline and its rankings.
///
/// # Errors
///
/// [`Error::NotPositiveDefinite`] if a solve breaks down numerically.
fn fit_ease(
    scorer: &Scorer<'_>,
    lambdas: &[f64],
    validation: Option<&EvalSplit>,
) -> Result<(Baseline, Rankings)> {
    let (split, k, depth) = (scorer.split, scorer.k, scorer.depth());
    let (lambda, points) = choose(lambdas, validation, k, |l, v| {
        Ok(ease::Ease::fit(&v.train_items, v.n_items, l)?.rank(v, k))
    })?;
    let start = Instant::now();
    let ease = ease::Ease::fit(&split.train_items, split.n_items, lambda)?;
    let fit = start.elapsed().as_secs_f64();
    let (ranked, scores) = scorer.timed(fit, || ease.rank(split, depth));
    tracing::info!(ndcg = scores.metrics.ndcg, lambda, fit, "ease");
    let baseline = Baseline {
        name: "EASE".into(),
        params: format!("λ = {lambda} ({})", how_chosen(&points)),
        validation: points,
        scores: Some(scores),
        skipped: None,
    };
    Ok((baseline, ranked))
}

/// The users of each item (ascending), from each user's train items.
///
/// # Panics
///
/// If an item index is `>= n_items`.
pub(crate) fn users_by_item(train_items: &[Vec<u32>], n_items: usize) -> Vec<Vec<u32>> {
    let mut users_of = vec![Vec::new(); n_items];
    for (u, items) in train_items.iter().enumerate() {
        for &i in items {
            users_of[i as usize].push(u as u32);
        }
    }
    users_of
}

/// Ranks every evaluated user with train items by a dense score vector that `fill` writes (it gets
/// the user's train items and a zeroed buffer of one score per item), skipping the train items.
/// Users without train items get `None`; users without test items are not evaluated (`None`).
pub(crate) fn rank_dense(
    split: &EvalSplit,
    depth: usize,
    fill: impl Fn(&[u32], &mut [f32]) + Sync,
) -> Rankings {
    (0..split.n_users())
        .into_par_iter()
        .map_init(
            || vec![0.0f32; split.n_items],
            |scores, u| {
                let train = &split.train_items[u];
                if split.test_items[u].is_empty() || train.is_empty() {
                    return None;
                }
                scores.iter_mut().for_each(|s| *s = 0.0);
                fill(train, scores);
                let top = top_k_by(split.n_items, depth, train, |i| scores[i as usize]);
                Some(top.into_iter().map(|s| s.item).collect())
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segments::SegmentConfig;
    use crate::uncertainty::BootstrapConfig;

    fn split(n_items: usize) -> EvalSplit {
        EvalSplit {
            train_items: vec![vec![0, 1], vec![1, 2], vec![0, 2, 3], vec![]],
            test_items: vec![vec![2], vec![3], vec![1], vec![0]],
            n_items,
        }
    }

    /// A scorer at K = 2 with a cheap bootstrap.
    fn quick_scorer(split: &EvalSplit) -> Scorer<'_> {
        let boot = BootstrapConfig {
            resamples: 20,
            ..BootstrapConfig::default()
        };
        Scorer::new(split, 2, boot, SegmentConfig::default())
    }

    #[test]
    fn every_baseline_is_scored_or_skipped_with_a_reason() {
        let s = split(5);
        let scorer = quick_scorer(&s);
        let (all, rankings) = evaluate_all(&scorer, &BaselineConfig::default(), None).unwrap();
        let ranked: Vec<&str> = rankings.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(ranked, ["ItemKNN", "EASE", "Random"]);
        let names: Vec<&str> = all.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["ItemKNN", "EASE", "Random"]);
        assert!(
            all.iter()
                .all(|b| b.scores.is_some() && b.skipped.is_none())
        );
        // The user without train items: kNN and EASE cannot score it, Random can.
        assert_eq!(all[0].scores.as_ref().unwrap().metrics.unscored_users, 1);
        assert_eq!(all[1].scores.as_ref().unwrap().metrics.unscored_users, 1);
        assert_eq!(all[2].scores.as_ref().unwrap().metrics.unscored_users, 0);

        let small = BaselineConfig {
            ease_max_items: 4,
            ..BaselineConfig::default()
        };
        let (all, rankings) = evaluate_all(&scorer, &small, None).unwrap();
        assert_eq!(rankings.len(), 2, "no rankings for a skipped baseline");
        assert!(all[1].scores.is_none());
        let reason = all[1].skipped.as_deref().unwrap();
        assert!(
            reason.contains("5 items") && reason.contains("limit of 4"),
            "{reason}"
        );
    }

    #[test]
    fn invalid_settings_are_rejected() {
        let s = split(5);
        let scorer = Scorer::new(&s, 2, BootstrapConfig::default(), SegmentConfig::default());
        let bad = BaselineConfig {
            knn_neighbours: vec![10, 0],
            ..BaselineConfig::default()
        };
        assert!(matches!(
            evaluate_all(&scorer, &bad, None),
            Err(Error::InvalidConfig {
                field: "evaluation.baselines.knn_neighbours",
                ..
            })
        ));
        for lambdas in [vec![], vec![0.0], vec![1.0, -1.0], vec![f64::NAN]] {
            let bad = BaselineConfig {
                ease_lambdas: lambdas,
                ..BaselineConfig::default()
            };
            assert!(matches!(
                bad.validate(),
                Err(Error::InvalidConfig {
                    field: "evaluation.baselines.ease_lambdas",
                    ..
                })
            ));
        }
    }

    #[test]
    fn hyper_parameters_are_chosen_on_the_validation_split_ties_to_the_first() {
        // NDCG by value: 0.1, 0.3, 0.3: the second wins.
        let v = split(5);
        let mut calls = Vec::new();
        let (best, points) = choose(&[1u32, 2, 3], Some(&v), 2, |n, s| {
            calls.push(n);
            // A ranking that hits user 0's test item 2 at rank 1 for n >= 2, else misses.
            let first = if n >= 2 { 2 } else { 4 };
            Ok((0..s.n_users())
                .map(|u| (u == 0).then(|| vec![first]))
                .collect())
        })
        .unwrap();
        assert_eq!(calls, [1, 2, 3]);
        assert_eq!(best, 2);
        let ndcg: Vec<f64> = points.iter().map(|p| p.ndcg).collect();
        assert_eq!(ndcg, [0.0, 0.25, 0.25]);
        assert_eq!(
            how_chosen(&points),
            "chosen by validation NDCG from 1 (0.0000), 2 (0.2500), 3 (0.2500)"
        );
        // Without a validation split, or with one value, nothing is scored.
        let (best, points) = choose(&[5u32, 6], None, 2, |_, _| unreachable!()).unwrap();
        assert_eq!((best, points.len()), (5, 0));
        let (best, points) = choose(&[7u32], Some(&v), 2, |_, _| unreachable!()).unwrap();
        assert_eq!((best, points.len()), (7, 0));
        assert_eq!(how_chosen(&points), "fixed");
    }

    #[test]
    fn a_breakdown_of_the_ease_solve_skips_it_with_the_reason() {
        // Items 0 and 1 have the same one user: XᵀX is singular (its first block is all ones), and
        // λ = 1e-300 vanishes beside 1, so the second pivot is exactly 0.
        let s = EvalSplit {
            train_items: vec![vec![0, 1], vec![2]],
            test_items: vec![vec![2], vec![3]],
            n_items: 4,
        };
        let scorer = quick_scorer(&s);
        let config = BaselineConfig {
            ease_lambdas: vec![1e-300],
            ..BaselineConfig::default()
        };
        let (all, rankings) = evaluate_all(&scorer, &config, None).unwrap();
        assert!(all[1].scores.is_none());
        let reason = all[1].skipped.as_deref().unwrap();
        assert!(reason.contains("not positive definite"), "{reason}");
        assert!(all[0].scores.is_some() && all[2].scores.is_some());
        assert_eq!(rankings.len(), 2);
    }
}
