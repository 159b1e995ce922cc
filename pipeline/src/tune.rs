//! The hyper-parameter search on the validation split (`--tune`).
//!
//! The validation split applies the protocol's temporal rule to the train part (train → fit part +
//! validation part). Every trial fits ALS on the fit part and scores NDCG@K on the validation part,
//! ranking the full catalog without the user's fit-part items. **Test data is never seen here:** the
//! search takes only a [`ValidationData`], which is cut from the train part.
//!
//! **The search** is successive halving (the inner loop of Hyperband) over log-uniform ranges
//! ([`SearchSpace`]): factors, regularization and alpha are sampled with a seeded ChaCha8 stream, and
//! iterations are the halving's resource. With the defaults, 54 configurations are fitted with 5
//! iterations, the best third (18) again with 15, the best third of those (6) with 45. A second,
//! smaller bracket (a third as many configurations) then samples a box around the best trial so far,
//! a quarter of each log-range wide, and halves it the same way. The winner is the trial with the
//! highest validation NDCG of the whole search (ties to the earlier trial); its iterations are the
//! ones it was fitted with, so the search also picks how long to train.
//!
//! **Limits.** A wall-clock budget ([`TuneConfig::budget_seconds`], default 600 s) and a cap on the
//! number of fits ([`TuneConfig::max_trials`], default 200) stop the search early; the best trial so
//! far wins and the outcome says why it stopped. At least one trial always runs. The search is
//! deterministic for a given seed (the base parameters' seed) as long as the budget is not hit.

use std::time::Instant;

use models::als::AlsParams;
use models::sparse::CsrMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::Cancel;
use crate::error::{Error, Result};
use crate::evaluate::{self, EvalSplit};
use crate::progress;
use crate::train;

/// The log-uniform ranges the search samples from (both ends included).
///
/// Default: factors 16..=512, regularization 0.01..=1000, alpha 0.1..=100, iterations 5..=45. They
/// are wide on purpose: good implicit-ALS settings move with the data's size and density (the
/// regularization that works grows with the number of interactions per user and item), so the
/// box is several decades wide around what works on MovieLens-100K (factors 256, regularization
/// 10, alpha 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    /// Numbers of factors, rounded to the nearest integer after sampling.
    pub factors: (usize, usize),
    /// Regularization strengths.
    pub regularization: (f32, f32),
    /// Confidence slopes.
    pub alpha: (f32, f32),
    /// Iterations: the rungs of the halving go geometrically (by [`TuneConfig::eta`]) from the low end
    /// up to the high end.
    pub iterations: (usize, usize),
}

impl Default for SearchSpace {
    fn default() -> Self {
        Self {
            factors: (16, 512),
            regularization: (0.01, 1000.0),
            alpha: (0.1, 100.0),
            iterations: (5, 45),
        }
    }
}

/// The settings of the search.
///
/// Default: [`SearchSpace::default`], 54 configurations, eta 3, refinement on, at most 200 trials,
/// a 600 s budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuneConfig {
    /// Where configurations are sampled.
    pub space: SearchSpace,
    /// Configurations of the first bracket's first rung.
    pub configurations: usize,
    /// The halving rate: each rung keeps the best `1/eta` (rounded up) and fits them with `eta`
    /// times the iterations.
    pub eta: usize,
    /// Run the second bracket, around the best trial of the first.
    pub refine: bool,
    /// The most fits the search may make (a cap on the trials).
    pub max_trials: usize,
    /// Wall-clock budget in seconds: no trial starts after it has run out.
    pub budget_seconds: f64,
}

impl Default for TuneConfig {
    fn default() -> Self {
        Self {
            space: SearchSpace::default(),
            configurations: 54,
            eta: 3,
            refine: true,
            max_trials: 200,
            budget_seconds: 600.0,
        }
    }
}

