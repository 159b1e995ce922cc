//! Closed-form multi-output ridge regression with an intercept, on sparse rows, in `f64`.
//!
//! For features `X` (`n x d`, sparse) and targets `Y` (`n x k`), the intercept is not penalised:
//! with the column means `x̄`, `ȳ` and the centred `Xc = X - 1x̄ᵀ`, `Yc = Y - 1ȳᵀ`, the weights are
//! `W = (XcᵀXc + λI)⁻¹ XcᵀYc` (the primal form, a `d x d` system) and the intercept is
//! `b = ȳ - Wᵀx̄`. The same `W` is `Xcᵀ (XcXcᵀ + λI)⁻¹ Yc` (the dual form, an `n x n` system, by the
//! push-through identity), so the smaller of the two is solved. Centring never densifies `X`:
//! `XcᵀXc = XᵀX - n x̄x̄ᵀ` and `XcXcᵀ = XXᵀ - s1ᵀ - 1sᵀ + (x̄·x̄) 11ᵀ` with `s = Xx̄` are formed from
//! the sparse products. Features no row uses are dropped first (their weights are 0 in both
//! forms), which often makes `d` much smaller than the number of hash buckets.
//!
//! The system is solved by a blocked Cholesky factorisation: the diagonal blocks with the ALS
//! solver's scalar Cholesky, the panel below them by row-wise substitution and the trailing update
//! with `ndarray`'s matrix product, block rows in parallel. Every block's arithmetic is the same
//! whatever the number of threads, so the result is bit-for-bit reproducible.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

use super::features::SparseRow;
use crate::als::cholesky_in_place;
use crate::error::{Error, Result};

/// Rows and columns per block of the blocked factorisation and solves.
const BLOCK: usize = 64;

/// A ridge problem whose Gram (primal) or kernel (dual) matrix is computed once, then solved
/// for any number of penalties.
#[derive(Debug)]
pub(crate) struct Ridge {
    /// The rows over the active features (compact indices).
    rows: Vec<SparseRow>,
    /// Original index of each active feature.
    active: Vec<u32>,
    /// Dimension of the original feature space.
    dim: usize,
    /// Column means of the active features.
    x_mean: Array1<f64>,
    /// Column means of the targets.
    y_mean: Array1<f64>,
    form: Form,
}

#[derive(Debug)]
enum Form {
    /// `XcᵀXc` (lower triangle) and `XcᵀYc`.
    Primal { gram: Array2<f64>, xty: Array2<f64> },
    /// `XcXcᵀ` (lower triangle) and `Yc`.
    Dual { kernel: Array2<f64>, y: Array2<f64> },
}

/// The weights and the intercept of one solve.
#[derive(Debug)]
pub(crate) struct RidgeSolution {
    /// `dim x k`.
    pub weights: Array2<f64>,
    /// `k`.
    pub intercept: Array1<f64>,
}

