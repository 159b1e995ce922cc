//! Implicit-feedback alternating least squares (Hu, Koren & Volinsky 2008).
//!
//! Each observed (user, item) pair with weight `w` has preference 1 and confidence
//! `c = 1 + alpha * w`; every other pair has preference 0 and confidence 1. A sweep re-solves
//! every user vector with the items fixed, then every item vector with the users fixed. Each
//! row is solved either by a few conjugate-gradient steps warm-started from its previous value
//! (Takács et al. 2011, the method of the `implicit` library) or exactly by Cholesky (the
//! `solve` module has the details). Rows run in parallel on rayon, each row serially, and every reduction runs in a
//! fixed order, so a fit is bit-for-bit reproducible for a given seed whatever the thread count.
//!
//! ```
//! use models::als::AlsParams;
//! use models::sparse::CsrMatrix;
//!
//! let user_items = CsrMatrix::from_triplets(3, 4, &[(0, 0, 1.0), (1, 1, 2.0), (2, 3, 1.0)])?;
//! let params = AlsParams { factors: 4, iterations: 3, ..AlsParams::default() };
//! let model = params.check()?.fit(&user_items)?;
//! assert_eq!(model.user_factors.dim(), (3, 4));
//! assert_eq!(model.loss_history.len(), 3);
//! # Ok::<(), models::error::Error>(())
//! ```

mod gram;
mod loss;
mod params;
mod solve;

use std::time::{Duration, Instant};

use ndarray::{Array1, Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::sparse::CsrMatrix;

pub use gram::gram;
pub use params::{AlsParams, AlsValidParams};

use gram::gram_f64;
use solve::{ExactScratch, RowTerms, Solver};

/// The scalar Cholesky of the exact solver, reused for the diagonal blocks of the content
/// encoder's ridge solve.
pub(crate) use solve::cholesky_in_place;

/// Scale of the uniform `[0, INIT_SCALE)` initial factors (the `implicit` library's choice).
const INIT_SCALE: f32 = 0.01;

/// Progress of one ALS sweep, passed to the callback of [`AlsValidParams::fit_with`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IterationStats {
    /// 0-based sweep index: `loss_history[iteration] == loss`.
    pub iteration: usize,
    /// Training loss after the sweep (see [`AlsModel::loss_history`]).
    pub loss: f64,
    /// Wall-clock time of the sweep: both half-steps and the loss.
    pub elapsed: Duration,
}

/// A fitted implicit ALS model.
#[derive(Clone, Debug, PartialEq)]
pub struct AlsModel {
    /// One row per user (`n_users x factors`).
    pub user_factors: Array2<f32>,
    /// One row per item (`n_items x factors`).
    pub item_factors: Array2<f32>,
    /// Training loss after each sweep: the confidence-weighted squared error over all user ×
    /// item pairs plus the regularisation term, divided by the total confidence (as the
    /// `implicit` library reports it).
    pub loss_history: Vec<f64>,
    /// The parameters the model was fitted with.
    pub params: AlsParams,
}

impl AlsValidParams {
    /// Fits a model to a user × item matrix of raw interaction weights.
    ///
    /// # Errors
    ///
    /// See [`fit_with`](Self::fit_with).
    pub fn fit(&self, user_items: &CsrMatrix) -> Result<AlsModel> {
        self.fit_with(user_items, &mut |_| {})
    }

