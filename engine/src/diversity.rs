//! The diversity rule: at most `max_per_author` posts of one author in any `window`
//! consecutive feed items.
//!
//! Items are placed greedily in rank order. An item that would break the rule waits, and
//! waiting items (which outrank everything after them) are placed first as soon as they fit.
//! Items that never fit are left out of this list; they come back when the list is rebuilt.

use std::collections::VecDeque;

/// Reorders `ranked` (best first) so that the rule holds, keeping rank order where it can.
/// A `window` of 0 disables the rule.
pub(crate) fn diversify<T>(
    ranked: Vec<T>,
    author: impl Fn(&T) -> &str,
    max_per_author: usize,
    window: usize,
) -> Vec<T> {
    if window == 0 {
        return ranked;
    }
    let fits = |out: &[T], item: &T| {
        let recent = &out[out.len().saturating_sub(window - 1)..];
        let a = author(item);
        recent.iter().filter(|o| author(o) == a).count() < max_per_author
    };
    let mut out: Vec<T> = Vec::with_capacity(ranked.len());
    let mut waiting: VecDeque<T> = VecDeque::new();
    let place_waiting = |out: &mut Vec<T>, waiting: &mut VecDeque<T>| {
        while let Some(pos) = waiting.iter().position(|w| fits(out, w)) {
            let item = waiting.remove(pos).expect("position is in range");
            out.push(item);
        }
    };
    for item in ranked {
        place_waiting(&mut out, &mut waiting);
        if fits(&out, &item) {
            out.push(item);
        } else {
            waiting.push_back(item);
        }
    }
    place_waiting(&mut out, &mut waiting);
    out
}

/// Whether `items` obey the rule (the oracle of the tests).
#[cfg(test)]
pub(crate) fn obeys<T>(
    items: &[T],
    author: impl Fn(&T) -> &str,
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

    #[test]
    fn the_oracle_catches_a_violation() {
        let bad = [(0, "a"), (1, "b"), (2, "a")];
        assert!(!obeys(&bad, |x| x.1, 1, 3));
        assert!(obeys(&bad, |x| x.1, 1, 2));
    }
}