impl Ridge {
    /// Prepares the problem for `rows` of a `dim`-dimensional space and their targets `y` (one
    /// row per feature row, at least one row).
    pub(crate) fn new(rows: &[SparseRow], dim: usize, y: ArrayView2<'_, f64>) -> Self {
        debug_assert_eq!(rows.len(), y.nrows());
        let mut used = vec![false; dim];
        for row in rows {
            for &(j, _) in row {
                used[j as usize] = true;
            }
        }
        let active: Vec<u32> = (0..dim as u32).filter(|&j| used[j as usize]).collect();
        let mut compact = vec![u32::MAX; dim];
        for (c, &j) in active.iter().enumerate() {
            compact[j as usize] = c as u32;
        }
        let rows: Vec<SparseRow> = rows
            .iter()
            .map(|row| row.iter().map(|&(j, v)| (compact[j as usize], v)).collect())
            .collect();
        let (n, d) = (rows.len(), active.len());
        let nf = n as f64;
        let mut x_mean = Array1::<f64>::zeros(d);
        for row in &rows {
            for &(j, v) in row {
                x_mean[j as usize] += f64::from(v);
            }
        }
        x_mean /= nf;
        let y_mean = y.mean_axis(Axis(0)).expect("at least one row");
        let form = if d <= n {
            let mut gram = gram(&rows, d);
            for a in 0..d {
                for b in 0..=a {
                    gram[[a, b]] -= nf * x_mean[a] * x_mean[b];
                }
            }
            let mut xty = transpose_times(&rows, d, y);
            for a in 0..d {
                xty.row_mut(a).scaled_add(-nf * x_mean[a], &y_mean);
            }
            Form::Primal { gram, xty }
        } else {
            let mut kernel = kernel(&rows, d);
            let s: Vec<f64> = rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|&(j, v)| f64::from(v) * x_mean[j as usize])
                        .sum()
                })
                .collect();
            let mm = x_mean.dot(&x_mean);
            for i in 0..n {
                for j in 0..=i {
                    kernel[[i, j]] += mm - s[i] - s[j];
                }
            }
            Form::Dual {
                kernel,
                y: &y - &y_mean,
            }
        };
        tracing::debug!(
            rows = n,
            active_features = d,
            primal = matches!(form, Form::Primal { .. }),
            "ridge system prepared"
        );
        Self {
            rows,
            active,
            dim,
            x_mean,
            y_mean,
            form,
        }
    }

    /// The weights (`dim x k`) and intercept for the penalty `lambda > 0`.
    ///
    /// # Errors
    ///
    /// [`Error::NotPositiveDefinite`] if the system is numerically singular (not with a
    /// reasonable `lambda`: `XcᵀXc + λI` is positive definite for every `λ > 0`).
    pub(crate) fn solve(&self, lambda: f64) -> Result<RidgeSolution> {
        let compact = match &self.form {
            Form::Primal { gram, xty } => {
                let mut a = gram.clone();
                a.diag_mut().mapv_inplace(|v| v + lambda);
                let mut w = xty.clone();
                solve_spd(&mut a, &mut w)?;
                w
            }
            Form::Dual { kernel, y } => {
                let mut a = kernel.clone();
                a.diag_mut().mapv_inplace(|v| v + lambda);
                let mut alpha = y.clone();
                solve_spd(&mut a, &mut alpha)?;
                // Xcᵀα = Xᵀα - x̄ (1ᵀα).
                let mut w = transpose_times(&self.rows, self.active.len(), alpha.view());
                let column_sums = alpha.sum_axis(Axis(0));
                for (mut row, &m) in w.rows_mut().into_iter().zip(&self.x_mean) {
                    row.scaled_add(-m, &column_sums);
                }
                w
            }
        };
        let intercept = &self.y_mean - &compact.t().dot(&self.x_mean);
        let mut weights = Array2::<f64>::zeros((self.dim, compact.ncols()));
        for (c, &j) in self.active.iter().enumerate() {
            weights.row_mut(j as usize).assign(&compact.row(c));
        }
        Ok(RidgeSolution { weights, intercept })
    }
}

/// The lower triangle of `XᵀX` (`d x d`), rows accumulated in order.
fn gram(rows: &[SparseRow], d: usize) -> Array2<f64> {
    let mut g = Array2::<f64>::zeros((d, d));
    let flat = g.as_slice_mut().expect("a new array is contiguous");
    for row in rows {
        for (i, &(a, va)) in row.iter().enumerate() {
            let base = a as usize * d;
            for &(b, vb) in &row[..=i] {
                flat[base + b as usize] += f64::from(va) * f64::from(vb);
            }
        }
    }
    g
}

/// The lower triangle of `XXᵀ` (`n x n`), rows of the result in parallel.
fn kernel(rows: &[SparseRow], d: usize) -> Array2<f64> {
    let n = rows.len();
    let mut k = Array2::<f64>::zeros((n, n));
    k.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each_init(
            || vec![0.0f64; d],
            |dense, (i, mut out)| {
                for &(j, v) in &rows[i] {
                    dense[j as usize] = f64::from(v);
                }
                for (other, slot) in rows[..=i].iter().zip(out.iter_mut()) {
                    *slot = other
                        .iter()
                        .map(|&(j, v)| dense[j as usize] * f64::from(v))
                        .sum();
                }
                for &(j, _) in &rows[i] {
                    dense[j as usize] = 0.0;
                }
            },
        );
    k
}

/// `Xᵀ M` (`d x k`) for sparse `X` (`n x d`) and dense `M` (`n x k`).
fn transpose_times(rows: &[SparseRow], d: usize, m: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut out = Array2::<f64>::zeros((d, m.ncols()));
    for (row, mrow) in rows.iter().zip(m.rows()) {
        for &(j, v) in row {
            out.row_mut(j as usize).scaled_add(f64::from(v), &mrow);
        }
    }
    out
}

/// Solves `A X = B` for symmetric positive-definite `A` given by its lower triangle; `A` is
/// overwritten by its Cholesky factor and `B` by `X`.
///
/// # Errors
///
/// [`Error::NotPositiveDefinite`].
pub(crate) fn solve_spd(a: &mut Array2<f64>, b: &mut Array2<f64>) -> Result<()> {
    cholesky(a)?;
    forward(a.view(), b);
    backward(a.view(), b);
    Ok(())
}

