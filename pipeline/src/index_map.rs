//! Raw ids ↔ dense indices.
//!
//! Models work on dense `u32` indices; data and artifacts speak raw string ids. An [`IdMap`] holds the
//! distinct raw ids in a deterministic order: numerically when every id parses as an integer (so
//! MovieLens item `2` comes before `10`, and "ties by item id" means what a person expects), otherwise
//! lexicographically by bytes. Two ids with the same numeric value but different spelling (`7`, `007`)
//! are ordered by their text.

use std::collections::HashMap;

/// A bijection between distinct raw ids and indices `0..len`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IdMap {
    ids: Vec<String>,
    lookup: HashMap<String, u32>,
    numeric: bool,
}

impl IdMap {
    /// Builds the map from raw ids, duplicates allowed, in any order.
    ///
    /// # Panics
    ///
    /// If there are more than `u32::MAX` distinct ids.
    pub fn from_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        let mut distinct: Vec<String> = {
            let mut set = std::collections::HashSet::new();
            ids.into_iter()
                .filter(|id| set.insert(*id))
                .map(str::to_owned)
                .collect()
        };
        let numeric = !distinct.is_empty() && distinct.iter().all(|id| id.parse::<i128>().is_ok());
        if numeric {
            distinct.sort_by_cached_key(|id| (id.parse::<i128>().unwrap_or_default(), id.clone()));
        } else {
            distinct.sort_unstable();
        }
        let lookup = distinct
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let index = u32::try_from(i).expect("more than u32::MAX distinct ids");
                (id.clone(), index)
            })
            .collect();
        Self {
            ids: distinct,
            lookup,
            numeric,
        }
    }

    /// Number of distinct ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether every id is an integer (so the order is numeric).
    pub fn is_numeric(&self) -> bool {
        self.numeric
    }

    /// The index of a raw id.
    pub fn index(&self, id: &str) -> Option<u32> {
        self.lookup.get(id).copied()
    }

    /// The raw id of an index.
    ///
    /// # Panics
    ///
    /// If `index >= len()`.
    pub fn id(&self, index: u32) -> &str {
        &self.ids[index as usize]
    }

    /// All raw ids in index order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_ids_sort_numerically() {
        let map = IdMap::from_ids(["10", "2", "1", "2", "-3"]);
        assert!(map.is_numeric());
        assert_eq!(map.ids(), ["-3", "1", "2", "10"]);
        assert_eq!(map.index("10"), Some(3));
        assert_eq!(map.index("2"), Some(2));
        assert_eq!(map.id(0), "-3");
        assert_eq!(map.index("11"), None);
    }

    #[test]
    fn mixed_ids_sort_lexicographically() {
        let map = IdMap::from_ids(["10", "2", "b", "a", "B"]);
        assert!(!map.is_numeric());
        assert_eq!(map.ids(), ["10", "2", "B", "a", "b"]);
        for (i, id) in map.ids().iter().enumerate() {
            assert_eq!(map.index(id), Some(i as u32));
        }
    }

    #[test]
    fn same_number_different_spelling_orders_by_text() {
        let map = IdMap::from_ids(["7", "007", "3"]);
        assert_eq!(map.ids(), ["3", "007", "7"]);
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn empty_map() {
        let map = IdMap::from_ids(std::iter::empty());
        assert!(map.is_empty());
        assert!(!map.is_numeric());
    }

    #[test]
    fn order_does_not_depend_on_input_order() {
        let a = IdMap::from_ids(["u3", "u1", "u2"]);
        let b = IdMap::from_ids(["u2", "u3", "u1", "u1"]);
        assert_eq!(a, b);
    }
}
