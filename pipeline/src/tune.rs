//! The hyper-parameter search on the validation split (`--tune`).
//!
//! The validation split applies the protocol's temporal rule to the train part (train → fit part +
//! validation part). Every grid point is fitted on the fit part and scored by NDCG@K on the validation
//! part, ranking the full catalog without the user's fit-part items. The best point wins; ties go to the
//! earlier point in grid order (factors, then regularization, then alpha, each ascending as listed).
//! Test data is never seen here.
//!
//! The default grid is factors {64, 128} × regularization {0.01, 0.1, 1.0} × alpha {1, 5, 20}: 18 fits
//! with the base parameters' iterations, CG steps, solver and seed, which takes well under two minutes on
//! MovieLens-100K in release on two cores.

use std::time::Instant;

use models::als::AlsParams;
use models::sparse::CsrMatrix;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::evaluate::{self, EvalSplit};
use crate::progress;
use crate::train;

// The default grid brackets what works for implicit ALS on sparse explicit-turned-implicit data such as
// MovieLens: strong regularization and a small confidence slope (a wide first sweep over
// factors 32..256, regularization 0.01..100 and alpha 0.5..50 on the ML-100K validation split found
// every good point in this box). 36 points, about a minute on ML-100K on 2 cores in release.
/// Factors tried by default.
pub const GRID_FACTORS: &[usize] = &[64, 128, 256];
/// Regularization values tried by default.
pub const GRID_REGULARIZATION: &[f32] = &[1.0, 3.0, 10.0, 30.0];
/// Alpha values tried by default.
pub const GRID_ALPHA: &[f32] = &[0.5, 1.0, 3.0];

/// The axes of the grid; every combination is tried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuneGrid {
    /// Numbers of factors.
    pub factors: Vec<usize>,
    /// Regularization strengths.
    pub regularization: Vec<f32>,
    /// Confidence scales.
    pub alpha: Vec<f32>,
}

impl Default for TuneGrid {
    /// [`GRID_FACTORS`] × [`GRID_REGULARIZATION`] × [`GRID_ALPHA`].
    fn default() -> Self {
        Self {
            factors: GRID_FACTORS.to_vec(),
            regularization: GRID_REGULARIZATION.to_vec(),
            alpha: GRID_ALPHA.to_vec(),
        }
    }
}

impl TuneGrid {
    /// Checks that no axis is empty.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] with field `grid`.
    pub fn validate(&self) -> Result<()> {
        if self.factors.is_empty() || self.regularization.is_empty() || self.alpha.is_empty() {
            return Err(Error::InvalidConfig {
                field: "grid",
                reason: "every axis (factors, regularization, alpha) needs at least one value"
                    .into(),
            });
        }
        Ok(())
    }

    /// The grid points in search order, each `base` with factors, regularization and alpha replaced.
    pub fn candidates(&self, base: &AlsParams) -> Vec<AlsParams> {
        let mut out =
            Vec::with_capacity(self.factors.len() * self.regularization.len() * self.alpha.len());
        for &factors in &self.factors {
            for &regularization in &self.regularization {
                for &alpha in &self.alpha {
                    out.push(AlsParams {
                        factors,
                        regularization,
                        alpha,
                        ..base.clone()
                    });
                }
            }
        }
        out
    }
}

/// One scored grid point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Number of factors.
    pub factors: usize,
    /// Regularization.
    pub regularization: f32,
    /// Alpha.
    pub alpha: f32,
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
    /// The grid that was searched.
    pub grid: TuneGrid,
    /// The cut-off of the selection metric (NDCG@K).
    pub k: usize,
    /// Users evaluated on the validation split.
    pub validation_users: usize,
    /// Interactions in the fit part.
    pub fit_interactions: usize,
    /// Interactions in the validation part.
    pub validation_interactions: usize,
    /// Every grid point in search order.
    pub candidates: Vec<Candidate>,
    /// Index of the winner in `candidates`.
    pub best: usize,
    /// The winning parameters (the base with the winner's factors, regularization and alpha).
    pub best_params: AlsParams,
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