/// Blocked lower Cholesky `A = L Lᵀ` in place; only the lower triangle is read and written.
fn cholesky(a: &mut Array2<f64>) -> Result<()> {
    let n = a.nrows();
    debug_assert_eq!(n, a.ncols());
    let mut k0 = 0;
    while k0 < n {
        let k1 = (k0 + BLOCK).min(n);
        let nb = k1 - k0;
        // The diagonal block has had every earlier update: factor it.
        let mut diag: Vec<f64> = a.slice(s![k0..k1, k0..k1]).iter().copied().collect();
        cholesky_in_place(&mut diag, nb).map_err(|e| match e {
            Error::NotPositiveDefinite { pivot } => {
                Error::NotPositiveDefinite { pivot: k0 + pivot }
            }
            other => other,
        })?;
        for r in 0..nb {
            for c in 0..=r {
                a[[k0 + r, k0 + c]] = diag[r * nb + c];
            }
        }
        if k1 == n {
            break;
        }
        // The panel below it: L21 = A21 L11⁻ᵀ, one row at a time.
        a.slice_mut(s![k1.., k0..k1])
            .axis_iter_mut(Axis(0))
            .into_par_iter()
            .for_each(|mut row| {
                for c in 0..nb {
                    let mut v = row[c];
                    for t in 0..c {
                        v -= diag[c * nb + t] * row[t];
                    }
                    row[c] = v / diag[c * nb + c];
                }
            });
        // The trailing lower triangle: A22 -= L21 L21ᵀ, one block row at a time.
        let (left, mut right) = a.view_mut().split_at(Axis(1), k1);
        let panel = left.slice(s![k1.., k0..k1]);
        right
            .slice_mut(s![k1.., ..])
            .axis_chunks_iter_mut(Axis(0), BLOCK)
            .into_par_iter()
            .enumerate()
            .for_each(|(bi, mut chunk)| {
                let r0 = bi * BLOCK;
                let r1 = r0 + chunk.nrows();
                general_mat_mul(
                    -1.0,
                    &panel.slice(s![r0..r1, ..]),
                    &panel.slice(s![..r1, ..]).t(),
                    1.0,
                    &mut chunk.slice_mut(s![.., ..r1]),
                );
            });
        k0 = k1;
    }
    Ok(())
}

/// Subtracts `l * b[src]` from row `dst` of the row-major `b` with `k` columns (`src < dst`).
fn row_axpy(flat: &mut [f64], k: usize, src: usize, dst: usize, l: f64) {
    let (head, tail) = flat.split_at_mut(dst * k);
    let from = &head[src * k..(src + 1) * k];
    for (d, f) in tail[..k].iter_mut().zip(from) {
        *d -= l * f;
    }
}

/// Solves `L Z = B` in place (`B` becomes `Z`), blocked.
fn forward(l: ArrayView2<'_, f64>, b: &mut Array2<f64>) {
    let (n, k) = b.dim();
    let mut i0 = 0;
    while i0 < n {
        let i1 = (i0 + BLOCK).min(n);
        if i0 > 0 {
            let (done, mut rest) = b.view_mut().split_at(Axis(0), i0);
            general_mat_mul(
                -1.0,
                &l.slice(s![i0..i1, ..i0]),
                &done,
                1.0,
                &mut rest.slice_mut(s![..i1 - i0, ..]),
            );
        }
        let flat = b.as_slice_mut().expect("owned and contiguous");
        for r in i0..i1 {
            for c in i0..r {
                row_axpy(flat, k, c, r, l[[r, c]]);
            }
            let inv = 1.0 / l[[r, r]];
            flat[r * k..(r + 1) * k].iter_mut().for_each(|v| *v *= inv);
        }
        i0 = i1;
    }
}

