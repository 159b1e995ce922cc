//! Random: every evaluated user gets `depth` distinct catalog items outside their train items, in a
//! uniformly random order.
//!
//! User `u` draws from ChaCha8 stream `u` of the seed, so a ranking depends only on the seed, the
//! user and the split, not on the thread count or the other users.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::evaluate::{EvalSplit, Rankings};

/// The `c`-th item (0-based) of `0..` that is not in the sorted `excluded`.
fn nth_allowed(c: u32, excluded: &[u32]) -> u32 {
    let mut item = c;
    for &e in excluded {
        if e <= item {
            item += 1;
        } else {
            break;
        }
    }
    item
}

/// Random rankings of depth `depth` (fewer when fewer items are allowed) for every evaluated user.
pub fn rank(split: &EvalSplit, depth: usize, seed: u64) -> Rankings {
    (0..split.n_users())
        .into_par_iter()
        .map(|u| {
            if split.test_items[u].is_empty() {
                return None;
            }
            let excluded = &split.train_items[u];
            let in_catalog = excluded.partition_point(|&i| (i as usize) < split.n_items);
            let allowed = split.n_items - in_catalog;
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(u as u64);
            // `sample` returns distinct indices in random order.
            let picks = rand::seq::index::sample(&mut rng, allowed, depth.min(allowed));
            Some(
                picks
                    .into_iter()
                    .map(|c| nth_allowed(c as u32, &excluded[..in_catalog]))
                    .collect(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split() -> EvalSplit {
        EvalSplit {
            train_items: vec![vec![0, 3, 4], vec![], vec![1, 2, 5, 6, 7, 8], vec![2]],
            test_items: vec![vec![1], vec![2], vec![0], vec![]],
            n_items: 10,
        }
    }

    #[test]
    fn nth_allowed_skips_the_exclusions() {
        let excluded = [0, 3, 4];
        let allowed: Vec<u32> = (0..7).map(|c| nth_allowed(c, &excluded)).collect();
        assert_eq!(allowed, [1, 2, 5, 6, 7, 8, 9]);
        assert_eq!(nth_allowed(2, &[]), 2);
    }

    #[test]
    fn seeded_distinct_and_never_a_train_item() {
        let s = split();
        let a = rank(&s, 5, 42);
        assert_eq!(a, rank(&s, 5, 42), "the same seed gives the same rankings");
        assert_ne!(a, rank(&s, 5, 43), "another seed gives others");
        for (u, r) in a.iter().enumerate() {
            let Some(r) = r else {
                assert_eq!(u, 3, "only the user without test items is skipped");
                continue;
            };
            let mut sorted = r.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), r.len(), "distinct");
            assert!(r.iter().all(|i| (*i as usize) < s.n_items));
            assert!(r.iter().all(|i| !s.train_items[u].contains(i)));
        }
        // User 2 may have only items {0, 3, 4, 9}: all four, whatever the order.
        let mut r2 = a[2].clone().unwrap();
        r2.sort_unstable();
        assert_eq!(r2, [0, 3, 4, 9]);
        assert_eq!(a[0].as_ref().unwrap().len(), 5);
    }

    #[test]
    fn every_allowed_item_comes_up_first_about_equally_often() {
        // 2,000 users with train item 0 over 5 items: the first pick is uniform over 1..=4.
        let n = 2000;
        let s = EvalSplit {
            train_items: vec![vec![0]; n],
            test_items: vec![vec![1]; n],
            n_items: 5,
        };
        let mut first = [0usize; 5];
        for r in rank(&s, 1, 7).into_iter().flatten() {
            first[r[0] as usize] += 1;
        }
        assert_eq!(first[0], 0);
        for &c in &first[1..] {
            assert!((400..600).contains(&c), "{first:?}");
        }
    }
}