    /// Like [`fit`](Self::fit), calling `on_iter` after every sweep.
    ///
    /// Users or items without interactions get zero vectors (their exact solution).
    ///
    /// # Errors
    ///
    /// [`Error::EmptyMatrix`] if the matrix has no rows or no columns,
    /// [`Error::NonPositiveWeight`] if a stored weight is `<= 0`,
    /// [`Error::NonFiniteValue`] if `alpha * weight` overflows,
    /// [`Error::NotPositiveDefinite`] if an exact solve meets a singular system (only possible
    /// with `regularization == 0`).
    pub fn fit_with(
        &self,
        user_items: &CsrMatrix,
        on_iter: &mut dyn FnMut(&IterationStats),
    ) -> Result<AlsModel> {
        let p = self.params();
        let cm1_ui = confidence_minus_one(user_items, p.alpha)?;
        let cm1_iu = cm1_ui.transpose();
        let (mut users, mut items) =
            init_factors(user_items.n_rows(), user_items.n_cols(), p.factors, p.seed);
        let solver = if p.exact {
            Solver::Cholesky
        } else {
            Solver::ConjugateGradient { steps: p.cg_steps }
        };
        tracing::debug!(
            users = user_items.n_rows(),
            items = user_items.n_cols(),
            nnz = user_items.nnz(),
            ?solver,
            "fitting implicit ALS"
        );

        let mut loss_history = Vec::with_capacity(p.iterations);
        let mut gram_items = gram_f64(items.view());
        for iteration in 0..p.iterations {
            let start = Instant::now();
            let reg = p.regularization;
            solve::update_factors(&mut users, &cm1_ui, items.view(), &gram_items, reg, solver)?;
            let gram_users = gram_f64(users.view());
            solve::update_factors(&mut items, &cm1_iu, users.view(), &gram_users, reg, solver)?;
            // Also the item Gram matrix of the next sweep's user step.
            gram_items = gram_f64(items.view());
            let loss = loss::training_loss(
                &cm1_ui,
                users.view(),
                items.view(),
                &gram_users,
                &gram_items,
                reg,
            );
            let stats = IterationStats {
                iteration,
                loss,
                elapsed: start.elapsed(),
            };
            tracing::debug!(iteration, loss, elapsed = ?stats.elapsed, "ALS sweep");
            loss_history.push(loss);
            on_iter(&stats);
        }
        Ok(AlsModel {
            user_factors: users,
            item_factors: items,
            loss_history,
            params: p.clone(),
        })
    }
}

impl AlsModel {
    /// The exact least-squares vector of a new or updated user who interacted with `items`
    /// (weights `weights`), against this model's item factors. See [`fold_in`].
    ///
    /// This computes `YᵀY` (O(n_items · f²)) on every call; to fold in many users, compute
    /// [`gram()`] once and call [`fold_in`].
    ///
    /// # Errors
    ///
    /// As [`fold_in`].
    pub fn fold_in(&self, items: &[u32], weights: &[f32]) -> Result<Array1<f32>> {
        let gram = gram_f64(self.item_factors.view());
        fold_in_f64(
            self.item_factors.view(),
            &gram,
            self.params.regularization,
            self.params.alpha,
            items,
            weights,
        )
    }
}

/// Solves one user's vector exactly against fixed item factors:
/// `(YᵀY + Yᵀ(C - I)Y + λI) x = YᵀC p`, with `c = 1 + alpha * w` on the given items.
///
/// `gram` is `YᵀY` of `item_factors` (see [`gram()`]). Repeated items have their weights summed,
/// as in [`CsrMatrix::from_triplets`]. With no items the solution is the zero vector.
///
/// # Errors
///
/// [`Error::InvalidRegularization`], [`Error::InvalidAlpha`] as in [`AlsParams::check`];
/// [`Error::DimensionMismatch`] if `gram` is not `f x f`; [`Error::LengthMismatch`] if
/// `items` and `weights` differ in length; [`Error::IndexOutOfBounds`] for an item without a
/// row; [`Error::NonPositiveWeight`] (reported at row 0) for a weight `<= 0` or NaN;
/// [`Error::NotPositiveDefinite`] if the system is singular (only with `regularization == 0`).
pub fn fold_in(
    item_factors: ArrayView2<'_, f32>,
    gram: ArrayView2<'_, f32>,
    regularization: f32,
    alpha: f32,
    items: &[u32],
    weights: &[f32],
) -> Result<Array1<f32>> {
    let f = item_factors.ncols();
    for (what, got) in [("gram rows", gram.nrows()), ("gram columns", gram.ncols())] {
        if got != f {
            return Err(Error::DimensionMismatch {
                what,
                expected: f,
                got,
            });
        }
    }
    fold_in_f64(
        item_factors,
        &gram.mapv(f64::from),
        regularization,
        alpha,
        items,
        weights,
    )
}