/// Solves `Lᵀ X = Z` in place (`Z` becomes `X`), blocked.
fn backward(l: ArrayView2<'_, f64>, b: &mut Array2<f64>) {
    let (n, k) = b.dim();
    let mut i1 = n;
    while i1 > 0 {
        let i0 = i1.saturating_sub(BLOCK);
        if i1 < n {
            let (mut head, done) = b.view_mut().split_at(Axis(0), i1);
            general_mat_mul(
                -1.0,
                &l.slice(s![i1.., i0..i1]).t(),
                &done,
                1.0,
                &mut head.slice_mut(s![i0.., ..]),
            );
        }
        let flat = b.as_slice_mut().expect("owned and contiguous");
        for r in (i0..i1).rev() {
            // Row r of Lᵀ within the block is column r of L below the diagonal.
            let (head, tail) = flat.split_at_mut((r + 1) * k);
            let row = &mut head[r * k..];
            for c in r + 1..i1 {
                let lcr = l[[c, r]];
                let from = &tail[(c - r - 1) * k..(c - r) * k];
                for (d, f) in row.iter_mut().zip(from) {
                    *d -= lcr * f;
                }
            }
            let inv = 1.0 / l[[r, r]];
            row.iter_mut().for_each(|v| *v *= inv);
        }
        i1 = i0;
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn random_spd(n: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
        let m = Array2::from_shape_fn((n, n + 3), |_| rng.random_range(-1.0..1.0));
        m.dot(&m.t()) + Array2::<f64>::eye(n) * 0.5
    }

    #[test]
    fn blocked_solve_matches_the_system_across_block_boundaries() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for n in [1, 5, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 7] {
            let a = random_spd(n, &mut rng);
            let b = Array2::from_shape_fn((n, 3), |_| rng.random_range(-1.0..1.0));
            let mut l = a.clone();
            // The upper triangle must not be read: spoil it.
            for r in 0..n {
                for c in r + 1..n {
                    l[[r, c]] = f64::NAN;
                }
            }
            let mut x = b.clone();
            solve_spd(&mut l, &mut x).unwrap();
            let residual = &a.dot(&x) - &b;
            let worst = residual.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(worst < 1e-8, "n={n}: residual {worst}");
        }
    }

    #[test]
    fn rejects_an_indefinite_matrix_with_the_global_pivot() {
        let n = BLOCK + 10;
        let mut a = Array2::<f64>::eye(n);
        a[[BLOCK + 3, BLOCK + 3]] = -1.0;
        let mut b = Array2::<f64>::zeros((n, 1));
        assert!(matches!(
            solve_spd(&mut a, &mut b),
            Err(Error::NotPositiveDefinite { pivot }) if pivot == BLOCK + 3
        ));
    }

    /// Ridge with an unpenalised intercept computed densely, as the oracle: `[1 X]` with the
    /// penalty on every column but the first.
    fn dense_ridge(
        rows: &[SparseRow],
        d: usize,
        y: &Array2<f64>,
        lambda: f64,
    ) -> (Array2<f64>, Array1<f64>) {
        let mut x = Array2::<f64>::zeros((rows.len(), d + 1));
        for (r, row) in rows.iter().enumerate() {
            x[[r, 0]] = 1.0;
            for &(j, v) in row {
                x[[r, 1 + j as usize]] = f64::from(v);
            }
        }
        let mut penalty = Array2::<f64>::eye(d + 1) * lambda;
        penalty[[0, 0]] = 0.0;
        let mut a = x.t().dot(&x) + penalty;
        let mut w = x.t().dot(y);
        solve_spd(&mut a, &mut w).unwrap();
        (w.slice(s![1.., ..]).to_owned(), w.row(0).to_owned())
    }

    fn sparse_rows(n: usize, d: usize, rng: &mut ChaCha8Rng) -> Vec<SparseRow> {
        (0..n)
            .map(|_| {
                let mut row = SparseRow::new();
                for j in 0..d as u32 {
                    if rng.random_bool(0.2) {
                        row.push((j, rng.random_range(-1.0..1.0)));
                    }
                }
                row
            })
            .collect()
    }

    #[test]
    fn primal_and_dual_forms_agree_with_the_dense_oracle() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        // Tall (primal) and wide (dual), with unused features in both.
        for (n, d) in [(120, 30), (25, 150)] {
            let rows = sparse_rows(n, d, &mut rng);
            let y = Array2::from_shape_fn((n, 4), |_| rng.random_range(-1.0..1.0));
            let ridge = Ridge::new(&rows, d + 5, y.view());
            assert_eq!(matches!(ridge.form, Form::Primal { .. }), n >= d);
            for lambda in [0.1, 3.0] {
                let got = ridge.solve(lambda).unwrap();
                assert_eq!(got.weights.dim(), (d + 5, 4));
                let (want, intercept) = dense_ridge(&rows, d, &y, lambda);
                for c in 0..4 {
                    for j in 0..d {
                        assert!(
                            (got.weights[[j, c]] - want[[j, c]]).abs() < 1e-9,
                            "n={n} d={d} λ={lambda} ({j}, {c})"
                        );
                    }
                    assert!((got.intercept[c] - intercept[c]).abs() < 1e-9);
                }
                assert!(got.weights.slice(s![d.., ..]).iter().all(|&v| v == 0.0));
            }
        }
    }
}
