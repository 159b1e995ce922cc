//! The evaluation stage: rank the full catalog for every evaluated user and score the rankings.
//!
//! Each user with at least one held-out item gets a ranking of every catalog item (including items seen
//! only in test) minus the user's own train items, by exact dot product through
//! [`models::topk::top_k_dot_many`], 64 users a matrix product (ties go to the lower item index). MostPopular ranks by train count with
//! ties by item index. A user ALS cannot score (no train interactions, hence no learnt vector) gets no
//! ranking and counts with zeros. Users are ranked in parallel; the results are collected in user
//! order, so everything downstream is deterministic.
//!
//! A [`Scorer`] turns rankings into [`ModelScores`]: the protocol's metrics, their bootstrap intervals
//! over users ([`crate::uncertainty`]), the metrics of each activity segment of users, the head and
//! tail parts of recall and the novelty of what was recommended ([`crate::segments`]). Every model of
//! a run, the baselines of [`crate::baselines`] included, goes through the same scorer.

use std::time::Instant;

use models::als::AlsModel;
use models::popular::MostPopular;
use models::topk::top_k_dot_many;
use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::interactions::Interactions;
use crate::metrics::{self, Metrics, UserMetrics};
use crate::progress;
use crate::segments::{self, SegmentConfig, SegmentCount, SegmentDefinition, UserSegment};
use crate::uncertainty::{self, BootstrapConfig, Interval, RatioStatistic, Spread};

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

    /// Keeps at most `max_users` of the evaluated users, a uniform sample drawn with `seed`
    /// ([`crate::index::sample_users`]): the others' test items are dropped, so they are not
    /// evaluated. Train items (and with them the segments' item popularity) stay whole. Returns
    /// the sample's description, or `None` when every evaluated user fits (nothing is dropped).
    pub fn keep_sample(&mut self, max_users: usize, seed: u64) -> Option<UserSample> {
        crate::index::retain_sample(&mut self.test_items, max_users, seed)
    }
}

/// A uniform sample of the users with test items, evaluated instead of all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSample {
    /// Users evaluated.
    pub users: usize,
    /// Users with test items, the sample was drawn from.
    pub eligible_users: usize,
    /// The seed it was drawn with.
    pub seed: u64,
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
    // The users that can be scored, in blocks: one matrix product per block and tile of items.
    let scorable: Vec<usize> = (0..split.n_users())
        .filter(|&u| {
            !split.test_items[u].is_empty()
                && !split.train_items[u].is_empty()
                && u < user_factors.nrows()
        })
        .collect();
    // The bar counts the users ranked, so it ends full even when some cannot be scored.
    let bar = progress::bar(show_progress, scorable.len() as u64, "evaluating");
    let ranked: Vec<(usize, Vec<u32>)> = scorable
        .par_chunks(QUERY_BLOCK)
        .flat_map_iter(|block| {
            let queries = user_factors.select(ndarray::Axis(0), block);
            let excludes: Vec<&[u32]> = block
                .iter()
                .map(|&u| split.train_items[u].as_slice())
                .collect();
            let lists = top_k_dot_many(queries.view(), item_factors, depth, &excludes);
            bar.inc(block.len() as u64);
            block
                .iter()
                .copied()
                .zip(lists)
                .map(|(u, list)| (u, list.into_iter().map(|s| s.item).collect()))
                .collect::<Vec<_>>()
        })
        .collect();
    bar.finish_and_clear();
    let mut rankings: Rankings = vec![None; split.n_users()];
    for (u, list) in ranked {
        rankings[u] = Some(list);
    }
    rankings
}

/// Users ranked together by one matrix product per tile of items ([`top_k_dot_many`]).
pub const QUERY_BLOCK: usize = 64;

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
    /// Mean self-information (bits) of the items recommended in the top K of the users the model
    /// scored (see [`crate::segments`]).
    pub novelty: f64,
    /// Bootstrap confidence intervals of the per-user metrics (see [`crate::uncertainty`]).
    pub intervals: MetricIntervals,
    /// The metrics of each activity segment of users (cold, light, heavy).
    pub users_by_activity: Vec<SegmentScores>,
    /// What the hits are made of: head and tail items.
    pub items_by_popularity: PopularityScores,
    /// Mean Recall@K for K = 1..=[`CURVE_MAX_K`] (element K - 1).
    pub recall_curve: Vec<f64>,
    /// Wall time of fitting the model on the train part, in seconds.
    pub fit_seconds: f64,
    /// Wall time of ranking every evaluated user, in seconds.
    pub scoring_seconds: f64,
}

