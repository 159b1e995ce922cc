//! The training loss reported after each ALS sweep, computed as the `implicit` library does.
//!
//! `loss = [Σ_ui c_ui (p_ui - x_u·y_i)² + λ(|X|² + |Y|²)] / (Σ_ui c_ui)`, over all user × item
//! pairs including the unobserved ones (confidence 1, preference 0). The dense sum is never
//! formed: with `s = x_u·y_i`,
//! `Σ_ui c (p - s)² = Σ_ui s² + Σ_{observed} [c - 2cs + (c - 1)s²]`, and
//! `Σ_ui s² = Σ_u x_uᵀ (YᵀY) x_u = ⟨XᵀX, YᵀY⟩` (the Frobenius product of the two Gram matrices,
//! which the sweep has already computed), while `|X|² = tr XᵀX`. What is left is one dot
//! product per observed entry.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use pulp::{Simd, WithSimd};

use crate::kernels::{self, Kernels};
use crate::sparse::CsrMatrix;

/// One user's `(Σ_observed [c - 2cs + (c - 1)s²], Σ_observed c)`.
struct UserTerms<'a> {
    xu: &'a [f32],
    cols: &'a [u32],
    cm1: &'a [f32],
    items: &'a [f32],
}

impl WithSimd for UserTerms<'_> {
    type Output = (f64, f64);

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> (f64, f64) {
        let k = Kernels(simd);
        let f = self.xu.len();
        let mut correction = 0.0f64;
        let mut confidence = 0.0f64;
        for (&i, &cm1) in self.cols.iter().zip(self.cm1) {
            let start = i as usize * f;
            let s = f64::from(k.dot(self.xu, &self.items[start..start + f]));
            let cm1 = f64::from(cm1);
            let c = 1.0 + cm1;
            correction += c - 2.0 * c * s + cm1 * s * s;
            confidence += c;
        }
        (correction, confidence)
    }
}

/// The normalised training loss.
///
/// `cm1` holds `c - 1 = alpha * w` for every observed (user, item); `gram_x` and `gram_y` are
/// `XᵀX` and `YᵀY` of the current factors.
pub(crate) fn training_loss(
    cm1: &CsrMatrix,
    users: ArrayView2<'_, f32>,
    items: ArrayView2<'_, f32>,
    gram_x: &Array2<f64>,
    gram_y: &Array2<f64>,
    reg: f32,
) -> f64 {
    let f = users.ncols();
    let x = users.as_slice().expect("standard layout");
    let y = items.as_slice().expect("standard layout");
    // Per-user (observed-entry correction, confidence sum), collected in order and summed
    // serially so the result does not depend on the thread count.
    let per_user: Vec<(f64, f64)> = x
        .par_chunks(f)
        .enumerate()
        .map(|(u, xu)| {
            let (cols, cm1) = cm1.row(u);
            kernels::dispatch(UserTerms {
                xu,
                cols,
                cm1,
                items: y,
            })
        })
        .collect();
    let (mut correction, mut confidence) = (0.0f64, 0.0f64);
    for (c, w) in per_user {
        correction += c;
        confidence += w;
    }
    let dense: f64 = gram_x.iter().zip(gram_y.iter()).map(|(a, b)| a * b).sum();
    let norms = gram_x.diag().sum() + gram_y.diag().sum();
    let (n_users, n_items) = (users.nrows() as f64, items.nrows() as f64);
    let total_confidence = confidence + n_users * n_items - cm1.nnz() as f64;
    (dense + correction + f64::from(reg) * norms) / total_confidence
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::als::gram::gram_f64;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn matches_dense_weighted_squared_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let (n_users, n_items, f, alpha, reg) = (7, 11, 4, 3.0f32, 0.2f32);
        let triplets: Vec<(u32, u32, f32)> = (0..25)
            .map(|_| {
                (
                    rng.random_range(0..n_users),
                    rng.random_range(0..n_items),
                    rng.random_range(0.5..3.0),
                )
            })
            .collect();
        let w = CsrMatrix::from_triplets(n_users as usize, n_items as usize, &triplets).unwrap();
        let cm1 = w.map_values(|v| alpha * v);
        let x = Array2::from_shape_fn((n_users as usize, f), |_| rng.random_range(-1.0..1.0f32));
        let y = Array2::from_shape_fn((n_items as usize, f), |_| rng.random_range(-1.0..1.0f32));

        let mut dense_w = vec![vec![0.0f64; n_items as usize]; n_users as usize];
        for (u, row) in dense_w.iter_mut().enumerate() {
            let (cols, vals) = w.row(u);
            for (&i, &v) in cols.iter().zip(vals) {
                row[i as usize] = f64::from(v);
            }
        }
        let (mut err, mut conf) = (0.0f64, 0.0f64);
        for (u, w_u) in dense_w.iter().enumerate() {
            for (i, &w_ui) in w_u.iter().enumerate() {
                let s: f64 = (0..f)
                    .map(|k| f64::from(x[[u, k]]) * f64::from(y[[i, k]]))
                    .sum();
                let p = if w_ui > 0.0 { 1.0 } else { 0.0 };
                let c = 1.0 + f64::from(alpha) * w_ui;
                err += c * (p - s) * (p - s);
                conf += c;
            }
        }
        let norms: f64 = x
            .iter()
            .chain(y.iter())
            .map(|v| f64::from(*v).powi(2))
            .sum();
        let want = (err + f64::from(reg) * norms) / conf;

        let got = training_loss(
            &cm1,
            x.view(),
            y.view(),
            &gram_f64(x.view()),
            &gram_f64(y.view()),
            reg,
        );
        assert!((got - want).abs() < 1e-6 * want.abs(), "{got} vs {want}");
    }
}
