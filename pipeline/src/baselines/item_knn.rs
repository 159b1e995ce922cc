//! Item-kNN: cosine item-item similarity on the binary train matrix, top-k neighbours per item.
//!
//! sim(i, j) = |U_i ∩ U_j| / sqrt(|U_i| · |U_j|), U_i the users with item i in train. Each item keeps
//! its `k` most similar other items (similarity descending, ties to the lower index, zero
//! similarities never kept). A user's score for item j is Σ sim(i, j) over the user's train items i
//! that have j among their neighbours.
//!
//! The co-occurrence counts of item i are accumulated over the train items of the users of i, so
//! fitting costs Σ_u |I_u|² operations and one dense count buffer per thread; items are fitted in
//! parallel and independently, so the result does not depend on the thread count.

use rayon::prelude::*;

use super::{rank_dense, users_by_item};
use crate::evaluate::{EvalSplit, Rankings};

/// A fitted item-kNN model.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemKnn {
    /// Each item's neighbours as (item, similarity), most similar first.
    pub neighbours: Vec<Vec<(u32, f32)>>,
}

impl ItemKnn {
    /// Fits on each user's sorted train items over a catalog of `n_items`, keeping `k` neighbours.
    ///
    /// # Panics
    ///
    /// If an item index is `>= n_items`.
    pub fn fit(train_items: &[Vec<u32>], n_items: usize, k: usize) -> Self {
        let users_of = users_by_item(train_items, n_items);
        let neighbours = (0..n_items)
            .into_par_iter()
            .map_init(
                || (vec![0u32; n_items], Vec::new()),
                |(counts, touched), i| {
                    for &u in &users_of[i] {
                        for &j in &train_items[u as usize] {
                            let j = j as usize;
                            if j != i {
                                if counts[j] == 0 {
                                    touched.push(j);
                                }
                                counts[j] += 1;
                            }
                        }
                    }
                    let norm_i = users_of[i].len() as f64;
                    let mut sims: Vec<(u32, f32)> = touched
                        .iter()
                        .map(|&j| {
                            let sim =
                                f64::from(counts[j]) / (norm_i * users_of[j].len() as f64).sqrt();
                            (j as u32, sim as f32)
                        })
                        .collect();
                    for &j in touched.iter() {
                        counts[j] = 0;
                    }
                    touched.clear();
                    sims.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                    sims.truncate(k);
                    sims
                },
            )
            .collect();
        Self { neighbours }
    }

    /// The same model with at most `k` neighbours per item (the lists are sorted, so this equals a
    /// fit with `k`).
    pub fn truncated(&self, k: usize) -> Self {
        Self {
            neighbours: self
                .neighbours
                .iter()
                .map(|n| n[..n.len().min(k)].to_vec())
                .collect(),
        }
    }