/// Confidence intervals of the metrics that are per-user means (coverage is not: no interval).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricIntervals {
    /// The interval's confidence level (0.95).
    pub confidence: f64,
    /// NDCG@K.
    pub ndcg: Interval,
    /// Recall@K.
    pub recall: Interval,
    /// Precision@K.
    pub precision: Interval,
    /// HitRate@K.
    pub hit_rate: Interval,
    /// Novelty.
    pub novelty: Interval,
}

/// The metrics over the evaluated users of one activity segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentScores {
    /// `cold`, `light` or `heavy`.
    pub segment: String,
    /// Evaluated users in the segment.
    pub users: usize,
    /// Mean NDCG@K over them.
    pub ndcg: f64,
    /// Its interval.
    pub ndcg_ci: Interval,
    /// Mean Recall@K over them.
    pub recall: f64,
    /// Its interval.
    pub recall_ci: Interval,
    /// Mean HitRate@K over them.
    pub hit_rate: f64,
    /// Its interval.
    pub hit_rate_ci: Interval,
}

/// Recall split by the popularity of the held-out items that were hit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PopularityScores {
    /// Mean over evaluated users of (hits on head items) / |test_u|: the head's part of Recall@K.
    pub recall_head: f64,
    /// Its interval.
    pub recall_head_ci: Interval,
    /// The tail's part of Recall@K (`recall_head + recall_tail = recall`).
    pub recall_tail: f64,
    /// Its interval.
    pub recall_tail_ci: Interval,
    /// Hits on head items, summed over users.
    pub hits_head: usize,
    /// Hits on tail items, summed over users.
    pub hits_tail: usize,
    /// Share of the recommended top-K slots filled with head items.
    pub recommended_head_share: f64,
}

/// Scores rankings on one split by the protocol: the metrics, their intervals and the segments.
#[derive(Clone, Debug)]
pub struct Scorer<'a> {
    /// The split.
    pub split: &'a EvalSplit,
    /// The cut-off K.
    pub k: usize,
    bootstrap: BootstrapConfig,
    segments: SegmentConfig,
    /// Evaluated users, ascending.
    evaluated: Vec<usize>,
    /// The activity segment of each evaluated user (parallel to `evaluated`).
    segment_of: Vec<UserSegment>,
    /// Head membership of every item.
    head: Vec<bool>,
    /// Self-information of every item.
    self_info: Vec<f64>,
}

impl<'a> Scorer<'a> {
    /// A scorer of `split` at cut-off `k`, with the bootstrap and segment settings given.
    pub fn new(
        split: &'a EvalSplit,
        k: usize,
        bootstrap: BootstrapConfig,
        segments: SegmentConfig,
    ) -> Self {
        let evaluated: Vec<usize> = (0..split.n_users())
            .filter(|&u| !split.test_items[u].is_empty())
            .collect();
        let segment_of = evaluated
            .iter()
            .map(|&u| segments.user_segment(split.train_items[u].len()))
            .collect();
        let counts = segments::item_counts(&split.train_items, split.n_items);
        let train_users = split.train_items.iter().filter(|t| !t.is_empty()).count();
        Self {
            split,
            k,
            head: segments::head_items(&counts, segments.head_share),
            self_info: segments::self_information(&counts, train_users),
            bootstrap,
            segments,
            evaluated,
            segment_of,
        }
    }

    /// The ranking depth every model is asked for: max(K, [`CURVE_MAX_K`]).
    pub fn depth(&self) -> usize {
        self.k.max(CURVE_MAX_K)
    }

    /// How the segments came out on this split.
    pub fn definition(&self) -> SegmentDefinition {
        let users = UserSegment::ALL
            .iter()
            .map(|&s| SegmentCount {
                segment: s.name().to_owned(),
                users: self.segment_of.iter().filter(|&&x| x == s).count(),
            })
            .collect();
        let head_items = self.head.iter().filter(|&&h| h).count();
        let share = |lists: &[Vec<u32>]| {
            let (mut head, mut all) = (0usize, 0usize);
            for &i in lists.iter().flatten() {
                all += 1;
                head += usize::from(self.head[i as usize]);
            }
            if all == 0 {
                0.0
            } else {
                head as f64 / all as f64
            }
        };
        SegmentDefinition {
            config: self.segments.clone(),
            users,
            head_items,
            tail_items: self.head.len() - head_items,
            head_train_share: share(&self.split.train_items),
            head_test_share: share(&self.split.test_items),
        }
    }

