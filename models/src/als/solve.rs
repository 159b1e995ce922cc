//! Per-row least-squares solves of implicit ALS.
//!
//! With the other side's factors `Y` fixed, row `u` minimises
//! `Σ_i c_ui (p_ui - x·y_i)² + λ|x|²`, i.e. solves `A x = b` with
//! `A = YᵀY + λI + Σ_{i∈u} (c_ui - 1) y_i y_iᵀ` and `b = Σ_{i∈u} c_ui y_i`. The sums run over the
//! row's stored entries only; the dense confidence matrix is never formed.
//!
//! Two solvers:
//! - [`cg_row`]: a few conjugate-gradient steps warm-started from the previous `x`, computing
//!   `A p` as `(YᵀY + λI) p + Σ (c - 1)(y·p) y` (Takács et al. 2011, the `implicit` library's
//!   method). `f32`, no allocation once a thread's scratch has grown to the longest row,
//!   O(steps · (f² + nnz·f)) per row.
//! - [`exact_row`]: forms `A` in `f64` and solves it by Cholesky. O(f³ + nnz·f²) per row.
//!
//! Each row is solved serially, so results do not depend on how rows are spread over threads.

use ndarray::{Array2, ArrayView2};
use pulp::{Simd, WithSimd};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::kernels::{self, Kernels};
use crate::sparse::CsrMatrix;

/// Squared residual norm below which conjugate gradient stops (as in `implicit`).
const CG_TOLERANCE: f32 = 1e-20;

/// How each row is solved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Solver {
    /// `steps` conjugate-gradient steps from the current vector.
    ConjugateGradient { steps: usize },
    /// Exact solve by Cholesky factorisation.
    Cholesky,
}

/// Per-thread work vectors for [`cg_row`].
pub(crate) struct CgScratch {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
    /// One coefficient per entry of the current row.
    coef: Vec<f32>,
}

impl CgScratch {
    pub(crate) fn new(f: usize) -> Self {
        Self {
            r: vec![0.0; f],
            p: vec![0.0; f],
            ap: vec![0.0; f],
            coef: Vec::new(),
        }
    }
}

/// Per-thread work arrays for [`exact_row`].
pub(crate) struct ExactScratch {
    a: Vec<f64>,
    b: Vec<f64>,
    y: Vec<f64>,
}

impl ExactScratch {
    pub(crate) fn new(f: usize) -> Self {
        Self {
            a: vec![0.0; f * f],
            b: vec![0.0; f],
            y: vec![0.0; f],
        }
    }
}

/// One row's data: the other side's vectors it interacts with and their `c - 1 = alpha * w`.
#[derive(Clone, Copy)]
pub(crate) struct RowTerms<'a> {
    /// Indices into `other` (rows of the other side's factor matrix).
    pub(crate) cols: &'a [u32],
    /// `c - 1` for each entry of `cols`.
    pub(crate) cm1: &'a [f32],
    /// The other side's factors, row-major `n x f`.
    pub(crate) other: &'a [f32],
}

impl<'a> RowTerms<'a> {
    #[inline(always)]
    fn vectors(self, f: usize) -> impl Iterator<Item = (&'a [f32], f32)> {
        self.cols.iter().zip(self.cm1).map(move |(&i, &w)| {
            let start = i as usize * f;
            (&self.other[start..start + f], w)
        })
    }
}

/// `out = (YᵀY + λI) v + Σ_i coef_i y_i` with `coef_i = g(c_i - 1, y_i · v)`.
///
/// All dot products are taken first and the updates applied after: the dots are independent,
/// so the CPU overlaps them (and the cache misses of the first touch of each `y_i`).
#[inline(always)]
fn apply<S: Simd>(
    k: Kernels<S>,
    a0: &[f32],
    terms: RowTerms<'_>,
    v: &[f32],
    coef: &mut Vec<f32>,
    out: &mut [f32],
    g: impl Fn(f32, f32) -> f32,
) {
    let f = v.len();
    k.symv(a0, v, out);
    // Plain loops, not iterator adapters: a closure is compiled as its own function, without
    // the instruction set `dispatch` enabled, and the SIMD intrinsics would not inline into it.
    coef.clear();
    for (y, cm1) in terms.vectors(f) {
        coef.push(g(cm1, k.dot(y, v)));
    }
    for ((y, _), &c) in terms.vectors(f).zip(coef.iter()) {
        k.axpy(c, y, out);
    }
}