impl TuneConfig {
    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field: `tune.configurations`, `tune.max_trials` or
    /// `tune.eta` too small, a `tune.budget_seconds` that is not a positive number, or a range of
    /// `tune.space` that is empty, not positive or not finite.
    pub fn validate(&self) -> Result<()> {
        let invalid = |field: &'static str, reason: &str| {
            Err(Error::InvalidConfig {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.configurations == 0 {
            return invalid("tune.configurations", "must be at least 1");
        }
        if self.max_trials == 0 {
            return invalid("tune.max_trials", "must be at least 1");
        }
        if self.eta < 2 {
            return invalid("tune.eta", "must be at least 2");
        }
        if !(self.budget_seconds.is_finite() && self.budget_seconds > 0.0) {
            return invalid(
                "tune.budget_seconds",
                "must be a positive number of seconds",
            );
        }
        let s = &self.space;
        let ranges = [
            ("tune.space.factors", s.factors.0 as f64, s.factors.1 as f64),
            (
                "tune.space.regularization",
                f64::from(s.regularization.0),
                f64::from(s.regularization.1),
            ),
            (
                "tune.space.alpha",
                f64::from(s.alpha.0),
                f64::from(s.alpha.1),
            ),
            (
                "tune.space.iterations",
                s.iterations.0 as f64,
                s.iterations.1 as f64,
            ),
        ];
        for (field, low, high) in ranges {
            if !(low.is_finite() && high.is_finite() && low > 0.0 && low <= high) {
                return invalid(
                    field,
                    "needs 0 < low <= high (the range is sampled log-uniformly)",
                );
            }
        }
        Ok(())
    }

    /// The iterations of each rung, ascending: the high end divided by `eta` as often as it stays at
    /// or above the low end.
    pub fn rungs(&self) -> Vec<usize> {
        let (low, high) = self.space.iterations;
        let mut out = vec![high];
        let mut it = high as f64;
        loop {
            it /= self.eta as f64;
            let rounded = it.round() as usize;
            if rounded < low || rounded == 0 || Some(&rounded) == out.last() {
                break;
            }
            out.push(rounded);
        }
        out.reverse();
        out
    }
}

/// Why the search stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// Every planned trial ran.
    Completed,
    /// [`TuneConfig::max_trials`] fits were made.
    TrialCap,
    /// [`TuneConfig::budget_seconds`] ran out.
    Budget,
}

/// One fit of the search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// 0: the wide bracket; 1: the refinement around the best trial of bracket 0.
    pub bracket: usize,
    /// The rung within the bracket (0: the most configurations, the fewest iterations).
    pub rung: usize,
    /// The configuration's index within its bracket, in sampling order.
    pub configuration: usize,
    /// Number of factors.
    pub factors: usize,
    /// Regularization.
    pub regularization: f32,
    /// Alpha.
    pub alpha: f32,
    /// Iterations.
    pub iterations: usize,
    /// NDCG@K on the validation split.
    pub ndcg: f64,
    /// Recall@K on the validation split.
    pub recall: f64,
    /// Fit plus scoring time in seconds.
    pub seconds: f64,
}

/// The outcome of the search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuneOutcome {
    /// The settings of the search.
    pub config: TuneConfig,
    /// The seed of the sampling stream (the base parameters' seed).
    pub seed: u64,
    /// The cut-off of the selection metric (NDCG@K).
    pub k: usize,
    /// Users evaluated on the validation split.
    pub validation_users: usize,
    /// Interactions in the fit part.
    pub fit_interactions: usize,
    /// Interactions in the validation part.
    pub validation_interactions: usize,
    /// Every trial in the order it ran.
    pub trials: Vec<Trial>,
    /// Index of the winner in `trials`.
    pub best: usize,
    /// The winning parameters (the base with the winner's factors, regularization, alpha and
    /// iterations).
    pub best_params: AlsParams,
    /// Why the search stopped.
    pub stopped: Stop,
    /// Wall time of the whole search in seconds.
    pub seconds: f64,
    /// Why the winner won, in words (also in `report.md`).
    pub choice: String,
}