    /// Scores `rankings` (one per user, as the `rank_*` functions give them).
    pub fn score(
        &self,
        rankings: &Rankings,
        fit_seconds: f64,
        scoring_seconds: f64,
    ) -> ModelScores {
        let (split, k) = (self.split, self.k);
        let metrics = metrics::summarize(rankings, &split.test_items, k, split.n_items);
        let n = self.evaluated.len();
        let mut per_user = PerUser::with_capacity(n);
        let (mut head_slots, mut slots) = (0usize, 0usize);
        let (mut hits_head, mut hits_tail) = (0usize, 0usize);
        for &u in &self.evaluated {
            let relevant = &split.test_items[u];
            let ranked = rankings[u].as_deref();
            let top = ranked.map_or(&[][..], |r| &r[..r.len().min(k)]);
            let m = ranked.map_or_else(UserMetrics::default, |r| {
                metrics::user_metrics(r, relevant, k)
            });
            let (mut head_hits, mut info) = (0usize, 0.0f64);
            for &item in top {
                let in_head = self.head[item as usize];
                head_slots += usize::from(in_head);
                info += self.self_info[item as usize];
                if relevant.binary_search(&item).is_ok() {
                    head_hits += usize::from(in_head);
                }
            }
            slots += top.len();
            hits_head += head_hits;
            hits_tail += m.hits - head_hits;
            let test = relevant.len() as f64;
            per_user.ndcg.push(m.ndcg);
            per_user.recall.push(m.recall);
            per_user.precision.push(m.precision);
            per_user.hit_rate.push(m.hit_rate);
            per_user.novelty_bits.push(info);
            per_user.slots.push(top.len() as f64);
            per_user.recall_head.push(head_hits as f64 / test);
            per_user
                .recall_tail
                .push((m.hits - head_hits) as f64 / test);
        }
        let novelty = RatioStatistic {
            num: per_user.novelty_bits.clone(),
            den: per_user.slots.clone(),
        };
        let mut stats = vec![
            RatioStatistic::mean(per_user.ndcg.clone()),
            RatioStatistic::mean(per_user.recall.clone()),
            RatioStatistic::mean(per_user.precision.clone()),
            RatioStatistic::mean(per_user.hit_rate.clone()),
            novelty,
            RatioStatistic::mean(per_user.recall_head.clone()),
            RatioStatistic::mean(per_user.recall_tail.clone()),
        ];
        for s in UserSegment::ALL {
            let member: Vec<bool> = self.segment_of.iter().map(|&x| x == s).collect();
            for values in [&per_user.ndcg, &per_user.recall, &per_user.hit_rate] {
                stats.push(RatioStatistic::mean_over(values, &member));
            }
        }
        let ci = uncertainty::bootstrap(&stats, &self.bootstrap);
        let users_by_activity = UserSegment::ALL
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let base = 7 + 3 * i;
                SegmentScores {
                    segment: s.name().to_owned(),
                    users: self.segment_of.iter().filter(|&&x| x == s).count(),
                    ndcg: stats[base].estimate(),
                    ndcg_ci: ci[base],
                    recall: stats[base + 1].estimate(),
                    recall_ci: ci[base + 1],
                    hit_rate: stats[base + 2].estimate(),
                    hit_rate_ci: ci[base + 2],
                }
            })
            .collect();
        ModelScores {
            metrics,
            novelty: stats[4].estimate(),
            intervals: MetricIntervals {
                confidence: self.bootstrap.confidence,
                ndcg: ci[0],
                recall: ci[1],
                precision: ci[2],
                hit_rate: ci[3],
                novelty: ci[4],
            },
            users_by_activity,
            items_by_popularity: PopularityScores {
                recall_head: stats[5].estimate(),
                recall_head_ci: ci[5],
                recall_tail: stats[6].estimate(),
                recall_tail_ci: ci[6],
                hits_head,
                hits_tail,
                recommended_head_share: if slots == 0 {
                    0.0
                } else {
                    head_slots as f64 / slots as f64
                },
            },
            recall_curve: metrics::recall_curve(rankings, &split.test_items, CURVE_MAX_K),
            fit_seconds,
            scoring_seconds,
        }
    }

    /// `reference` minus `other` on NDCG@K and Recall@K, user by user, with bootstrap intervals over
    /// the same resamples as every other interval of this scorer: a paired comparison, in which what
    /// makes a user easy or hard for both models cancels.
    pub fn difference(&self, model: &str, reference: &Rankings, other: &Rankings) -> Difference {
        let k = self.k;
        let user = |r: &Rankings, u: usize| {
            r[u].as_deref().map_or_else(UserMetrics::default, |r| {
                metrics::user_metrics(r, &self.split.test_items[u], k)
            })
        };
        let (mut ndcg, mut recall) = (Vec::new(), Vec::new());
        for &u in &self.evaluated {
            let (a, b) = (user(reference, u), user(other, u));
            ndcg.push(a.ndcg - b.ndcg);
            recall.push(a.recall - b.recall);
        }
        let stats = [RatioStatistic::mean(ndcg), RatioStatistic::mean(recall)];
        let ci = uncertainty::bootstrap(&stats, &self.bootstrap);
        Difference {
            model: model.to_owned(),
            ndcg: stats[0].estimate(),
            ndcg_ci: ci[0],
            recall: stats[1].estimate(),
            recall_ci: ci[1],
        }
    }

    /// Ranks with `rank` and scores the result, timing the ranking.
    pub fn timed(
        &self,
        fit_seconds: f64,
        rank: impl FnOnce() -> Rankings,
    ) -> (Rankings, ModelScores) {
        let start = Instant::now();
        let rankings = rank();
        let seconds = start.elapsed().as_secs_f64();
        let scores = self.score(&rankings, fit_seconds, seconds);
        (rankings, scores)
    }
}

