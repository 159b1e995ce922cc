//! Interactions on dense indices, converted once from the canonical polars frame.
//!
//! After the split the stages work on plain vectors: the models take index triplets and the metrics take
//! per-user item lists. [`Interactions`] keeps them in one canonical order, by (user index, timestamp,
//! item index), which is the order of the exports and of the data fingerprint.

use datasets::frame::{ITEM, TIMESTAMP, USER, WEIGHT};
use models::sparse::CsrMatrix;
use polars::prelude::{DataFrame, DataType};

use crate::config::Weighting;
use crate::error::{Error, Result};
use crate::index_map::IdMap;

/// Interactions as parallel columns of dense indices, sorted by (user, timestamp, item).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interactions {
    /// User index of each interaction.
    pub user: Vec<u32>,
    /// Item index of each interaction.
    pub item: Vec<u32>,
    /// Timestamp (seconds) of each interaction.
    pub timestamp: Vec<i64>,
    /// Raw weight (rating or event weight) of each interaction.
    pub weight: Vec<f32>,
}

/// Maps a polars error on a named column to [`Error::Column`].
fn column_err(column: &'static str) -> impl Fn(polars::error::PolarsError) -> Error {
    move |e| Error::Column {
        column,
        reason: e.to_string(),
    }
}

/// Fails with [`Error::Column`] if `nulls > 0`.
fn no_nulls(column: &'static str, nulls: usize) -> Result<()> {
    if nulls > 0 {
        return Err(Error::Column {
            column,
            reason: format!("{nulls} null value(s)"),
        });
    }
    Ok(())
}

/// The `user` or `item` column of a canonical frame as strings.
///
/// # Errors
///
/// [`Error::Column`] if the column is missing, not a string column, or has nulls.
pub(crate) fn string_column(frame: &DataFrame, column: &'static str) -> Result<Vec<String>> {
    let col = frame.column(column).map_err(column_err(column))?;
    let ca = col.str().map_err(column_err(column))?;
    no_nulls(column, ca.null_count())?;
    Ok(ca.iter().flatten().map(str::to_owned).collect())
}

