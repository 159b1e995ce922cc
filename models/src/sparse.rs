//! Compressed sparse row (CSR) matrices: the user × item interaction matrix and its transpose.

use crate::error::{Error, Result};

/// Largest row or column count: indices are stored as `u32`.
const MAX_DIM: usize = (u32::MAX as usize).saturating_add(1);

/// A sparse `n_rows x n_cols` matrix in compressed sparse row form.
///
/// Row `r` holds the column indices `indices[indptr[r]..indptr[r + 1]]`, strictly increasing,
/// and their values at the same positions of `data`. Every stored value is finite.
#[derive(Clone, Debug, PartialEq)]
pub struct CsrMatrix {
    n_rows: usize,
    n_cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    data: Vec<f32>,
}

impl CsrMatrix {
    /// Builds a matrix from `(row, col, value)` triplets in any order.
    ///
    /// Duplicate coordinates are summed, in input order, so the result is deterministic. Explicit
    /// zeros are kept as stored entries.
    ///
    /// # Errors
    ///
    /// [`Error::DimensionTooLarge`] if a dimension exceeds `u32::MAX + 1`,
    /// [`Error::IndexOutOfBounds`] if a row or column is not below its dimension,
    /// [`Error::NonFiniteValue`] if a value (or a sum of duplicates) is NaN or infinite.
    pub fn from_triplets(
        n_rows: usize,
        n_cols: usize,
        triplets: &[(u32, u32, f32)],
    ) -> Result<Self> {
        check_dim("n_rows", n_rows)?;
        check_dim("n_cols", n_cols)?;
        let mut counts = vec![0usize; n_rows + 1];
        for &(r, c, v) in triplets {
            let (r, c) = (r as usize, c as usize);
            if r >= n_rows {
                return Err(Error::IndexOutOfBounds {
                    what: "row",
                    index: r,
                    bound: n_rows,
                });
            }
            if c >= n_cols {
                return Err(Error::IndexOutOfBounds {
                    what: "column",
                    index: c,
                    bound: n_cols,
                });
            }
            if !v.is_finite() {
                return Err(Error::NonFiniteValue {
                    what: "triplets",
                    row: r,
                    col: c,
                    value: v,
                });
            }
            counts[r + 1] += 1;
        }
        // Counting sort by row: `counts` becomes the row starts, `next` the insertion cursors.
        for r in 0..n_rows {
            counts[r + 1] += counts[r];
        }
        let mut next = counts.clone();
        let mut entries = vec![(0u32, 0.0f32); triplets.len()];
        for &(r, c, v) in triplets {
            let slot = &mut next[r as usize];
            entries[*slot] = (c, v);
            *slot += 1;
        }

        let mut indptr = Vec::with_capacity(n_rows + 1);
        let mut indices = Vec::with_capacity(triplets.len());
        let mut data: Vec<f32> = Vec::with_capacity(triplets.len());
        indptr.push(0);
        for r in 0..n_rows {
            let row = &mut entries[counts[r]..counts[r + 1]];
            // Stable, so duplicates are summed in input order.
            row.sort_by_key(|&(c, _)| c);
            for &(c, v) in row.iter() {
                if indices.len() > indptr[r] && indices.last() == Some(&c) {
                    let sum = data
                        .last_mut()
                        .expect("data and indices have equal lengths");
                    *sum += v;
                    if !sum.is_finite() {
                        return Err(Error::NonFiniteValue {
                            what: "sum of duplicate triplets",
                            row: r,
                            col: c as usize,
                            value: *sum,
                        });
                    }
                } else {
                    indices.push(c);
                    data.push(v);
                }
            }
            indptr.push(indices.len());
        }
        Ok(Self {
            n_rows,
            n_cols,
            indptr,
            indices,
            data,
        })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.data.len()
    }

    /// The column indices (increasing) and values of row `r`.
    ///
    /// # Panics
    ///
    /// Panics if `r >= n_rows`.
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let range = self.indptr[r]..self.indptr[r + 1];
        (&self.indices[range.clone()], &self.data[range])
    }

    /// Row offsets: row `r` occupies `indptr()[r]..indptr()[r + 1]` of
    /// [`indices`](Self::indices) and [`values`](Self::values).
    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    /// Column indices of all stored entries, row by row.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// Values of all stored entries, row by row.
    pub fn values(&self) -> &[f32] {
        &self.data
    }

    /// The same sparsity pattern with every value mapped through `f`.
    pub(crate) fn map_values(&self, f: impl Fn(f32) -> f32) -> Self {
        Self {
            data: self.data.iter().map(|&v| f(v)).collect(),
            ..self.clone()
        }
    }

    /// The transpose (`n_cols x n_rows`), in O(nnz + n_cols).
    pub fn transpose(&self) -> CsrMatrix {
        let mut indptr = vec![0usize; self.n_cols + 1];
        for &c in &self.indices {
            indptr[c as usize + 1] += 1;
        }
        for c in 0..self.n_cols {
            indptr[c + 1] += indptr[c];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; self.nnz()];
        let mut data = vec![0.0f32; self.nnz()];
        // Rows are visited in increasing order, so every output row comes out sorted.
        for r in 0..self.n_rows {
            let (cols, vals) = self.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let slot = &mut next[c as usize];
                // `r < n_rows <= u32::MAX + 1`, checked at construction.
                indices[*slot] = u32::try_from(r).expect("row index fits in u32");
                data[*slot] = v;
                *slot += 1;
            }
        }
        CsrMatrix {
            n_rows: self.n_cols,
            n_cols: self.n_rows,
            indptr,
            indices,
            data,
        }
    }
}