/// ALS minus another model, user by user (see [`Scorer::difference`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// The other model.
    pub model: String,
    /// Mean over the evaluated users of ALS's NDCG@K minus the model's.
    pub ndcg: f64,
    /// Its paired interval.
    pub ndcg_ci: Interval,
    /// Mean over the evaluated users of ALS's Recall@K minus the model's.
    pub recall: f64,
    /// Its paired interval.
    pub recall_ci: Interval,
}

/// Per-user values of the evaluated users, in user order.
#[derive(Debug, Default)]
struct PerUser {
    ndcg: Vec<f64>,
    recall: Vec<f64>,
    precision: Vec<f64>,
    hit_rate: Vec<f64>,
    novelty_bits: Vec<f64>,
    slots: Vec<f64>,
    recall_head: Vec<f64>,
    recall_tail: Vec<f64>,
}

impl PerUser {
    fn with_capacity(n: usize) -> Self {
        let v = || Vec::with_capacity(n);
        Self {
            ndcg: v(),
            recall: v(),
            precision: v(),
            hit_rate: v(),
            novelty_bits: v(),
            slots: v(),
            recall_head: v(),
            recall_tail: v(),
        }
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
    /// MostPopular's rankings, kept for the paired comparison.
    pub popular_rankings: Rankings,
}

/// Evaluates `model` (fitted in `model_fit_seconds`) and the MostPopular baseline `popular` (fitted in
/// `popular_fit_seconds`) with `scorer`.
pub fn evaluate(
    model: (&AlsModel, f64),
    popular: (&MostPopular, f64),
    scorer: &Scorer<'_>,
    show_progress: bool,
) -> Evaluation {
    let (split, depth) = (scorer.split, scorer.depth());
    let (model_rankings, model_scores) =
        scorer.timed(model.1, || rank_model(model.0, split, depth, show_progress));
    let (popular_rankings, popular_scores) =
        scorer.timed(popular.1, || rank_popular(popular.0, split, depth));
    Evaluation {
        model: model_scores,
        most_popular: popular_scores,
        model_rankings,
        popular_rankings,
    }
}

/// NDCG@K and Recall@K of ALS trained with one seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedRun {
    /// The training seed.
    pub seed: u64,
    /// NDCG@K on test.
    pub ndcg: f64,
    /// Recall@K on test.
    pub recall: f64,
    /// Training wall time in seconds.
    pub fit_seconds: f64,
}

/// How much ALS's test metrics move with the training seed alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedSpread {
    /// Every run, the reported model's seed first.
    pub runs: Vec<SeedRun>,
    /// NDCG@K over the runs.
    pub ndcg: Spread,
    /// Recall@K over the runs.
    pub recall: Spread,
}

