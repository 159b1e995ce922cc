//! Gram matrices `YᵀY` of factor matrices, computed deterministically.
//!
//! Rows are cut into fixed-size blocks (independent of the number of threads); each block's
//! `BᵀB` is computed in `f64` in parallel and the partial products are summed in block order, so
//! the result is bit-identical however many threads run it.

use ndarray::{Array2, ArrayView2, s};
use rayon::prelude::*;

/// Rows per block. Large enough for an efficient matrix product, small enough that a block's
/// `f64` copy (at 64 factors, 2 MiB) stays cheap.
const BLOCK_ROWS: usize = 4096;

/// `YᵀY` in `f64`, for a `n x f` factor matrix `Y`.
pub(crate) fn gram_f64(factors: ArrayView2<'_, f32>) -> Array2<f64> {
    let (n, f) = factors.dim();
    let partials: Vec<Array2<f64>> = (0..n.div_ceil(BLOCK_ROWS))
        .into_par_iter()
        .map(|b| {
            let block = factors
                .slice(s![b * BLOCK_ROWS..((b + 1) * BLOCK_ROWS).min(n), ..])
                .mapv(f64::from);
            block.t().dot(&block)
        })
        .collect();
    let mut total = Array2::<f64>::zeros((f, f));
    for partial in &partials {
        total += partial;
    }
    // The kernels use `G` as both `G` and `Gᵀ`, so make it exactly symmetric (the matrix product
    // need not round both triangles identically).
    for a in 0..f {
        for b in 0..a {
            total[[a, b]] = total[[b, a]];
        }
    }
    total
}

/// The Gram matrix `YᵀY` (`f x f`) of a `n x f` factor matrix, accumulated in `f64` and rounded
/// to `f32`.
///
/// This is the `gram` argument of [`fold_in`](super::fold_in): compute it once per item-factor
/// matrix and reuse it for every user folded in.
pub fn gram(factors: ArrayView2<'_, f32>) -> Array2<f32> {
    gram_f64(factors).mapv(|v| v as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn matches_naive_product_across_block_boundaries() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = BLOCK_ROWS * 2 + 17;
        let y = Array2::from_shape_fn((n, 5), |_| rng.random_range(-1.0..1.0f32));
        let g = gram_f64(y.view());
        for a in 0..5 {
            for b in 0..5 {
                let want: f64 = (0..n)
                    .map(|i| f64::from(y[[i, a]]) * f64::from(y[[i, b]]))
                    .sum();
                assert!((g[[a, b]] - want).abs() < 1e-9 * n as f64, "{a},{b}");
                assert_eq!(g[[a, b]], g[[b, a]]);
            }
        }
    }

    #[test]
    fn independent_of_thread_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let y = Array2::from_shape_fn((3 * BLOCK_ROWS + 5, 8), |_| rng.random::<f32>());
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| gram_f64(y.view()));
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap()
            .install(|| gram_f64(y.view()));
        assert_eq!(one, three);
    }

    #[test]
    fn empty_matrix_has_zero_gram() {
        let y = Array2::<f32>::zeros((0, 3));
        assert_eq!(gram(y.view()), Array2::<f32>::zeros((3, 3)));
    }
}