/// The validation split, ready for the search.
#[derive(Debug)]
pub struct ValidationData {
    /// Fit-part items (excluded from rankings) and validation items (the relevant sets) per user.
    pub split: EvalSplit,
    /// The fit part as the training matrix, with the run's weighting.
    pub fit_matrix: CsrMatrix,
    /// Interactions in the fit part.
    pub fit_interactions: usize,
    /// Interactions in the validation part.
    pub validation_interactions: usize,
}

/// Index of the highest score; ties (and NaN) keep the earlier one.
pub fn argmax_first(scores: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &s) in scores.iter().enumerate() {
        match best {
            None if !s.is_nan() => best = Some(i),
            Some(b) if s > scores[b] => best = Some(i),
            _ => {}
        }
    }
    best.or(if scores.is_empty() { None } else { Some(0) })
}

/// A sampled configuration (the iterations come from the rung).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Point {
    factors: usize,
    regularization: f32,
    alpha: f32,
}

/// A log-uniform draw in `[low, high]`.
fn log_uniform(rng: &mut ChaCha8Rng, low: f64, high: f64) -> f64 {
    if low >= high {
        return low;
    }
    let u: f64 = rng.random();
    (low.ln() + u * (high.ln() - low.ln()))
        .exp()
        .clamp(low, high)
}

/// `n` points drawn from `space`, in order.
fn sample(rng: &mut ChaCha8Rng, space: &SearchSpace, n: usize) -> Vec<Point> {
    (0..n)
        .map(|_| {
            let (fl, fh) = space.factors;
            let factors = log_uniform(rng, fl as f64, fh as f64).round() as usize;
            let (rl, rh) = space.regularization;
            let regularization = log_uniform(rng, f64::from(rl), f64::from(rh)) as f32;
            let (al, ah) = space.alpha;
            let alpha = log_uniform(rng, f64::from(al), f64::from(ah)) as f32;
            Point {
                factors: factors.clamp(fl, fh),
                regularization: regularization.clamp(rl, rh),
                alpha: alpha.clamp(al, ah),
            }
        })
        .collect()
}

/// The refinement box: around `centre`, `fraction` of each log-range of `space` wide, inside `space`.
fn around(space: &SearchSpace, centre: &Trial, fraction: f64) -> SearchSpace {
    fn shrink(low: f64, high: f64, at: f64, fraction: f64) -> (f64, f64) {
        let half = 0.5 * fraction * (high.ln() - low.ln());
        let lo = (at.ln() - half).exp().max(low);
        let hi = (at.ln() + half).exp().min(high);
        (lo, hi)
    }
    let (fl, fh) = shrink(
        space.factors.0 as f64,
        space.factors.1 as f64,
        centre.factors as f64,
        fraction,
    );
    let (rl, rh) = shrink(
        f64::from(space.regularization.0),
        f64::from(space.regularization.1),
        f64::from(centre.regularization),
        fraction,
    );
    let (al, ah) = shrink(
        f64::from(space.alpha.0),
        f64::from(space.alpha.1),
        f64::from(centre.alpha),
        fraction,
    );
    SearchSpace {
        factors: ((fl.round() as usize).max(1), (fh.round() as usize).max(1)),
        regularization: (rl as f32, rh as f32),
        alpha: (al as f32, ah as f32),
        iterations: space.iterations,
    }
}

/// Runs the trials, enforcing the cap and the budget.
struct Runner<'a> {
    data: &'a ValidationData,
    base: &'a AlsParams,
    config: &'a TuneConfig,
    k: usize,
    start: Instant,
    trials: Vec<Trial>,
    stopped: Option<Stop>,
    bar: indicatif::ProgressBar,
    cancel: &'a Cancel,
}

