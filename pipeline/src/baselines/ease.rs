//! EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", 2019) on the binary train
//! matrix X.
//!
//! G = XᵀX + λI is symmetric positive definite for λ > 0. With P = G⁻¹ the closed-form solution of
//! min ‖X − XB‖² + λ‖B‖² subject to diag(B) = 0 is B = I − P·diag(1/diag(P)), that is
//! B_ij = −P_ij / P_jj off the diagonal and 0 on it. A user's score for item j is Σ B_ij over the
//! user's train items i.
//!
//! P comes from a Cholesky factorisation G = LLᵀ (f64), the inverse W = L⁻¹ one column at a time
//! (columns in parallel) and P = WᵀW (rows in parallel); every inner loop is a dot product of two
//! contiguous rows. That is about n³/2 multiply-adds and two n × n f64 matrices, plus B in f32.

use rayon::prelude::*;

use super::{rank_dense, users_by_item};
use crate::error::{Error, Result};
use crate::evaluate::{EvalSplit, Rankings};

/// Bytes of memory the fit needs for `n_items` items (two f64 matrices and B in f32).
pub fn memory_bytes(n_items: usize) -> usize {
    n_items.saturating_mul(n_items).saturating_mul(20)
}

/// A fitted EASE model.
#[derive(Clone, Debug, PartialEq)]
pub struct Ease {
    /// Number of items.
    pub n_items: usize,
    /// B, row-major (`b[i * n_items + j]` = B_ij); the diagonal is 0.
    pub b: Vec<f32>,
}

/// Dot product with four accumulators, so that the compiler vectorises it.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let chunks = n / 4;
    for c in 0..chunks {
        for l in 0..4 {
            acc[l] += a[4 * c + l] * b[4 * c + l];
        }
    }
    let mut tail = 0.0;
    for t in 4 * chunks..n {
        tail += a[t] * b[t];
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Factorises the symmetric positive definite `a` (n × n, row-major; only the lower triangle is
/// read) in place into its Cholesky factor L (lower triangle; the upper triangle is zeroed).
///
/// # Errors
///
/// [`Error::NotPositiveDefinite`] naming the first pivot that is not positive.
pub fn cholesky(a: &mut [f64], n: usize) -> Result<()> {
    assert_eq!(a.len(), n * n, "an n × n matrix");
    for i in 0..n {
        let (done, rest) = a.split_at_mut(i * n);
        let row_i = &mut rest[..n];
        for j in 0..i {
            let row_j = &done[j * n..j * n + j + 1];
            let s = row_i[j] - dot(&row_i[..j], &row_j[..j]);
            row_i[j] = s / row_j[j];
        }
        let d = row_i[i] - dot(&row_i[..i], &row_i[..i]);
        if !(d > 0.0 && d.is_finite()) {
            return Err(Error::NotPositiveDefinite {
                what: "EASE's Gram matrix XᵀX + λI",
                pivot: i,
                size: n,
            });
        }
        row_i[i] = d.sqrt();
        row_i[i + 1..].iter_mut().for_each(|x| *x = 0.0);
    }
    Ok(())
}

/// The inverse of `g` (n × n, symmetric positive definite, row-major), consuming it.
///
/// # Errors
///
/// [`Error::NotPositiveDefinite`] if the factorisation fails.
pub fn spd_inverse(mut g: Vec<f64>, n: usize) -> Result<Vec<f64>> {
    cholesky(&mut g, n)?;
    let l = g;
    // wt[c * n + r] = W_rc with W = L⁻¹ (lower triangular: W_rc = 0 for r < c). Column c solves
    // L w = e_c by forward substitution from row c on.
    let mut wt = vec![0.0f64; n * n];
    wt.par_chunks_mut(n).enumerate().for_each(|(c, w)| {
        w[c] = 1.0 / l[c * n + c];
        for r in c + 1..n {
            let row = &l[r * n..=r * n + r];
            w[r] = -dot(&row[c..r], &w[c..r]) / row[r];
        }
    });
    // P_ij = Σ_r W_ri W_rj over r >= max(i, j): a dot product of rows i and j of wt from max(i, j).
    let mut p = l;
    p.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        let wi = &wt[i * n..(i + 1) * n];
        for (j, x) in row.iter_mut().enumerate() {
            let m = i.max(j);
            *x = dot(&wi[m..], &wt[j * n + m..(j + 1) * n]);
        }
    });
    Ok(p)
}