fn fold_in_f64(
    item_factors: ArrayView2<'_, f32>,
    gram: &Array2<f64>,
    regularization: f32,
    alpha: f32,
    items: &[u32],
    weights: &[f32],
) -> Result<Array1<f32>> {
    // Reuse the parameter checks so the same inputs fail the same way as in `fit`.
    AlsParams {
        factors: item_factors.ncols().max(1),
        regularization,
        alpha,
        exact: true,
        ..AlsParams::default()
    }
    .check()?;
    if items.len() != weights.len() {
        return Err(Error::LengthMismatch {
            what: "weights",
            expected: items.len(),
            got: weights.len(),
        });
    }
    let n_items = item_factors.nrows();
    let mut entries: Vec<(u32, f32)> = Vec::with_capacity(items.len());
    for (&item, &w) in items.iter().zip(weights) {
        if item as usize >= n_items {
            return Err(Error::IndexOutOfBounds {
                what: "item",
                index: item as usize,
                bound: n_items,
            });
        }
        if w.is_nan() || w <= 0.0 {
            return Err(Error::NonPositiveWeight {
                row: 0,
                col: item as usize,
                value: w,
            });
        }
        entries.push((item, w));
    }
    let row = CsrMatrix::from_triplets(
        1,
        n_items,
        &entries.iter().map(|&(i, w)| (0, i, w)).collect::<Vec<_>>(),
    )?;
    let cm1 = confidence_minus_one(&row, alpha)?;
    let (cols, cm1s) = cm1.row(0);
    let other = item_factors.as_standard_layout();
    let f = other.ncols();
    let mut x = Array1::<f32>::zeros(f);
    solve::exact_row(
        x.as_slice_mut().expect("fresh array is contiguous"),
        RowTerms {
            cols,
            cm1: cm1s,
            other: other.as_slice().expect("standard layout is contiguous"),
        },
        &solve::regularized_f64(gram, regularization),
        &mut ExactScratch::new(f),
    )?;
    Ok(x)
}

/// Validates interaction weights and maps them to `c - 1 = alpha * w`.
fn confidence_minus_one(user_items: &CsrMatrix, alpha: f32) -> Result<CsrMatrix> {
    let (rows, cols) = (user_items.n_rows(), user_items.n_cols());
    if rows == 0 || cols == 0 {
        return Err(Error::EmptyMatrix {
            what: "user_items",
            rows,
            cols,
        });
    }
    for r in 0..rows {
        let (items, weights) = user_items.row(r);
        for (&c, &w) in items.iter().zip(weights) {
            if w.is_nan() || w <= 0.0 {
                return Err(Error::NonPositiveWeight {
                    row: r,
                    col: c as usize,
                    value: w,
                });
            }
            if !(alpha * w).is_finite() {
                return Err(Error::NonFiniteValue {
                    what: "alpha * weight",
                    row: r,
                    col: c as usize,
                    value: alpha * w,
                });
            }
        }
    }
    Ok(user_items.map_values(|w| alpha * w))
}

/// Seeded initial factors, uniform in `[0, INIT_SCALE)`: users first, then items.
fn init_factors(
    n_users: usize,
    n_items: usize,
    factors: usize,
    seed: u64,
) -> (Array2<f32>, Array2<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draw =
        |n| Array2::from_shape_simple_fn((n, factors), || rng.random::<f32>() * INIT_SCALE);
    let users = draw(n_users);
    let items = draw(n_items);
    (users, items)
}

#[cfg(test)]
mod tests;