impl Runner<'_> {
    /// Fits and scores one trial, unless the cap or the budget forbids it (then `None`).
    fn trial(
        &mut self,
        bracket: usize,
        rung: usize,
        configuration: usize,
        point: Point,
        iterations: usize,
    ) -> Result<Option<f64>> {
        if self.stopped.is_some() {
            return Ok(None);
        }
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled {
                at: "in the tune stage, between two trials".to_owned(),
            });
        }
        if self.trials.len() >= self.config.max_trials {
            self.stopped = Some(Stop::TrialCap);
            return Ok(None);
        }
        // The first trial always runs, so that there is a winner.
        if !self.trials.is_empty()
            && self.start.elapsed().as_secs_f64() >= self.config.budget_seconds
        {
            self.stopped = Some(Stop::Budget);
            return Ok(None);
        }
        let params = AlsParams {
            factors: point.factors,
            regularization: point.regularization,
            alpha: point.alpha,
            iterations,
            ..self.base.clone()
        };
        let start = Instant::now();
        let model = train::fit(&self.data.fit_matrix, &params, false)?;
        let split = &self.data.split;
        let rankings = evaluate::rank_model(&model, split, self.k, false);
        let metrics =
            crate::metrics::summarize(&rankings, &split.test_items, self.k, split.n_items);
        let seconds = start.elapsed().as_secs_f64();
        tracing::info!(
            bracket,
            rung,
            factors = params.factors,
            regularization = params.regularization,
            alpha = params.alpha,
            iterations,
            ndcg = metrics.ndcg,
            seconds,
            "tuning trial"
        );
        self.trials.push(Trial {
            bracket,
            rung,
            configuration,
            factors: params.factors,
            regularization: params.regularization,
            alpha: params.alpha,
            iterations,
            ndcg: metrics.ndcg,
            recall: metrics.recall,
            seconds,
        });
        self.bar.inc(1);
        Ok(Some(metrics.ndcg))
    }

    /// One bracket of successive halving over `points`.
    fn bracket(&mut self, bracket: usize, points: &[Point]) -> Result<()> {
        let rungs = self.config.rungs();
        let mut alive: Vec<usize> = (0..points.len()).collect();
        for (rung, &iterations) in rungs.iter().enumerate() {
            let mut scored: Vec<(usize, f64)> = Vec::with_capacity(alive.len());
            for &c in &alive {
                match self.trial(bracket, rung, c, points[c], iterations)? {
                    Some(ndcg) => scored.push((c, ndcg)),
                    None => return Ok(()),
                }
            }
            // Best first; ties (and NaN, ranked last) keep sampling order.
            scored.sort_by(|a, b| {
                b.1.partial_cmp(&a.1)
                    .unwrap_or_else(|| a.1.is_nan().cmp(&b.1.is_nan()))
                    .then(a.0.cmp(&b.0))
            });
            let keep = scored.len().div_ceil(self.config.eta);
            alive = scored.into_iter().take(keep).map(|(c, _)| c).collect();
        }
        Ok(())
    }
}

/// The planned number of trials of one bracket of `n` configurations.
fn planned(config: &TuneConfig, mut n: usize) -> usize {
    let mut total = 0;
    for _ in config.rungs() {
        total += n;
        n = n.div_ceil(config.eta);
    }
    total
}

