//! The diversity rule: at most `max_per_author` posts of one author in any `window`
//! consecutive feed items.
//!
//! Items are placed greedily in rank order. An item that would break the rule waits, and
//! waiting items (which outrank everything after them) are placed first as soon as they fit.
//! Items that never fit are left out of this list; they come back when the list is rebuilt.

use std::collections::HashMap;
use std::hash::Hash;

/// Reorders `ranked` (best first) so that the rule holds, keeping rank order where it can.
/// A `window` of 0 disables the rule.
///
/// Authors are numbered first and counted over the last `window - 1` placed items, so each
/// check is O(1) and the whole pass O(n · waiting).
pub(crate) fn diversify<T, K: Hash + Eq>(
    ranked: Vec<T>,
    author: impl Fn(&T) -> K,
    max_per_author: usize,
    window: usize,
) -> Vec<T> {
    if window == 0 {
        return ranked;
    }
    let authors: Vec<usize> = {
        let mut ids: HashMap<K, usize> = HashMap::new();
        ranked
            .iter()
            .map(|item| {
                let next = ids.len();
                *ids.entry(author(item)).or_insert(next)
            })
            .collect()
    };
    let mut recent = vec![0usize; authors.len()];
    let mut order: Vec<usize> = Vec::with_capacity(ranked.len());
    let mut waiting: Vec<usize> = Vec::new();
    let fits = |recent: &[usize], i: usize| recent[authors[i]] < max_per_author;
    // Places item `i` and slides the window of the last `window - 1` items.
    let place = |order: &mut Vec<usize>, recent: &mut [usize], i: usize| {
        order.push(i);
        recent[authors[i]] += 1;
        if order.len() >= window {
            recent[authors[order[order.len() - window]]] -= 1;
        }
    };
    let place_waiting = |order: &mut Vec<usize>, recent: &mut [usize], waiting: &mut Vec<usize>| {
        while let Some(pos) = waiting.iter().position(|&w| fits(recent, w)) {
            let i = waiting.remove(pos);
            place(order, recent, i);
        }
    };
    for i in 0..ranked.len() {
        place_waiting(&mut order, &mut recent, &mut waiting);
        if fits(&recent, i) {
            place(&mut order, &mut recent, i);
        } else {
            waiting.push(i);
        }
    }
    place_waiting(&mut order, &mut recent, &mut waiting);
    let mut slots: Vec<Option<T>> = ranked.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each item is placed once"))
        .collect()
}

/// Whether `items` obey the rule (the oracle of the tests).
#[cfg(test)]
pub(crate) fn obeys<T, K: PartialEq>(
    items: &[T],
    author: impl Fn(&T) -> K,
    max_per_author: usize,
    window: usize,
) -> bool {
    window == 0
        || items.windows(window.min(items.len()).max(1)).all(|w| {
            w.iter()
                .all(|x| w.iter().filter(|y| author(y) == author(x)).count() <= max_per_author)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(authors: &[&'static str], max: usize, window: usize) -> Vec<(usize, &'static str)> {
        let ranked: Vec<(usize, &str)> = authors.iter().copied().enumerate().collect();
        diversify(ranked, |x| x.1, max, window)
    }

    #[test]
    fn at_most_n_per_author_in_any_window() {
        let authors = ["a", "a", "a", "a", "b", "a", "c", "b", "b", "b", "a", "d"];
        for max in 1..=3 {
            for window in 1..=6 {
                let out = run(&authors, max, window);
                assert!(obeys(&out, |x| x.1, max, window), "{max} {window}: {out:?}");
                // Nothing is invented or duplicated.
                let mut ids: Vec<usize> = out.iter().map(|x| x.0).collect();
                ids.sort_unstable();
                ids.dedup();
                assert_eq!(ids.len(), out.len());
            }
        }
    }

    #[test]
    fn waiting_items_keep_their_rank_when_they_fit() {
        let out: Vec<usize> = run(&["a", "a", "a", "b", "c"], 2, 3)
            .iter()
            .map(|x| x.0)
            .collect();
        // The third "a" waits until another author has passed, then comes first.
        assert_eq!(out, vec![0, 1, 3, 2, 4]);
        // Without the rule the order is unchanged.
        let same: Vec<usize> = run(&["a", "a", "a"], 2, 0).iter().map(|x| x.0).collect();
        assert_eq!(same, vec![0, 1, 2]);
        // Items that can never fit are left out.
        assert_eq!(run(&["a", "a", "a"], 1, 3).len(), 1);
    }

    /// The rule as first written (counting the author over the window at every check): the
    /// reference the counting version must match exactly.
    fn reference(authors: &[usize], max: usize, window: usize) -> Vec<usize> {
        let fits = |out: &[usize], i: usize| {
            let recent = &out[out.len().saturating_sub(window - 1)..];
            recent.iter().filter(|&&o| authors[o] == authors[i]).count() < max
        };
        let (mut out, mut waiting) = (Vec::new(), std::collections::VecDeque::new());
        let place_waiting =
            |out: &mut Vec<usize>, waiting: &mut std::collections::VecDeque<usize>| {
                while let Some(pos) = waiting.iter().position(|&w| fits(out, w)) {
                    out.push(waiting.remove(pos).unwrap());
                }
            };
        for i in 0..authors.len() {
            place_waiting(&mut out, &mut waiting);
            if fits(&out, i) {
                out.push(i);
            } else {
                waiting.push_back(i);
            }
        }
        place_waiting(&mut out, &mut waiting);
        out
    }

    #[test]
    fn counting_matches_the_reference_on_random_lists() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
        let names = ["a", "b", "c", "d", "e", "f"];
        for _ in 0..500 {
            let n = rng.random_range(0..60);
            let k = rng.random_range(1..=names.len());
            let authors: Vec<usize> = (0..n).map(|_| rng.random_range(0..k)).collect();
            let max = rng.random_range(1..4);
            let window = rng.random_range(1..12);
            let ranked: Vec<(usize, &str)> =
                authors.iter().map(|&a| names[a]).enumerate().collect();
            let got: Vec<usize> = diversify(ranked, |x| x.1, max, window)
                .iter()
                .map(|x| x.0)
                .collect();
            assert_eq!(
                got,
                reference(&authors, max, window),
                "{authors:?} {max} {window}"
            );
        }
    }

    #[test]
    fn the_oracle_catches_a_violation() {
        let bad = [(0, "a"), (1, "b"), (2, "a")];
        assert!(!obeys(&bad, |x| x.1, 1, 3));
        assert!(obeys(&bad, |x| x.1, 1, 2));
    }
}