/// Conjugate gradient on row `x`, starting from its current value.
///
/// `a0` is `YᵀY + λI` as a row-major `f x f` `f32` matrix. A row with no entries has the exact
/// solution 0 and is set to it.
#[inline(always)]
pub(crate) fn cg_row<S: Simd>(
    k: Kernels<S>,
    x: &mut [f32],
    terms: RowTerms<'_>,
    a0: &[f32],
    steps: usize,
    s: &mut CgScratch,
) {
    if terms.cols.is_empty() {
        x.fill(0.0);
        return;
    }
    let CgScratch { r, p, ap, coef } = s;

    // r = b - A x = -[(YᵀY + λI) x + Σ ((c - 1) y·x - c) y]
    apply(k, a0, terms, x, coef, r, |cm1, yx| cm1 * yx - (1.0 + cm1));
    for rj in r.iter_mut() {
        *rj = -*rj;
    }
    p.copy_from_slice(r);
    let mut rs_old = k.dot(r, r);
    if rs_old < CG_TOLERANCE {
        return;
    }
    for _ in 0..steps {
        // ap = A p = (YᵀY + λI) p + Σ (c - 1)(y·p) y
        apply(k, a0, terms, p, coef, ap, |cm1, yp| cm1 * yp);
        let p_ap = k.dot(p, ap);
        // A is positive semi-definite; a non-positive (or NaN) curvature means p is numerically
        // zero or A singular, and a step would only add noise.
        if p_ap.is_nan() || p_ap <= 0.0 {
            break;
        }
        let step = rs_old / p_ap;
        k.axpy(step, p, x);
        k.axpy(-step, ap, r);
        let rs_new = k.dot(r, r);
        if rs_new < CG_TOLERANCE {
            break;
        }
        let beta = rs_new / rs_old;
        for (pj, rj) in p.iter_mut().zip(r.iter()) {
            *pj = rj + beta * *pj;
        }
        rs_old = rs_new;
    }
}

/// [`cg_row`] as a unit of work for [`kernels::dispatch`].
struct CgRow<'a> {
    x: &'a mut [f32],
    terms: RowTerms<'a>,
    a0: &'a [f32],
    steps: usize,
    scratch: &'a mut CgScratch,
}

impl WithSimd for CgRow<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        cg_row(
            Kernels(simd),
            self.x,
            self.terms,
            self.a0,
            self.steps,
            self.scratch,
        );
    }
}

/// Exact solve of row `x`: forms `A` and `b` in `f64` and solves by Cholesky.
///
/// `a0` is `YᵀY + λI` as a row-major `f x f` `f64` matrix (only its lower triangle is read).
/// A row with no entries is set to 0, its exact solution.
///
/// # Errors
///
/// [`Error::NotPositiveDefinite`] if `A` is singular (possible only with `λ = 0`).
pub(crate) fn exact_row(
    x: &mut [f32],
    terms: RowTerms<'_>,
    a0: &[f64],
    s: &mut ExactScratch,
) -> Result<()> {
    let f = x.len();
    if terms.cols.is_empty() {
        x.fill(0.0);
        return Ok(());
    }
    let ExactScratch { a, b, y } = s;
    a.copy_from_slice(a0);
    b.fill(0.0);
    for (yi, cm1) in terms.vectors(f) {
        for (yd, &v) in y.iter_mut().zip(yi) {
            *yd = f64::from(v);
        }
        let cm1 = f64::from(cm1);
        let c = 1.0 + cm1;
        for j in 0..f {
            b[j] += c * y[j];
            // Rank-one update of the lower triangle only.
            let scale = cm1 * y[j];
            for (ajk, yk) in a[j * f..=j * f + j].iter_mut().zip(&y[..=j]) {
                *ajk += scale * yk;
            }
        }
    }
    cholesky_in_place(a, f)?;
    cholesky_solve(a, f, b);
    for (xj, bj) in x.iter_mut().zip(b.iter()) {
        *xj = *bj as f32;
    }
    Ok(())
}

/// Cholesky factorisation `A = L Lᵀ` of a symmetric positive-definite row-major `n x n` matrix,
/// reading and overwriting the lower triangle with `L`.
///
/// # Errors
///
/// [`Error::NotPositiveDefinite`] when a pivot is not positive relative to its diagonal entry.
pub(crate) fn cholesky_in_place(a: &mut [f64], n: usize) -> Result<()> {
    debug_assert_eq!(a.len(), n * n);
    for j in 0..n {
        // `head` ends with row j; `below` holds rows j + 1.. .
        let (head, below) = a.split_at_mut((j + 1) * n);
        let row_j = &mut head[j * n..];
        let diag = row_j[j];
        let pivot = diag - row_j[..j].iter().map(|v| v * v).sum::<f64>();
        // A pivot lost to cancellation is as bad as a negative one.
        if !(pivot.is_finite() && pivot > diag.abs() * f64::EPSILON * n as f64) {
            return Err(Error::NotPositiveDefinite { pivot: j });
        }
        let l_jj = pivot.sqrt();
        row_j[j] = l_jj;
        let row_j = &head[j * n..];
        for row_i in below.chunks_exact_mut(n) {
            let s: f64 = row_i[..j].iter().zip(&row_j[..j]).map(|(p, q)| p * q).sum();
            row_i[j] = (row_i[j] - s) / l_jj;
        }
    }
    Ok(())
}