/// Searches around `base` (its CG steps, solver and seed are kept; its seed also seeds the
/// sampling): fits each trial on the fit part and scores NDCG@`k` on the validation part.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for invalid settings, [`Error::NothingToEvaluate`] when the validation
/// split has no held-out interaction, [`Error::Model`] when a trial's parameters are invalid,
/// [`Error::Cancelled`] when `cancel` was set (checked before every trial).
pub fn search(
    data: &ValidationData,
    base: &AlsParams,
    config: &TuneConfig,
    k: usize,
    show_progress: bool,
    cancel: &Cancel,
) -> Result<TuneOutcome> {
    config.validate()?;
    let validation_users = data.split.evaluated_users();
    if validation_users == 0 {
        return Err(Error::NothingToEvaluate {
            split: "validation",
        });
    }
    let refine_configurations = config.configurations.div_ceil(3);
    let mut total = planned(config, config.configurations);
    if config.refine {
        total += planned(config, refine_configurations);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(base.seed);
    let mut runner = Runner {
        data,
        base,
        config,
        k,
        start: Instant::now(),
        trials: Vec::new(),
        stopped: None,
        bar: progress::bar(show_progress, total.min(config.max_trials) as u64, "tuning"),
        cancel,
    };
    let wide = sample(&mut rng, &config.space, config.configurations);
    runner.bracket(0, &wide)?;
    if config.refine && runner.stopped.is_none() {
        let scores: Vec<f64> = runner.trials.iter().map(|t| t.ndcg).collect();
        if let Some(b) = argmax_first(&scores) {
            let space = around(&config.space, &runner.trials[b], 0.25);
            let points = sample(&mut rng, &space, refine_configurations);
            runner.bracket(1, &points)?;
        }
    }
    runner.bar.finish_and_clear();
    let seconds = runner.start.elapsed().as_secs_f64();
    let stopped = runner.stopped.unwrap_or(Stop::Completed);
    let trials = runner.trials;
    let scores: Vec<f64> = trials.iter().map(|t| t.ndcg).collect();
    let best = argmax_first(&scores).ok_or_else(|| Error::InvalidConfig {
        field: "tune",
        reason: "the search ran no trial".into(),
    })?;
    let w = &trials[best];
    let best_params = AlsParams {
        factors: w.factors,
        regularization: w.regularization,
        alpha: w.alpha,
        iterations: w.iterations,
        ..base.clone()
    };
    let choice = explain(&trials, best, stopped, k);
    tracing::info!(trials = trials.len(), ?stopped, seconds, "tuning finished");
    Ok(TuneOutcome {
        config: config.clone(),
        seed: base.seed,
        k,
        validation_users,
        fit_interactions: data.fit_interactions,
        validation_interactions: data.validation_interactions,
        trials,
        best,
        best_params,
        stopped,
        seconds,
        choice,
    })
}

/// Why trial `best` won, in one paragraph.
fn explain(trials: &[Trial], best: usize, stopped: Stop, k: usize) -> String {
    let w = &trials[best];
    let stop = match stopped {
        Stop::Completed => "the search completed",
        Stop::TrialCap => "the search stopped at its trial cap",
        Stop::Budget => "the search stopped when its time budget ran out",
    };
    let runner_up = trials
        .iter()
        .enumerate()
        .filter(|&(i, t)| {
            i != best
                && (t.factors, t.regularization, t.alpha) != (w.factors, w.regularization, w.alpha)
        })
        .max_by(|a, b| a.1.ndcg.total_cmp(&b.1.ndcg).then(b.0.cmp(&a.0)));
    let mut s = format!(
        "Trial {} of {} (bracket {}, rung {}) has the highest validation NDCG@{k}, {:.4}, with \
         factors {}, regularization {:.4}, alpha {:.4} and {} iterations; {stop}.",
        best + 1,
        trials.len(),
        w.bracket,
        w.rung,
        w.ndcg,
        w.factors,
        w.regularization,
        w.alpha,
        w.iterations
    );
    if let Some((i, r)) = runner_up {
        s.push_str(&format!(
            " The best other configuration (trial {}: factors {}, regularization {:.4}, alpha {:.4}, \
             {} iterations) reached {:.4} ({:+.4}).",
            i + 1,
            r.factors,
            r.regularization,
            r.alpha,
            r.iterations,
            r.ndcg,
            r.ndcg - w.ndcg
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rungs_are_five_fifteen_forty_five() {
        let c = TuneConfig::default();
        c.validate().unwrap();
        assert_eq!(c.rungs(), [5, 15, 45]);
        // 54 + 18 + 6 in the wide bracket, 18 + 6 + 2 in the refinement.
        assert_eq!(planned(&c, 54), 78);
        assert_eq!(planned(&c, 18), 26);
        let one = TuneConfig {
            space: SearchSpace {
                iterations: (10, 10),
                ..SearchSpace::default()
            },
            ..TuneConfig::default()
        };
        assert_eq!(one.rungs(), [10]);
        let two = TuneConfig {
            eta: 2,
            space: SearchSpace {
                iterations: (3, 8),
                ..SearchSpace::default()
            },
            ..TuneConfig::default()
        };
        assert_eq!(two.rungs(), [4, 8]);
    }

    #[test]
    fn samples_are_seeded_and_inside_the_space() {
        let space = SearchSpace::default();
        let a = sample(&mut ChaCha8Rng::seed_from_u64(7), &space, 200);
        let b = sample(&mut ChaCha8Rng::seed_from_u64(7), &space, 200);
        let c = sample(&mut ChaCha8Rng::seed_from_u64(8), &space, 200);
        assert_eq!(a, b);
        assert_ne!(a, c);
        for p in &a {
            assert!((16..=512).contains(&p.factors), "{p:?}");
            assert!((0.01..=1000.0).contains(&p.regularization), "{p:?}");
            assert!((0.1..=100.0).contains(&p.alpha), "{p:?}");
        }
        // Log-uniform: about half the draws fall below the geometric midpoint (regularization 3.16).
        let below = a.iter().filter(|p| p.regularization < 3.16).count();
        assert!((70..=130).contains(&below), "{below}");
    }

    #[test]
    fn refinement_box_is_centred_and_clipped() {
        let space = SearchSpace::default();
        let t = Trial {
            bracket: 0,
            rung: 2,
            configuration: 0,
            factors: 512,
            regularization: 10.0,
            alpha: 1.0,
            iterations: 45,
            ndcg: 0.2,
            recall: 0.1,
            seconds: 0.0,
        };
        let b = around(&space, &t, 0.25);
        // Regularization spans 5 decades: the box spans 1.25, centred on 10.
        assert!((b.regularization.0 - 10f32.powf(1.0 - 0.625)).abs() < 1e-3);
        assert!((b.regularization.1 - 10f32.powf(1.0 + 0.625)).abs() < 0.1);
        // Factors at the top end: clipped to 512.
        assert_eq!(b.factors.1, 512);
        assert!(b.factors.0 < 512 && b.factors.0 > 256);
    }

    #[test]
    fn invalid_settings_are_rejected_with_their_field() {
        type Break = fn(&mut TuneConfig);
        let cases: [(Break, &str); 9] = [
            (|c| c.configurations = 0, "tune.configurations"),
            (|c| c.max_trials = 0, "tune.max_trials"),
            (|c| c.eta = 1, "tune.eta"),
            (|c| c.budget_seconds = 0.0, "tune.budget_seconds"),
            (|c| c.budget_seconds = f64::NAN, "tune.budget_seconds"),
            (
                |c| c.space.regularization = (0.0, 1.0),
                "tune.space.regularization",
            ),
            (|c| c.space.alpha = (5.0, 1.0), "tune.space.alpha"),
            (|c| c.space.factors = (0, 8), "tune.space.factors"),
            (|c| c.space.iterations = (0, 8), "tune.space.iterations"),
        ];
        for (break_it, field) in cases {
            let mut config = TuneConfig::default();
            break_it(&mut config);
            match config.validate() {
                Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn ties_go_to_the_earlier_point() {
        assert_eq!(argmax_first(&[0.1, 0.3, 0.3, 0.2]), Some(1));
        assert_eq!(argmax_first(&[f64::NAN, 0.2, 0.2]), Some(1));
        assert_eq!(argmax_first(&[f64::NAN]), Some(0));
        assert_eq!(argmax_first(&[]), None);
    }
}