fn check_dim(what: &'static str, got: usize) -> Result<()> {
    if got > MAX_DIM {
        return Err(Error::DimensionTooLarge {
            what,
            got,
            max: MAX_DIM,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn dense(m: &CsrMatrix) -> Vec<Vec<f32>> {
        let mut d = vec![vec![0.0; m.n_cols()]; m.n_rows()];
        for (r, row) in d.iter_mut().enumerate() {
            let (cols, vals) = m.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                row[c as usize] = v;
            }
        }
        d
    }

    #[test]
    fn builds_rows_sorted_and_sums_duplicates() {
        let m = CsrMatrix::from_triplets(
            3,
            4,
            &[
                (2, 3, 1.0),
                (0, 2, 2.0),
                (0, 0, 1.0),
                (2, 3, 0.5),
                (0, 2, 3.0),
            ],
        )
        .unwrap();
        assert_eq!((m.n_rows(), m.n_cols(), m.nnz()), (3, 4, 3));
        assert_eq!(m.row(0), (&[0u32, 2][..], &[1.0f32, 5.0][..]));
        assert_eq!(m.row(1), (&[][..], &[][..]));
        assert_eq!(m.row(2), (&[3u32][..], &[1.5f32][..]));
        assert_eq!(m.indptr(), &[0, 2, 2, 3]);
    }

    #[test]
    fn matches_dense_accumulation_on_random_triplets() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let triplets: Vec<(u32, u32, f32)> = (0..500)
            .map(|_| {
                (
                    rng.random_range(0..20),
                    rng.random_range(0..15),
                    rng.random_range(1..4) as f32,
                )
            })
            .collect();
        let m = CsrMatrix::from_triplets(20, 15, &triplets).unwrap();
        let mut want = vec![vec![0.0f32; 15]; 20];
        for &(r, c, v) in &triplets {
            want[r as usize][c as usize] += v;
        }
        assert_eq!(dense(&m), want);
        for r in 0..20 {
            assert!(m.row(r).0.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn transpose_matches_dense_transpose_and_is_involutive() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let triplets: Vec<(u32, u32, f32)> = (0..200)
            .map(|_| {
                (
                    rng.random_range(0..9),
                    rng.random_range(0..13),
                    rng.random(),
                )
            })
            .collect();
        let m = CsrMatrix::from_triplets(9, 13, &triplets).unwrap();
        let t = m.transpose();
        assert_eq!((t.n_rows(), t.n_cols(), t.nnz()), (13, 9, m.nnz()));
        let d = dense(&m);
        let dt = dense(&t);
        for r in 0..9 {
            for c in 0..13 {
                assert_eq!(d[r][c], dt[c][r]);
            }
        }
        assert_eq!(t.transpose(), m);
    }

    #[test]
    fn empty_matrices_are_fine() {
        let m = CsrMatrix::from_triplets(0, 0, &[]).unwrap();
        assert_eq!((m.n_rows(), m.n_cols(), m.nnz()), (0, 0, 0));
        let t = CsrMatrix::from_triplets(2, 3, &[]).unwrap().transpose();
        assert_eq!(
            (t.n_rows(), t.n_cols(), t.indptr()),
            (3, 2, &[0, 0, 0, 0][..])
        );
    }

    #[test]
    fn rejects_row_out_of_bounds() {
        let err = CsrMatrix::from_triplets(2, 2, &[(2, 0, 1.0)]).unwrap_err();
        assert!(matches!(
            err,
            Error::IndexOutOfBounds {
                what: "row",
                index: 2,
                bound: 2
            }
        ));
    }

    #[test]
    fn rejects_column_out_of_bounds() {
        let err = CsrMatrix::from_triplets(2, 2, &[(0, 5, 1.0)]).unwrap_err();
        assert!(matches!(
            err,
            Error::IndexOutOfBounds {
                what: "column",
                index: 5,
                bound: 2
            }
        ));
    }

    #[test]
    fn rejects_non_finite_values() {
        let err = CsrMatrix::from_triplets(2, 2, &[(1, 1, f32::NAN)]).unwrap_err();
        assert!(matches!(err, Error::NonFiniteValue { row: 1, col: 1, .. }));
        let err =
            CsrMatrix::from_triplets(1, 1, &[(0, 0, f32::MAX), (0, 0, f32::MAX)]).unwrap_err();
        assert!(matches!(
            err,
            Error::NonFiniteValue {
                what: "sum of duplicate triplets",
                ..
            }
        ));
    }

    #[test]
    fn rejects_dimensions_beyond_u32_indices() {
        let err = CsrMatrix::from_triplets(MAX_DIM + 1, 1, &[]).unwrap_err();
        assert!(matches!(
            err,
            Error::DimensionTooLarge { what: "n_rows", .. }
        ));
    }

    #[test]
    fn map_values_keeps_pattern() {
        let m = CsrMatrix::from_triplets(2, 2, &[(0, 1, 2.0), (1, 0, 3.0)]).unwrap();
        let scaled = m.map_values(|v| v * 10.0);
        assert_eq!(scaled.indices(), m.indices());
        assert_eq!(scaled.values(), &[20.0, 30.0]);
    }
}
