//! Exact top-K selection with an exclusion set.
//!
//! This is the brute-force oracle every index is checked against and the ranking the evaluator
//! uses, so its order is fully specified: descending score, ties broken by the lower item index,
//! NaN scores last. A bounded heap keeps the best `k` candidates, so scoring `n` items costs
//! O(n log k) and O(k) memory.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use ndarray::{ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::kernels;

/// An item with its score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// Item index (row of the item-factor matrix).
    pub item: u32,
    /// Score; higher is better.
    pub score: f32,
}

/// Ranking order: `Less` when `a` ranks before `b` (higher score, then lower item; NaN last).
pub(crate) fn rank_cmp(a: &Scored, b: &Scored) -> Ordering {
    match (a.score.is_nan(), b.score.is_nan()) {
        (false, false) => b
            .score
            .partial_cmp(&a.score)
            .expect("non-NaN scores are comparable"),
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (true, true) => Ordering::Equal,
    }
    .then(a.item.cmp(&b.item))
}

/// Heap entry ordered by [`rank_cmp`], so the max-heap's top is the worst kept candidate.
struct Worst(Scored);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        rank_cmp(&self.0, &other.0)
    }
}

/// Keeps the best `k` of a stream of candidates.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k.saturating_add(1).min(1 << 16)),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, candidate: Scored) {
        if self.heap.len() < self.k {
            self.heap.push(Worst(candidate));
        } else if let Some(mut worst) = self.heap.peek_mut()
            && rank_cmp(&candidate, &worst.0) == Ordering::Less
        {
            *worst = Worst(candidate);
        }
    }

    /// The kept candidates, best first.
    pub(crate) fn into_sorted_vec(self) -> Vec<Scored> {
        // `into_sorted_vec` is ascending in `Worst`'s order, which is best first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|w| w.0)
            .collect()
    }
}

/// `exclude` sorted ascending: borrowed when it already is, otherwise a sorted copy.
pub(crate) fn sorted_exclusions(exclude: &[u32]) -> Cow<'_, [u32]> {
    if exclude.is_sorted() {
        Cow::Borrowed(exclude)
    } else {
        let mut owned = exclude.to_vec();
        owned.sort_unstable();
        Cow::Owned(owned)
    }
}

/// The `k` best items `0..n_items` by `score(item)`, skipping `exclude`.
///
/// `exclude` should be sorted ascending (an unsorted slice is sorted into a copy first);
/// duplicates and indices `>= n_items` are ignored. The result is ordered by descending score,
/// ties by lower item index, NaN scores last, and has `min(k, number of non-excluded items)`
/// entries.
///
/// # Panics
///
/// Panics if `n_items > u32::MAX + 1`.
pub fn top_k_by(
    n_items: usize,
    k: usize,
    exclude: &[u32],
    mut score: impl FnMut(u32) -> f32,
) -> Vec<Scored> {
    assert!(
        n_items <= (u32::MAX as usize).saturating_add(1),
        "top_k_by: {n_items} items exceed the u32 index range"
    );
    if k == 0 {
        return Vec::new();
    }
    let exclude = sorted_exclusions(exclude);
    let mut excluded = exclude.iter().copied().peekable();
    let mut top = TopK::new(k);
    for item in (0..n_items).map(|i| i as u32) {
        // Merge walk over the sorted exclusions: O(n_items + exclude.len()) in total.
        while excluded.next_if(|&e| e < item).is_some() {}
        if excluded.peek() == Some(&item) {
            continue;
        }
        top.push(Scored {
            item,
            score: score(item),
        });
    }
    top.into_sorted_vec()
}

/// The `k` items with the largest dot product `query · items[i]`, skipping `exclude`.
///
/// Same ordering and exclusion rules as [`top_k_by`].
///
/// # Panics
///
/// Panics if `query.len() != items.ncols()`.
pub fn top_k_dot(
    query: ArrayView1<'_, f32>,
    items: ArrayView2<'_, f32>,
    k: usize,
    exclude: &[u32],
) -> Vec<Scored> {
    assert_eq!(
        query.len(),
        items.ncols(),
        "top_k_dot: query dimension does not match the item vectors"
    );
    let query = query.as_standard_layout();
    let q = query.as_slice().expect("standard layout is contiguous");
    let items = items.as_standard_layout();
    let flat = items.as_slice().expect("standard layout is contiguous");
    let mut scores = vec![0.0f32; items.nrows()];
    kernels::dot_rows(q, flat, &mut scores);
    top_k_by(items.nrows(), k, exclude, |i| scores[i as usize])
}

/// Items per tile of [`top_k_dot_many`]: a tile of scores for a block of queries stays in cache
/// (64 queries × 4,096 items × 4 bytes = 1 MiB).
const ITEM_TILE: usize = 4096;
/// Candidates [`top_k_dot_many`] keeps beyond `k` by the matrix product's scores before it rescores
/// them exactly.
const RESCORE_MARGIN: usize = 32;