/// Searches `grid` around `base`: fits each point on the fit part and scores NDCG@`k` on the
/// validation part.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for an empty grid, [`Error::NothingToEvaluate`] when the validation split
/// has no held-out interaction, [`Error::Model`] when a point's parameters are invalid.
pub fn search(
    data: &ValidationData,
    base: &AlsParams,
    grid: &TuneGrid,
    k: usize,
    show_progress: bool,
) -> Result<TuneOutcome> {
    grid.validate()?;
    let split = &data.split;
    let validation_users = split.evaluated_users();
    if validation_users == 0 {
        return Err(Error::NothingToEvaluate {
            split: "validation",
        });
    }
    let points = grid.candidates(base);
    let bar = progress::bar(show_progress, points.len() as u64, "tuning");
    let mut candidates = Vec::with_capacity(points.len());
    for params in &points {
        let start = Instant::now();
        let model = train::fit(&data.fit_matrix, params, false)?;
        let rankings = evaluate::rank_model(&model, split, k, false);
        let metrics = crate::metrics::summarize(&rankings, &split.test_items, k, split.n_items);
        let seconds = start.elapsed().as_secs_f64();
        tracing::info!(
            factors = params.factors,
            regularization = params.regularization,
            alpha = params.alpha,
            ndcg = metrics.ndcg,
            recall = metrics.recall,
            seconds,
            "grid point"
        );
        candidates.push(Candidate {
            factors: params.factors,
            regularization: params.regularization,
            alpha: params.alpha,
            ndcg: metrics.ndcg,
            recall: metrics.recall,
            seconds,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let scores: Vec<f64> = candidates.iter().map(|c| c.ndcg).collect();
    let best = argmax_first(&scores).ok_or_else(|| Error::InvalidConfig {
        field: "grid",
        reason: "the grid is empty".into(),
    })?;
    Ok(TuneOutcome {
        grid: grid.clone(),
        k,
        validation_users,
        fit_interactions: data.fit_interactions,
        validation_interactions: data.validation_interactions,
        best_params: points[best].clone(),
        candidates,
        best,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_in_documented_order_and_keep_the_base() {
        let base = AlsParams {
            iterations: 3,
            seed: 7,
            ..AlsParams::default()
        };
        let grid = TuneGrid {
            factors: vec![8, 16],
            regularization: vec![0.1, 1.0],
            alpha: vec![1.0, 5.0, 20.0],
        };
        let c = grid.candidates(&base);
        assert_eq!(c.len(), 12);
        assert_eq!(
            (c[0].factors, c[0].regularization, c[0].alpha),
            (8, 0.1, 1.0)
        );
        assert_eq!(
            (c[1].factors, c[1].regularization, c[1].alpha),
            (8, 0.1, 5.0)
        );
        assert_eq!(
            (c[3].factors, c[3].regularization, c[3].alpha),
            (8, 1.0, 1.0)
        );
        assert_eq!(
            (c[6].factors, c[6].regularization, c[6].alpha),
            (16, 0.1, 1.0)
        );
        assert!(c.iter().all(|p| p.iterations == 3 && p.seed == 7));
    }

    #[test]
    fn default_grid_has_thirty_six_points_around_the_default_params() {
        let grid = TuneGrid::default();
        grid.validate().unwrap();
        assert_eq!(grid.candidates(&AlsParams::default()).len(), 36);
        // The defaults were chosen by this grid: they must be one of its points.
        let d = AlsParams::default();
        assert!(grid.factors.contains(&d.factors));
        assert!(grid.regularization.contains(&d.regularization));
        assert!(grid.alpha.contains(&d.alpha));
    }

    #[test]
    fn empty_axis_is_rejected() {
        let grid = TuneGrid {
            factors: vec![],
            ..TuneGrid::default()
        };
        assert!(matches!(
            grid.validate(),
            Err(Error::InvalidConfig { field: "grid", .. })
        ));
    }

    #[test]
    fn ties_go_to_the_earlier_point() {
        assert_eq!(argmax_first(&[0.1, 0.3, 0.3, 0.2]), Some(1));
        assert_eq!(argmax_first(&[f64::NAN, 0.2, 0.2]), Some(1));
        assert_eq!(argmax_first(&[f64::NAN]), Some(0));
        assert_eq!(argmax_first(&[]), None);
    }
}