/// Trains ALS `runs - 1` more times with seeds `params.seed + 1, ...` on `matrix` and reports the
/// spread of NDCG@K and Recall@K together with `reported` (the run of `params.seed` itself).
///
/// # Errors
///
/// [`crate::Error::Model`] if a fit fails.
pub fn seed_spread(
    matrix: &models::sparse::CsrMatrix,
    params: &models::als::AlsParams,
    scorer: &Scorer<'_>,
    reported: SeedRun,
    runs: usize,
) -> crate::Result<SeedSpread> {
    let mut all = vec![reported];
    for r in 1..runs {
        let seeded = models::als::AlsParams {
            seed: params.seed.wrapping_add(r as u64),
            ..params.clone()
        };
        let start = Instant::now();
        let model = crate::train::fit(matrix, &seeded, false)?;
        let fit_seconds = start.elapsed().as_secs_f64();
        let rankings = rank_model(&model, scorer.split, scorer.k, false);
        let m = metrics::summarize(
            &rankings,
            &scorer.split.test_items,
            scorer.k,
            scorer.split.n_items,
        );
        tracing::info!(
            seed = seeded.seed,
            ndcg = m.ndcg,
            recall = m.recall,
            "seed run"
        );
        all.push(SeedRun {
            seed: seeded.seed,
            ndcg: m.ndcg,
            recall: m.recall,
            fit_seconds,
        });
    }
    let ndcg: Vec<f64> = all.iter().map(|r| r.ndcg).collect();
    let recall: Vec<f64> = all.iter().map(|r| r.recall).collect();
    Ok(SeedSpread {
        ndcg: Spread::of(&ndcg),
        recall: Spread::of(&recall),
        runs: all,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Scores with a cheap bootstrap and the default segments.
    fn score(r: &Rankings, split: &EvalSplit, k: usize) -> ModelScores {
        let boot = BootstrapConfig {
            resamples: 200,
            ..BootstrapConfig::default()
        };
        Scorer::new(split, k, boot, SegmentConfig::default()).score(r, 0.0, 0.0)
    }

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
        let sp = split();
        let s = score(&r, &sp, 1);
        // K = 1: user 0 misses (item 0 first), user 1 zeros.
        assert_eq!(s.metrics.users, 2);
        assert_eq!(s.metrics.unscored_users, 1);
        assert_eq!(s.metrics.recall, 0.0);
        let s = score(&r, &sp, 2);
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
    fn a_sample_keeps_train_items_and_a_seeded_subset_of_the_evaluated_users() {
        let train = (0..50).map(|u| vec![u % 7]).collect::<Vec<Vec<u32>>>();
        let test = (0..50u32)
            .map(|u| if u % 5 == 0 { vec![] } else { vec![7 + u % 3] })
            .collect::<Vec<_>>();
        let full = EvalSplit {
            train_items: train.clone(),
            test_items: test.clone(),
            n_items: 10,
        };
        assert_eq!(full.evaluated_users(), 40);
        // Room for everyone: nothing is dropped and no sample is reported.
        let mut all = full.clone();
        assert_eq!(all.keep_sample(40, 1), None);
        assert_eq!(all, full);

        let mut a = full.clone();
        let sample = a.keep_sample(12, 7).unwrap();
        assert_eq!(
            sample,
            UserSample {
                users: 12,
                eligible_users: 40,
                seed: 7
            }
        );
        assert_eq!(a.evaluated_users(), 12);
        assert_eq!(a.train_items, train);
        // Kept users keep their own test items; dropped ones have none; none is invented.
        for (kept, all) in a.test_items.iter().zip(&test) {
            assert!(kept.is_empty() || kept == all);
        }
        let mut b = full.clone();
        b.keep_sample(12, 7);
        assert_eq!(a, b, "the same seed draws the same sample");
        let mut c = full;
        c.keep_sample(12, 8);
        assert_ne!(a.test_items, c.test_items);
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

    #[test]
    fn scorer_segments_users_and_splits_recall_into_head_and_tail() {
        // 4 items; train counts: item 0 by users 0, 1, 2 (3), item 1 by user 0 (1), items 2, 3 never.
        // 4 train interactions: 20 % = 0.8, so the head is item 0 alone.
        let split = EvalSplit {
            train_items: vec![vec![0, 1], vec![0], vec![0], vec![]],
            test_items: vec![vec![2, 3], vec![1, 2], vec![1], vec![0]],
            n_items: 4,
        };
        let segs = SegmentConfig {
            cold_max: 1,
            light_max: 2,
            head_share: 0.2,
        };
        let scorer = Scorer::new(&split, 2, BootstrapConfig::default(), segs);
        let def = scorer.definition();
        assert_eq!((def.head_items, def.tail_items), (1, 3));
        assert!((def.head_train_share - 0.75).abs() < 1e-12);
        // One of the 6 held-out interactions (user 3's item 0) is on the head.
        assert!((def.head_test_share - 1.0 / 6.0).abs() < 1e-12);
        // Users 1, 2, 3 have at most 1 train item (cold), user 0 has 2 (light), nobody heavy.
        let sizes: Vec<usize> = def.users.iter().map(|c| c.users).collect();
        assert_eq!(sizes, [3, 1, 0]);
        let rankings: Rankings = vec![
            Some(vec![2, 3]), // both tail hits: recall 1
            Some(vec![1, 3]), // tail hit on 1: recall 1/2
            Some(vec![2, 3]), // miss
            Some(vec![0, 1]), // head hit on 0: recall 1
        ];
        let s = scorer.score(&rankings, 1.5, 0.5);
        assert!((s.metrics.recall - 2.5 / 4.0).abs() < 1e-12);
        let p = &s.items_by_popularity;
        assert_eq!((p.hits_head, p.hits_tail), (1, 3));
        assert!((p.recall_head - 0.25).abs() < 1e-12);
        assert!((p.recall_tail - 1.5 / 4.0).abs() < 1e-12);
        assert!((p.recall_head + p.recall_tail - s.metrics.recall).abs() < 1e-12);
        // One head slot (item 0) among 8.
        assert!((p.recommended_head_share - 0.125).abs() < 1e-12);
        let cold = &s.users_by_activity[0];
        assert_eq!((cold.segment.as_str(), cold.users), ("cold", 3));
        assert!((cold.recall - 1.5 / 3.0).abs() < 1e-12);
        assert!((s.users_by_activity[1].recall - 1.0).abs() < 1e-12);
        assert_eq!(s.users_by_activity[2].users, 0);
        // Self-information over 3 users with train items: p = (c + 1) / 4, so item 0 has 0 bits,
        // item 1 1 bit, items 2 and 3 2 bits; the 8 slots hold 2+2+1+2+2+2+0+1 = 12 bits.
        assert!((s.novelty - 12.0 / 8.0).abs() < 1e-12);
        assert_eq!((s.fit_seconds, s.scoring_seconds), (1.5, 0.5));
        let ci = &s.intervals;
        for (value, interval) in [
            (s.metrics.ndcg, ci.ndcg),
            (s.metrics.recall, ci.recall),
            (s.metrics.hit_rate, ci.hit_rate),
            (s.novelty, ci.novelty),
        ] {
            assert!(
                interval.low <= value && value <= interval.high,
                "{value} {interval:?}"
            );
        }
        assert_eq!(ci.confidence, 0.95);
        // The same scorer gives the same intervals.
        assert_eq!(scorer.score(&rankings, 1.5, 0.5).intervals, s.intervals);
    }

    #[test]
    fn unscored_users_count_with_zeros_but_not_in_novelty() {
        let split = split();
        let rankings: Rankings = vec![Some(vec![0, 2]), None, None];
        let s = score(&rankings, &split, 2);
        assert_eq!(s.metrics.unscored_users, 1);
        // Only user 0's two slots count. Users 0 and 2 have train items, so p = (c + 1) / 3, with
        // a train count of 1 for item 0 and 0 for item 2.
        let expected = (-(2.0f64 / 3.0).log2() - (1.0f64 / 3.0).log2()) / 2.0;
        assert!((s.novelty - expected).abs() < 1e-12);
    }

    #[test]
    fn paired_difference_by_hand_and_against_itself() {
        let split = split();
        let scorer = Scorer::new(
            &split,
            2,
            BootstrapConfig::default(),
            SegmentConfig::default(),
        );
        // User 0 (test {2}): a hit at rank 1 against a miss; user 1 (test {0}): unscored against a
        // hit at rank 2.
        let a: Rankings = vec![Some(vec![2, 0]), None, None];
        let b: Rankings = vec![Some(vec![0, 3]), Some(vec![1, 0]), None];
        let d = scorer.difference("B", &a, &b);
        assert_eq!(d.model, "B");
        let second = 1.0 / 3f64.log2();
        assert!((d.ndcg - (1.0 - second) / 2.0).abs() < 1e-12);
        assert!((d.recall - 0.0).abs() < 1e-12);
        assert!(d.ndcg_ci.low <= d.ndcg && d.ndcg <= d.ndcg_ci.high);
        let same = scorer.difference("A", &a, &a);
        assert_eq!((same.ndcg, same.ndcg_ci), (0.0, Interval::default()));
    }
}