impl Interactions {
    /// Converts a canonical frame (`user: String, item: String, timestamp: Int64, weight: Float32`)
    /// with the given id maps, sorted into canonical order. Integer-valued timestamp and weight columns
    /// of another numeric type are cast.
    ///
    /// # Errors
    ///
    /// [`Error::Column`] if a column is missing, has the wrong type or nulls, or holds an id absent from
    /// the maps.
    pub fn from_frame(frame: &DataFrame, users: &IdMap, items: &IdMap) -> Result<Self> {
        let to_index = |column: &'static str, map: &IdMap| -> Result<Vec<u32>> {
            string_column(frame, column)?
                .iter()
                .map(|id| {
                    map.index(id).ok_or_else(|| Error::Column {
                        column,
                        reason: format!("id {id:?} is not in the index"),
                    })
                })
                .collect()
        };
        let user = to_index(USER, users)?;
        let item = to_index(ITEM, items)?;
        let ts = frame
            .column(TIMESTAMP)
            .and_then(|c| c.cast(&DataType::Int64))
            .map_err(column_err(TIMESTAMP))?;
        let ts = ts.i64().map_err(column_err(TIMESTAMP))?;
        no_nulls(TIMESTAMP, ts.null_count())?;
        let timestamp: Vec<i64> = ts.iter().flatten().collect();
        let w = frame
            .column(WEIGHT)
            .and_then(|c| c.cast(&DataType::Float32))
            .map_err(column_err(WEIGHT))?;
        let w = w.f32().map_err(column_err(WEIGHT))?;
        no_nulls(WEIGHT, w.null_count())?;
        let weight: Vec<f32> = w.iter().flatten().collect();
        Ok(Self::from_columns(user, item, timestamp, weight))
    }

    /// Builds from parallel columns, sorting them into canonical order.
    ///
    /// # Panics
    ///
    /// If the columns differ in length.
    pub fn from_columns(
        user: Vec<u32>,
        item: Vec<u32>,
        timestamp: Vec<i64>,
        weight: Vec<f32>,
    ) -> Self {
        let n = user.len();
        assert!(
            item.len() == n && timestamp.len() == n && weight.len() == n,
            "columns differ in length"
        );
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (user[i], timestamp[i], item[i]));
        Self {
            user: order.iter().map(|&i| user[i]).collect(),
            item: order.iter().map(|&i| item[i]).collect(),
            timestamp: order.iter().map(|&i| timestamp[i]).collect(),
            weight: order.iter().map(|&i| weight[i]).collect(),
        }
    }

    /// Number of interactions.
    pub fn len(&self) -> usize {
        self.user.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }

    /// The weight the model is trained with for interaction `i`.
    pub fn training_weight(&self, i: usize, weighting: Weighting) -> f32 {
        match weighting {
            Weighting::Binary => 1.0,
            Weighting::Raw => self.weight[i],
        }
    }

    /// Each user's distinct items, sorted ascending (`n_users` lists; users without interactions get
    /// an empty list).
    pub fn items_by_user(&self, n_users: usize) -> Vec<Vec<u32>> {
        let mut lists = vec![Vec::new(); n_users];
        for (&u, &i) in self.user.iter().zip(&self.item) {
            lists[u as usize].push(i);
        }
        for list in &mut lists {
            list.sort_unstable();
            list.dedup();
        }
        lists
    }

    /// Distinct users with at least one interaction.
    pub fn distinct_users(&self) -> usize {
        // Sorted by user, so counting changes is enough.
        self.user
            .iter()
            .enumerate()
            .filter(|&(i, u)| i == 0 || self.user[i - 1] != *u)
            .count()
    }

    /// The user × item matrix of training weights (duplicate pairs summed).
    ///
    /// # Errors
    ///
    /// [`Error::Model`] if an index is out of bounds.
    pub fn to_csr(
        &self,
        n_users: usize,
        n_items: usize,
        weighting: Weighting,
    ) -> Result<CsrMatrix> {
        let triplets: Vec<(u32, u32, f32)> = (0..self.len())
            .map(|i| {
                (
                    self.user[i],
                    self.item[i],
                    self.training_weight(i, weighting),
                )
            })
            .collect();
        Ok(CsrMatrix::from_triplets(n_users, n_items, &triplets)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{NamedFrom, Series};

    fn frame(users: &[&str], items: &[&str], ts: &[i64], w: &[f32]) -> DataFrame {
        DataFrame::new_infer_height(vec![
            Series::new(USER.into(), users).into(),
            Series::new(ITEM.into(), items).into(),
            Series::new(TIMESTAMP.into(), ts).into(),
            Series::new(WEIGHT.into(), w).into(),
        ])
        .unwrap()
    }

    #[test]
    fn converts_and_sorts_into_canonical_order() {
        let f = frame(
            &["2", "1", "2", "1"],
            &["10", "3", "3", "10"],
            &[5, 9, 5, 1],
            &[1.0, 2.0, 3.0, 4.0],
        );
        let users = IdMap::from_ids(["1", "2"]);
        let items = IdMap::from_ids(["3", "10"]);
        let x = Interactions::from_frame(&f, &users, &items).unwrap();
        // user 0 ("1"): (ts 1, item "10"), (ts 9, item "3"); user 1 ("2"): ts 5 ties → item "3" first.
        assert_eq!(x.user, [0, 0, 1, 1]);
        assert_eq!(x.item, [1, 0, 0, 1]);
        assert_eq!(x.timestamp, [1, 9, 5, 5]);
        assert_eq!(x.weight, [4.0, 2.0, 3.0, 1.0]);
        assert_eq!(x.items_by_user(3), vec![vec![0, 1], vec![0, 1], vec![]]);
        assert_eq!(x.distinct_users(), 2);
    }

    #[test]
    fn unknown_id_is_a_column_error() {
        let f = frame(&["1"], &["99"], &[0], &[1.0]);
        let err = Interactions::from_frame(&f, &IdMap::from_ids(["1"]), &IdMap::from_ids(["3"]));
        assert!(
            matches!(err, Err(Error::Column { column: ITEM, .. })),
            "{err:?}"
        );
    }

    #[test]
    fn missing_column_is_a_column_error() {
        let f = frame(&["1"], &["3"], &[0], &[1.0]).drop(WEIGHT).unwrap();
        let err = Interactions::from_frame(&f, &IdMap::from_ids(["1"]), &IdMap::from_ids(["3"]));
        assert!(
            matches!(err, Err(Error::Column { column: WEIGHT, .. })),
            "{err:?}"
        );
    }

    #[test]
    fn csr_uses_the_weighting() {
        let x = Interactions::from_columns(vec![0, 1], vec![1, 0], vec![0, 0], vec![4.0, 2.5]);
        let binary = x.to_csr(2, 2, Weighting::Binary).unwrap();
        assert_eq!(binary.row(0), (&[1u32][..], &[1.0f32][..]));
        let raw = x.to_csr(2, 2, Weighting::Raw).unwrap();
        assert_eq!(raw.row(1), (&[0u32][..], &[2.5f32][..]));
        assert_eq!(raw.nnz(), 2);
    }
}