/// Solves `L Lᵀ x = b` in place (`b` becomes `x`), `L` from [`cholesky_in_place`].
pub(crate) fn cholesky_solve(l: &[f64], n: usize, b: &mut [f64]) {
    // Forward substitution: L z = b.
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        let s: f64 = row.iter().zip(&b[..i]).map(|(p, q)| p * q).sum();
        b[i] = (b[i] - s) / l[i * n + i];
    }
    // Back substitution: Lᵀ x = z, column-oriented so it reads rows of L contiguously.
    for i in (0..n).rev() {
        b[i] /= l[i * n + i];
        let xi = b[i];
        for (bk, lik) in b[..i].iter_mut().zip(&l[i * n..i * n + i]) {
            *bk -= lik * xi;
        }
    }
}

/// `YᵀY + λI` as a flat row-major matrix.
fn regularized<T: Copy>(gram: &Array2<f64>, reg: f32, cast: impl Fn(f64) -> T) -> Vec<T> {
    let f = gram.nrows();
    let mut out = Vec::with_capacity(f * f);
    for ((r, c), &g) in gram.indexed_iter() {
        out.push(cast(if r == c { g + f64::from(reg) } else { g }));
    }
    out
}

/// Re-solves every row of `target` against the fixed `other` factors, rows in parallel.
///
/// `cm1` is the `target rows x other rows` matrix of `c - 1 = alpha * w`; `gram` is `YᵀY` of
/// `other` (without regularisation).
///
/// # Errors
///
/// [`Error::NotPositiveDefinite`] from the Cholesky solver.
pub(crate) fn update_factors(
    target: &mut Array2<f32>,
    cm1: &CsrMatrix,
    other: ArrayView2<'_, f32>,
    gram: &Array2<f64>,
    reg: f32,
    solver: Solver,
) -> Result<()> {
    let f = target.ncols();
    debug_assert_eq!(other.ncols(), f);
    debug_assert_eq!(cm1.n_rows(), target.nrows());
    debug_assert_eq!(cm1.n_cols(), other.nrows());
    let other = other
        .as_slice()
        .expect("factor matrices are kept in standard layout");
    let rows = target
        .as_slice_mut()
        .expect("factor matrices are kept in standard layout")
        .par_chunks_mut(f)
        .enumerate();
    let terms = |u: usize| {
        let (cols, cm1) = cm1.row(u);
        RowTerms { cols, cm1, other }
    };
    match solver {
        Solver::ConjugateGradient { steps } => {
            let a0 = regularized(gram, reg, |v| v as f32);
            rows.for_each_init(
                || CgScratch::new(f),
                |scratch, (u, x)| {
                    kernels::dispatch(CgRow {
                        x,
                        terms: terms(u),
                        a0: &a0,
                        steps,
                        scratch,
                    });
                },
            );
            Ok(())
        }
        Solver::Cholesky => {
            let a0 = regularized(gram, reg, |v| v);
            rows.try_for_each_init(
                || ExactScratch::new(f),
                |s, (u, x)| exact_row(x, terms(u), &a0, s),
            )
        }
    }
}

/// `YᵀY + λI` in `f64`, for [`exact_row`] callers outside this module.
pub(crate) fn regularized_f64(gram: &Array2<f64>, reg: f32) -> Vec<f64> {
    regularized(gram, reg, |v| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_spd(n: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let m: Vec<f64> = (0..n * n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| m[i * n + k] * m[j * n + k]).sum::<f64>();
            }
            a[i * n + i] += 0.5;
        }
        a
    }

    #[test]
    fn cholesky_solves_spd_systems() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for n in [1, 2, 7, 33] {
            let a = random_spd(n, &mut rng);
            let x_true: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
            let mut b: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| a[i * n + j] * x_true[j]).sum())
                .collect();
            let mut l = a.clone();
            cholesky_in_place(&mut l, n).unwrap();
            cholesky_solve(&l, n, &mut b);
            for (got, want) in b.iter().zip(&x_true) {
                assert!((got - want).abs() < 1e-9, "n={n}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn cholesky_rejects_singular_and_indefinite_matrices() {
        // Rank one: [[1, 1], [1, 1]].
        let mut singular = vec![1.0, 1.0, 1.0, 1.0];
        assert!(matches!(
            cholesky_in_place(&mut singular, 2),
            Err(Error::NotPositiveDefinite { pivot: 1 })
        ));
        let mut indefinite = vec![-1.0, 0.0, 0.0, 1.0];
        assert!(matches!(
            cholesky_in_place(&mut indefinite, 2),
            Err(Error::NotPositiveDefinite { pivot: 0 })
        ));
    }

    #[test]
    fn empty_row_is_set_to_zero_by_both_solvers() {
        let terms = RowTerms {
            cols: &[],
            cm1: &[],
            other: &[],
        };
        let mut x = vec![0.3f32, -0.2];
        cg_row(
            Kernels(pulp::Scalar),
            &mut x,
            terms,
            &[1.0, 0.0, 0.0, 1.0],
            3,
            &mut CgScratch::new(2),
        );
        assert_eq!(x, vec![0.0, 0.0]);
        let mut x = vec![0.3f32, -0.2];
        exact_row(
            &mut x,
            terms,
            &[1.0, 0.0, 0.0, 1.0],
            &mut ExactScratch::new(2),
        )
        .unwrap();
        assert_eq!(x, vec![0.0, 0.0]);
    }
}