impl Ease {
    /// Fits on each user's sorted train items over a catalog of `n_items` with penalty `lambda`.
    ///
    /// # Errors
    ///
    /// [`Error::NotPositiveDefinite`] if XᵀX + λI is numerically not positive definite.
    ///
    /// # Panics
    ///
    /// If an item index is `>= n_items`.
    pub fn fit(train_items: &[Vec<u32>], n_items: usize, lambda: f64) -> Result<Self> {
        let n = n_items;
        let users_of = users_by_item(train_items, n);
        // Row i of XᵀX: the sum of the train rows of the users of item i (exact small integers).
        let mut g = vec![0.0f64; n * n];
        g.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
            for &u in &users_of[i] {
                for &j in &train_items[u as usize] {
                    row[j as usize] += 1.0;
                }
            }
            row[i] += lambda;
        });
        let p = spd_inverse(g, n)?;
        let mut b = vec![0.0f32; n * n];
        b.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
            for (j, x) in row.iter_mut().enumerate() {
                if i != j {
                    *x = (-p[i * n + j] / p[j * n + j]) as f32;
                }
            }
        });
        Ok(Self { n_items, b })
    }

    /// Adds a user's scores (Σ of the rows of B of `train`) into `scores`.
    pub fn fill(&self, train: &[u32], scores: &mut [f32]) {
        let n = self.n_items;
        for &i in train {
            let row = &self.b[i as usize * n..(i as usize + 1) * n];
            for (s, &x) in scores.iter_mut().zip(row) {
                *s += x;
            }
        }
    }

    /// The top `depth` items of every evaluated user with train items, train items excluded.
    pub fn rank(&self, split: &EvalSplit, depth: usize) -> Rankings {
        rank_dense(split, depth, |train, scores| self.fill(train, scores))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inverse by Gauss-Jordan elimination with partial pivoting: an oracle that shares no code
    /// with the Cholesky path.
    fn gauss_jordan_inverse(a: &[f64], n: usize) -> Vec<f64> {
        let mut m: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let mut row = a[i * n..(i + 1) * n].to_vec();
                row.extend((0..n).map(|j| if i == j { 1.0 } else { 0.0 }));
                row
            })
            .collect();
        for c in 0..n {
            let pivot = (c..n)
                .max_by(|&x, &y| m[x][c].abs().total_cmp(&m[y][c].abs()))
                .unwrap();
            m.swap(c, pivot);
            let d = m[c][c];
            m[c].iter_mut().for_each(|x| *x /= d);
            for r in 0..n {
                if r != c {
                    let f = m[r][c];
                    let pivot_row = m[c].clone();
                    m[r].iter_mut()
                        .zip(&pivot_row)
                        .for_each(|(x, p)| *x -= f * p);
                }
            }
        }
        m.into_iter().flat_map(|row| row[n..].to_vec()).collect()
    }

    /// 5 users over 4 items.
    fn train() -> Vec<Vec<u32>> {
        vec![
            vec![0, 1],
            vec![0, 1, 2],
            vec![1, 2],
            vec![2, 3],
            vec![0, 3],
        ]
    }

    #[test]
    fn b_matches_a_direct_inverse_on_a_four_item_example() {
        let (n, lambda) = (4, 2.0);
        // XᵀX by hand: item counts on the diagonal, co-occurrences off it.
        let xtx = [
            3.0, 2.0, 1.0, 1.0, //
            2.0, 3.0, 2.0, 0.0, //
            1.0, 2.0, 3.0, 1.0, //
            1.0, 0.0, 1.0, 2.0,
        ];
        let mut g = xtx.to_vec();
        for i in 0..n {
            g[i * n + i] += lambda;
        }
        let p = gauss_jordan_inverse(&g, n);
        let ease = Ease::fit(&train(), n, lambda).unwrap();
        for i in 0..n {
            assert_eq!(ease.b[i * n + i], 0.0, "diagonal");
            for j in 0..n {
                if i != j {
                    let expected = -p[i * n + j] / p[j * n + j];
                    assert!(
                        (f64::from(ease.b[i * n + j]) - expected).abs() < 1e-6,
                        "B[{i}][{j}] = {} vs {expected}",
                        ease.b[i * n + j]
                    );
                }
            }
        }
        // The defining identity through G: I − B = P·diag(1/diag P), so G(I − B) = diag(1/diag P):
        // its diagonal is 1 / P_jj and everything else vanishes.
        for i in 0..n {
            for j in 0..n {
                let v: f64 = (0..n)
                    .map(|t| {
                        let i_minus_b = f64::from(u8::from(t == j)) - f64::from(ease.b[t * n + j]);
                        g[i * n + t] * i_minus_b
                    })
                    .sum();
                if i == j {
                    assert!((v - 1.0 / p[j * n + j]).abs() < 1e-5, "{v}");
                } else {
                    assert!(v.abs() < 1e-5, "G(I - B)[{i}][{j}] = {v}");
                }
            }
        }
    }

    #[test]
    fn spd_inverse_matches_gauss_jordan_and_rejects_an_indefinite_matrix() {
        // A 6 × 6 SPD matrix: AᵀA + I for a fixed A.
        let n = 6;
        let a: Vec<f64> = (0..n * n)
            .map(|k| ((k * 7 + 3) % 11) as f64 - 5.0)
            .collect();
        let mut g = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                g[i * n + j] = (0..n).map(|t| a[t * n + i] * a[t * n + j]).sum::<f64>()
                    + f64::from(u8::from(i == j));
            }
        }
        let expected = gauss_jordan_inverse(&g, n);
        let p = spd_inverse(g.clone(), n).unwrap();
        for (x, y) in p.iter().zip(&expected) {
            assert!((x - y).abs() < 1e-9 * (1.0 + y.abs()), "{x} vs {y}");
        }
        let indefinite = vec![1.0, 2.0, 2.0, 1.0];
        assert!(matches!(
            spd_inverse(indefinite, 2),
            Err(Error::NotPositiveDefinite {
                pivot: 1,
                size: 2,
                ..
            })
        ));
    }

    #[test]
    fn scores_sum_rows_of_b_and_rank_excludes_train_items() {
        let ease = Ease::fit(&train(), 4, 1.0).unwrap();
        let mut scores = vec![0.0f32; 4];
        ease.fill(&[0, 2], &mut scores);
        for (j, s) in scores.iter().enumerate() {
            assert!((s - (ease.b[j] + ease.b[2 * 4 + j])).abs() < 1e-6);
        }
        let split = EvalSplit {
            train_items: train(),
            test_items: vec![vec![2], vec![3], vec![0], vec![1], vec![1]],
            n_items: 4,
        };
        let r = ease.rank(&split, 4);
        for (u, ranking) in r.iter().enumerate() {
            let ranking = ranking.as_ref().unwrap();
            assert_eq!(ranking.len(), 4 - split.train_items[u].len());
            assert!(ranking.iter().all(|i| !split.train_items[u].contains(i)));
        }
    }
}