/// [`top_k_dot`] for every row of `queries` at once, with `excludes[q]` for query `q`: one
/// matrix product per tile of items instead of one pass over the whole matrix per query, so the
/// item vectors are read from memory once per block of queries rather than once per query (the
/// evaluation's cost at scale: a million 256-d items are a gigabyte).
///
/// The product sums in another order than [`top_k_dot`]'s kernel, so its scores may differ in the
/// last bits: the best `k + 32` by those scores are rescored with [`top_k_dot`]'s kernel and
/// ranked by the same rules, and the result equals [`top_k_dot`]'s unless more than 32 items
/// score within rounding error of the `k`-th (scores are always the kernel's).
///
/// # Panics
///
/// Panics if `queries.ncols() != items.ncols()` or `excludes.len() != queries.nrows()`.
pub fn top_k_dot_many(
    queries: ArrayView2<'_, f32>,
    items: ArrayView2<'_, f32>,
    k: usize,
    excludes: &[&[u32]],
) -> Vec<Vec<Scored>> {
    assert_eq!(
        queries.ncols(),
        items.ncols(),
        "top_k_dot_many: query dimension does not match the item vectors"
    );
    assert_eq!(
        excludes.len(),
        queries.nrows(),
        "top_k_dot_many: one exclusion list per query"
    );
    let n_items = items.nrows();
    assert!(
        n_items <= (u32::MAX as usize).saturating_add(1),
        "top_k_dot_many: {n_items} items exceed the u32 index range"
    );
    if k == 0 {
        return vec![Vec::new(); queries.nrows()];
    }
    let excludes: Vec<Cow<'_, [u32]>> = excludes.iter().map(|e| sorted_exclusions(e)).collect();
    let mut next_excluded = vec![0usize; queries.nrows()];
    let mut tops: Vec<TopK> = (0..queries.nrows())
        .map(|_| TopK::new(k.saturating_add(RESCORE_MARGIN)))
        .collect();
    let mut scores = ndarray::Array2::<f32>::zeros((queries.nrows(), ITEM_TILE.min(n_items)));
    for start in (0..n_items).step_by(ITEM_TILE) {
        let end = (start + ITEM_TILE).min(n_items);
        let tile = items.slice(ndarray::s![start..end, ..]);
        let mut out = scores.slice_mut(ndarray::s![.., ..end - start]);
        ndarray::linalg::general_mat_mul(1.0, &queries, &tile.t(), 0.0, &mut out);
        for (q, row) in out.outer_iter().enumerate() {
            let (exclude, next) = (&excludes[q], &mut next_excluded[q]);
            let top = &mut tops[q];
            for (offset, &score) in row.iter().enumerate() {
                let item = (start + offset) as u32;
                // Merge walk over the sorted exclusions, carried from tile to tile.
                while exclude.get(*next).is_some_and(|&e| e < item) {
                    *next += 1;
                }
                if exclude.get(*next) == Some(&item) {
                    continue;
                }
                top.push(Scored { item, score });
            }
        }
    }
    let items = items.as_standard_layout();
    let flat = items.as_slice().expect("standard layout is contiguous");
    let d = queries.ncols();
    tops.into_iter()
        .zip(queries.outer_iter())
        .map(|(top, query)| {
            let query = query.as_standard_layout();
            let q = query.as_slice().expect("standard layout is contiguous");
            let mut exact: Vec<Scored> = top
                .into_sorted_vec()
                .into_iter()
                .map(|s| {
                    let i = s.item as usize;
                    Scored {
                        item: s.item,
                        score: kernels::dot(q, &flat[i * d..(i + 1) * d]),
                    }
                })
                .collect();
            exact.sort_by(rank_cmp);
            exact.truncate(k);
            exact
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The oracle: score everything, sort fully, filter, truncate.
    fn full_sort(scores: &[f32], k: usize, exclude: &[u32]) -> Vec<Scored> {
        let mut all: Vec<Scored> = scores
            .iter()
            .enumerate()
            .map(|(i, &score)| Scored {
                item: i as u32,
                score,
            })
            .filter(|s| !exclude.contains(&s.item))
            .collect();
        all.sort_by(rank_cmp);
        all.truncate(k);
        all
    }

    #[test]
    fn heap_selection_matches_full_sort_with_ties_and_exclusions() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for trial in 0..200 {
            let n = rng.random_range(0..60);
            // Few distinct values, so ties are common.
            let scores: Vec<f32> = (0..n).map(|_| rng.random_range(0..6) as f32).collect();
            let mut exclude: Vec<u32> = (0..rng.random_range(0..10))
                .map(|_| rng.random_range(0..70))
                .collect();
            exclude.sort_unstable();
            let k = rng.random_range(0..15);
            let got = top_k_by(n, k, &exclude, |i| scores[i as usize]);
            assert_eq!(got, full_sort(&scores, k, &exclude), "trial {trial}");
        }
    }

    #[test]
    fn top_k_dot_matches_full_sort_of_dot_products() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let items = Array2::from_shape_fn((300, 19), |_| rng.random_range(-1.0..1.0f32));
        let query = Array1::from_shape_fn(19, |_| rng.random_range(-1.0..1.0f32));
        let scores: Vec<f32> = items
            .rows()
            .into_iter()
            .map(|row| kernels::dot(query.as_slice().unwrap(), row.as_slice().unwrap()))
            .collect();
        let exclude = [0, 5, 17, 250, 299];
        let got = top_k_dot(query.view(), items.view(), 10, &exclude);
        assert_eq!(got, full_sort(&scores, 10, &exclude));
        // The scores are true dot products.
        for s in &got {
            let want: f64 = items
                .row(s.item as usize)
                .iter()
                .zip(&query)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            assert!((f64::from(s.score) - want).abs() < 1e-5);
        }
    }

    #[test]
    fn many_queries_at_once_equal_one_query_at_a_time() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        // More items than a tile, so the exclusion walk and the heaps carry across tiles.
        let n = ITEM_TILE * 2 + 37;
        let items = Array2::from_shape_fn((n, 24), |_| rng.random_range(-1.0f32..1.0));
        let queries = Array2::from_shape_fn((7, 24), |_| rng.random_range(-1.0f32..1.0));
        let excludes: Vec<Vec<u32>> = (0..7u32)
            .map(|q| match q {
                0 => Vec::new(),
                // Unsorted, with duplicates, out of range, and across tile boundaries.
                1 => vec![9000, 5, 4095, 4096, 5, 99_999],
                _ => (0..n as u32).filter(|i| i % (q + 1) == 0).collect(),
            })
            .collect();
        let lists: Vec<&[u32]> = excludes.iter().map(Vec::as_slice).collect();
        for k in [0, 1, 10, 50] {
            let many = top_k_dot_many(queries.view(), items.view(), k, &lists);
            for (q, got) in many.iter().enumerate() {
                let one = top_k_dot(queries.row(q), items.view(), k, &excludes[q]);
                assert_eq!(got, &one, "query {q}, k {k}");
            }
        }
        // Ties (integer scores are exact in any summation order) break by the lower index.
        let tied = Array2::from_shape_fn((ITEM_TILE + 10, 2), |(i, j)| ((i % 3) + j) as f32);
        let query = ndarray::array![[1.0f32, 1.0]];
        let many = top_k_dot_many(query.view(), tied.view(), 5, &[&[2]]);
        assert_eq!(
            many[0],
            top_k_dot(query.row(0), tied.view(), 5, &[2]),
            "ties"
        );
        assert_eq!(
            many[0].iter().map(|s| s.item).collect::<Vec<_>>(),
            [5, 8, 11, 14, 17]
        );
        // No queries, no items.
        assert!(
            top_k_dot_many(queries.slice(ndarray::s![..0, ..]), items.view(), 5, &[]).is_empty()
        );
        let none = top_k_dot_many(queries.view(), items.slice(ndarray::s![..0, ..]), 5, &lists);
        assert!(none.iter().all(Vec::is_empty));
    }

    #[test]
    fn non_contiguous_views_give_the_same_result() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let items = Array2::from_shape_fn((8, 50), |_| rng.random_range(-1.0..1.0f32));
        let query = Array1::from_shape_fn(8, |_| rng.random_range(-1.0..1.0f32));
        // Items as the columns of `items`: a transposed, non-standard-layout view.
        let owned = items.t().to_owned();
        assert_eq!(
            top_k_dot(query.view(), items.t(), 7, &[]),
            top_k_dot(query.view(), owned.view(), 7, &[])
        );
    }

    #[test]
    fn ties_break_by_lower_index_and_k_larger_than_n() {
        let got = top_k_by(4, 10, &[], |_| 1.0);
        let items: Vec<u32> = got.iter().map(|s| s.item).collect();
        assert_eq!(items, vec![0, 1, 2, 3]);
    }

    #[test]
    fn nan_scores_rank_last() {
        let scores = [f32::NAN, 1.0, f32::NEG_INFINITY, 2.0];
        let got = top_k_by(4, 4, &[], |i| scores[i as usize]);
        let items: Vec<u32> = got.iter().map(|s| s.item).collect();
        assert_eq!(items, vec![3, 1, 2, 0]);
    }

    #[test]
    fn unsorted_and_out_of_range_exclusions_are_handled() {
        let scores = [5.0, 4.0, 3.0, 2.0, 1.0];
        let got = top_k_by(5, 2, &[99, 1, 0, 1], |i| scores[i as usize]);
        let items: Vec<u32> = got.iter().map(|s| s.item).collect();
        assert_eq!(items, vec![2, 3]);
    }

    #[test]
    fn zero_k_or_everything_excluded_gives_nothing() {
        assert!(top_k_by(3, 0, &[], |_| 1.0).is_empty());
        assert!(top_k_by(3, 5, &[0, 1, 2], |_| 1.0).is_empty());
    }

    #[test]
    #[should_panic(expected = "query dimension")]
    fn dimension_mismatch_panics() {
        let items = Array2::<f32>::zeros((3, 4));
        let query = Array1::<f32>::zeros(5);
        let _ = top_k_dot(query.view(), items.view(), 1, &[]);
    }
}