    /// Adds a user's scores (Σ of neighbour similarities over `train`) into `scores`.
    pub fn fill(&self, train: &[u32], scores: &mut [f32]) {
        for &i in train {
            for &(j, sim) in &self.neighbours[i as usize] {
                scores[j as usize] += sim;
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
    use models::topk::top_k_by;

    /// The brute-force oracle: the dense binary matrix, every pairwise cosine, the top k per item by
    /// sorting the whole row, and every user's scores by a dense sum.
    fn oracle(train: &[Vec<u32>], n_items: usize, k: usize) -> Vec<Vec<f64>> {
        let x: Vec<Vec<f64>> = train
            .iter()
            .map(|items| {
                (0..n_items as u32)
                    .map(|i| f64::from(u8::from(items.contains(&i))))
                    .collect()
            })
            .collect();
        let col = |i: usize| x.iter().map(move |row| row[i]);
        let mut sim = vec![vec![0.0; n_items]; n_items];
        for (i, row) in sim.iter_mut().enumerate() {
            for (j, s) in row.iter_mut().enumerate() {
                let dot: f64 = col(i).zip(col(j)).map(|(a, b)| a * b).sum();
                let ni: f64 = col(i).sum();
                let nj: f64 = col(j).sum();
                if i != j && dot > 0.0 {
                    *s = dot / (ni * nj).sqrt();
                }
            }
            // Keep the k largest (ties to the lower index): zero the rest.
            let mut order: Vec<usize> = (0..n_items).filter(|&j| row[j] > 0.0).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            for &j in order.iter().skip(k) {
                row[j] = 0.0;
            }
        }
        x.iter()
            .map(|xu| {
                (0..n_items)
                    .map(|j| (0..n_items).map(|i| xu[i] * sim[i][j]).sum())
                    .collect()
            })
            .collect()
    }

    fn train() -> Vec<Vec<u32>> {
        // 5 users over 6 items; item 5 is never seen in train.
        vec![
            vec![0, 1, 2],
            vec![0, 1],
            vec![1, 2, 3],
            vec![3, 4],
            vec![0, 4],
        ]
    }

    #[test]
    fn similarities_by_hand() {
        let knn = ItemKnn::fit(&train(), 6, 10);
        // U_0 = {0, 1, 4}, U_1 = {0, 1, 2}: 2 common users, cosine 2 / 3.
        let n0 = &knn.neighbours[0];
        assert_eq!(n0[0].0, 1);
        assert!((n0[0].1 - 2.0 / 3.0).abs() < 1e-6);
        // Item 0's other neighbours: 2 (U_2 = {0, 2}: 1 / sqrt 6), 4 (U_4 = {3, 4}: 1 / sqrt 6).
        let rest: Vec<u32> = n0[1..].iter().map(|p| p.0).collect();
        assert_eq!(
            rest,
            [2, 4],
            "equal similarities go to the lower index first"
        );
        assert!(knn.neighbours[5].is_empty());
        assert!(knn.neighbours.iter().flatten().all(|&(_, s)| s > 0.0));
    }

    #[test]
    fn truncating_equals_fitting_with_fewer_neighbours() {
        let full = ItemKnn::fit(&train(), 6, 10);
        for k in 1..4 {
            assert_eq!(full.truncated(k), ItemKnn::fit(&train(), 6, k));
        }
    }

    #[test]
    fn scores_and_rankings_match_the_brute_force_oracle() {
        let train = train();
        for k in [1, 2, 3, 10] {
            let knn = ItemKnn::fit(&train, 6, k);
            let expected = oracle(&train, 6, k);
            for (u, items) in train.iter().enumerate() {
                let mut scores = vec![0.0f32; 6];
                knn.fill(items, &mut scores);
                for j in 0..6 {
                    assert!(
                        (f64::from(scores[j]) - expected[u][j]).abs() < 1e-6,
                        "k {k} user {u} item {j}: {} vs {}",
                        scores[j],
                        expected[u][j]
                    );
                }
                let ours: Vec<u32> = top_k_by(6, 6, items, |i| scores[i as usize])
                    .iter()
                    .map(|s| s.item)
                    .collect();
                let theirs: Vec<u32> = top_k_by(6, 6, items, |i| expected[u][i as usize] as f32)
                    .iter()
                    .map(|s| s.item)
                    .collect();
                assert_eq!(ours, theirs, "k {k} user {u}");
                assert!(ours.iter().all(|i| !items.contains(i)));
            }
        }
    }

    #[test]
    fn rank_excludes_train_items_and_skips_users_it_cannot_score() {
        let mut train_items = train();
        train_items.push(vec![]);
        let split = EvalSplit {
            test_items: vec![vec![3], vec![2], vec![0], vec![], vec![1], vec![0]],
            train_items,
            n_items: 6,
        };
        let knn = ItemKnn::fit(&split.train_items, 6, 10);
        let r = knn.rank(&split, 3);
        // User 1 (train {0, 1}): item 2 scores sim(0,2) + sim(1,2) = 1/sqrt 6 + 2/sqrt 6 (U_1 ∩ U_2
        // = {0, 2}); it ranks first.
        assert_eq!(r[1].as_deref().map(|v| v[0]), Some(2));
        for (u, ranking) in r.iter().enumerate() {
            if let Some(ranking) = ranking {
                assert!(ranking.iter().all(|i| !split.train_items[u].contains(i)));
            }
        }
        assert_eq!(r[3], None, "no test items: not evaluated");
        assert_eq!(r[5], None, "no train items: cannot be scored");
    }
}
