//! The evaluation split of `docs/EVALUATION.md`, on canonical frames.
//!
//! 1. [`filter_min_rating`] (variant *r>=4*) runs **before** anything else.
//! 2. [`dedup`]: duplicate (user, item) pairs keep the latest ([`Dedup::KeepLatest`]), or, for social
//!    events, sum their weights at the latest timestamp ([`Dedup::SumWeights`]).
//! 3. [`temporal_split`]: per user, interactions sorted by (timestamp, item id), the item ids compared
//!    as integers when every item id of the frame parses as one, else as strings. With n interactions:
//!    n < 5 all go to train, otherwise the last floor(n / 5) go to test.
//!
//! Applying [`temporal_split`] to the train part gives the validation split. Everything is computed
//! on Rust vectors (ranks of the ids, one sort of row indices), so the result depends only on the
//! frame's contents, never on thread scheduling. Output rows are ordered by (user, timestamp, item)
//! under the same id ordering (users, too, are compared as integers when all of them are integers).

use std::cmp::Ordering;
use std::collections::HashMap;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::frame::{FrameView, WEIGHT};

/// What [`dedup`] does with repeated (user, item) pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dedup {
    /// Keep the latest row (latest timestamp; on equal timestamps the later row). EVALUATION.md rule 1.
    #[default]
    KeepLatest,
    /// One row per pair: the weights summed, the latest timestamp (and the latest row's other columns).
    /// For social events (a view, then a like, then a comment on one post).
    SumWeights,
}

/// A train/test (or fit/validation) split.
#[derive(Clone, Debug)]
pub struct Split {
    /// The earlier interactions of each user (all of them for users with fewer than 5).
    pub train: DataFrame,
    /// The last floor(n / 5) interactions of each user with n >= 5.
    pub test: DataFrame,
}

/// Keeps the rows whose `weight` is >= `min_rating`, in their order.
///
/// # Errors
///
/// [`Error::InvalidMinRating`] for NaN or infinity; [`Error::FrameSchema`] / [`Error::FrameNulls`]
/// if the frame lacks a valid canonical `weight` (or user, item, timestamp) column.
pub fn filter_min_rating(frame: DataFrame, min_rating: f32) -> Result<DataFrame> {
    if !min_rating.is_finite() {
        return Err(Error::InvalidMinRating { value: min_rating });
    }
    let view = FrameView::new(&frame, true)?;
    let weights = view.weight.expect("required above");
    let keep: Vec<IdxSize> = weights
        .iter()
        .enumerate()
        .filter(|(_, w)| w.is_some_and(|w| w >= min_rating))
        .map(|(i, _)| i as IdxSize)
        .collect();
    take(&frame, keep)
}

/// Removes duplicate (user, item) pairs as `how` says; rows come out ordered by (user, timestamp, item).
///
/// # Errors
///
/// [`Error::FrameSchema`] / [`Error::FrameNulls`] for a frame without valid canonical columns
/// (`weight` is required only for [`Dedup::SumWeights`]).
pub fn dedup(frame: DataFrame, how: Dedup) -> Result<DataFrame> {
    let view = FrameView::new(&frame, how == Dedup::SumWeights)?;
    let keys = Keys::new(&view);
    // Group the pairs: (user, item, timestamp, row); the last of each group is the latest.
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        (keys.user[a], keys.item[a], keys.timestamp[a], a).cmp(&(
            keys.user[b],
            keys.item[b],
            keys.timestamp[b],
            b,
        ))
    });
    let mut kept: Vec<u32> = Vec::new();
    let mut sums: Vec<f32> = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let first = order[start] as usize;
        let mut end = start + 1;
        while end < order.len() && {
            let r = order[end] as usize;
            keys.user[r] == keys.user[first] && keys.item[r] == keys.item[first]
        } {
            end += 1;
        }
        kept.push(order[end - 1]);
        if let Some(w) = view.weight.filter(|_| how == Dedup::SumWeights) {
            // Summed in f64 in timestamp order: the same rows always give the same bits.
            let sum: f64 = order[start..end]
                .iter()
                .map(|&r| f64::from(w.get(r as usize).unwrap_or(0.0)))
                .sum();
            sums.push(sum as f32);
        }
        start = end;
    }
    let mut pairs: Vec<(u32, f32)> = kept
        .into_iter()
        .zip(sums.into_iter().chain(std::iter::repeat(0.0)))
        .collect();
    pairs.sort_unstable_by(|a, b| keys.output_order(a.0 as usize, b.0 as usize));
    let indices: Vec<IdxSize> = pairs.iter().map(|p| p.0 as IdxSize).collect();
    let mut out = take(&frame, indices)?;
    if how == Dedup::SumWeights {
        let summed: Vec<f32> = pairs.iter().map(|p| p.1).collect();
        out.with_column(Float32Chunked::from_vec(WEIGHT.into(), summed).into_column())?;
    }
    Ok(out)
}

/// The per-user temporal leave-last-20%-out split of EVALUATION.md rule 2. Call [`dedup`] first.
///
/// # Errors
///
/// [`Error::FrameSchema`] / [`Error::FrameNulls`] for a frame without valid `user`, `item` and
/// `timestamp` columns.
pub fn temporal_split(frame: &DataFrame) -> Result<Split> {
    let view = FrameView::new(frame, false)?;
    let keys = Keys::new(&view);
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| keys.output_order(a as usize, b as usize));
    let mut train = Vec::with_capacity(order.len());
    let mut test = Vec::with_capacity(order.len() / 5 + 1);
    let mut start = 0;
    while start < order.len() {
        let user = keys.user[order[start] as usize];
        let mut end = start + 1;
        while end < order.len() && keys.user[order[end] as usize] == user {
            end += 1;
        }
        let n = end - start;
        let n_test = if n < 5 { 0 } else { n / 5 };
        train.extend(order[start..end - n_test].iter().map(|&r| r as IdxSize));
        test.extend(order[end - n_test..end].iter().map(|&r| r as IdxSize));
        start = end;
    }
    Ok(Split {
        train: take(frame, train)?,
        test: take(frame, test)?,
    })
}

/// `min_rating` filter (if any), then [`dedup`], then [`temporal_split`]: the whole EVALUATION.md
/// preparation of a loaded frame.
///
/// # Errors
///
/// As [`filter_min_rating`], [`dedup`] and [`temporal_split`].
pub fn prepare(frame: DataFrame, min_rating: Option<f32>, how: Dedup) -> Result<Split> {
    let frame = match min_rating {
        Some(m) => filter_min_rating(frame, m)?,
        None => frame,
    };
    temporal_split(&dedup(frame, how)?)
}

fn take(frame: &DataFrame, indices: Vec<IdxSize>) -> Result<DataFrame> {
    Ok(frame.take(&IdxCa::from_vec("".into(), indices))?)
}

/// Per row: the rank of its user and of its item under the EVALUATION.md id order, and its timestamp.
struct Keys {
    user: Vec<u32>,
    item: Vec<u32>,
    timestamp: Vec<i64>,
}

impl Keys {
    fn new(view: &FrameView<'_>) -> Self {
        Self {
            user: id_ranks(view.user),
            item: id_ranks(view.item),
            timestamp: view
                .timestamp
                .iter()
                .map(|t| t.unwrap_or_default())
                .collect(),
        }
    }

    fn len(&self) -> usize {
        self.timestamp.len()
    }

    /// (user, timestamp, item, row): the split's order and the order of every output frame.
    fn output_order(&self, a: usize, b: usize) -> Ordering {
        (self.user[a], self.timestamp[a], self.item[a], a).cmp(&(
            self.user[b],
            self.timestamp[b],
            self.item[b],
            b,
        ))
    }
}

/// Dense ranks of the ids: integer order when every id parses as an `i64` (ties such as `07` and `7`
/// broken by the string), else byte-wise string order.
fn id_ranks(ids: &StringChunked) -> Vec<u32> {
    let mut codes: HashMap<&str, u32> = HashMap::new();
    let mut distinct: Vec<&str> = Vec::new();
    let row_codes: Vec<u32> = ids
        .iter()
        .map(|id| {
            let id = id.unwrap_or_default();
            *codes.entry(id).or_insert_with(|| {
                distinct.push(id);
                (distinct.len() - 1) as u32
            })
        })
        .collect();
    let numbers: Option<Vec<i64>> = distinct.iter().map(|s| s.parse::<i64>().ok()).collect();
    let mut by_rank: Vec<u32> = (0..distinct.len() as u32).collect();
    match numbers {
        Some(n) => by_rank.sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            (n[a], distinct[a]).cmp(&(n[b], distinct[b]))
        }),
        None => by_rank.sort_unstable_by(|&a, &b| distinct[a as usize].cmp(distinct[b as usize])),
    }
    let mut rank_of_code = vec![0u32; distinct.len()];
    for (rank, &code) in by_rank.iter().enumerate() {
        rank_of_code[code as usize] = rank as u32;
    }
    row_codes
        .into_iter()
        .map(|c| rank_of_code[c as usize])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{ITEM, TIMESTAMP, USER};

    type Row = (String, String, i64, f32);

    fn frame(rows: &[(&str, &str, i64, f32)]) -> DataFrame {
        let mut b = crate::frame::FrameBuilder::with_capacity(rows.len());
        for &(u, i, t, w) in rows {
            b.push(u, i, t, w);
        }
        b.finish().unwrap()
    }

    fn rows(df: &DataFrame) -> Vec<Row> {
        let v = FrameView::new(df, true).unwrap();
        (0..df.height())
            .map(|r| {
                (
                    v.user.get(r).unwrap().to_owned(),
                    v.item.get(r).unwrap().to_owned(),
                    v.timestamp.get(r).unwrap(),
                    v.weight.unwrap().get(r).unwrap(),
                )
            })
            .collect()
    }

    fn pairs(df: &DataFrame) -> Vec<(String, String)> {
        rows(df).into_iter().map(|r| (r.0, r.1)).collect()
    }

    fn expect(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(u, i)| ((*u).to_owned(), (*i).to_owned()))
            .collect()
    }

    /// Users with 4, 5, 9 and 10 interactions, a timestamp tie between items 9 and 10, rows shuffled.
    fn oracle_frame() -> DataFrame {
        let mut r: Vec<(&str, &str, i64, f32)> = vec![
            ("10", "1", 5, 1.0),
            ("10", "2", 3, 1.0),
            ("10", "3", 4, 1.0),
            ("10", "4", 1, 1.0),
        ];
        for (i, t) in [("5", 10), ("6", 20), ("7", 30), ("8", 40), ("9", 50)] {
            r.push(("2", i, t, 1.0));
        }
        for (i, t) in [
            ("1", 1),
            ("2", 2),
            ("3", 3),
            ("4", 4),
            ("5", 5),
            ("6", 6),
            ("7", 7),
            ("10", 100),
            ("9", 100),
        ] {
            r.push(("3", i, t, 1.0));
        }
        for (k, i) in ["29", "28", "27", "26", "25", "24", "23", "22", "21", "20"]
            .into_iter()
            .enumerate()
        {
            r.push(("1", i, k as i64 + 1, 1.0));
        }
        // A fixed shuffle of the rows.
        let mut shuffled = Vec::new();
        for start in 0..7 {
            shuffled.extend(r.iter().skip(start).step_by(7).copied());
        }
        frame(&shuffled)
    }

    #[test]
    fn temporal_split_matches_the_hand_computed_oracle() {
        let split = temporal_split(&oracle_frame()).unwrap();
        let train = expect(&[
            ("1", "29"),
            ("1", "28"),
            ("1", "27"),
            ("1", "26"),
            ("1", "25"),
            ("1", "24"),
            ("1", "23"),
            ("1", "22"),
            ("2", "5"),
            ("2", "6"),
            ("2", "7"),
            ("2", "8"),
            ("3", "1"),
            ("3", "2"),
            ("3", "3"),
            ("3", "4"),
            ("3", "5"),
            ("3", "6"),
            ("3", "7"),
            ("3", "9"),
            ("10", "4"),
            ("10", "2"),
            ("10", "3"),
            ("10", "1"),
        ]);
        assert_eq!(pairs(&split.train), train);
        // Item 10 sorts after item 9 (numerically) on the tied timestamp, so it is user 3's test item.
        assert_eq!(
            pairs(&split.test),
            expect(&[("1", "21"), ("1", "20"), ("2", "9"), ("3", "10")])
        );
        assert_eq!(rows(&split.test)[3].2, 100);

        // The same rule on train is the validation split.
        let validation = temporal_split(&split.train).unwrap();
        assert_eq!(pairs(&validation.test), expect(&[("1", "22"), ("3", "9")]));
        assert_eq!(validation.train.height(), train.len() - 2);
    }

    #[test]
    fn non_numeric_item_ids_compare_as_strings() {
        let mut r = vec![("3", "x", 0, 1.0)];
        for (i, t) in [
            ("1", 1),
            ("2", 2),
            ("3", 3),
            ("4", 4),
            ("5", 5),
            ("6", 6),
            ("10", 100),
            ("9", 100),
        ] {
            r.push(("3", i, t, 1.0));
        }
        let split = temporal_split(&frame(&r)).unwrap();
        // "10" < "9" as strings: 9 is the last of the nine.
        assert_eq!(pairs(&split.test), expect(&[("3", "9")]));
        assert_eq!(
            pairs(&split.train)
                .iter()
                .map(|p| p.1.as_str())
                .collect::<Vec<_>>(),
            ["x", "1", "2", "3", "4", "5", "6", "10"]
        );
    }

    #[test]
    fn split_is_deterministic_and_keeps_extra_columns() {
        let mut df = oracle_frame();
        let tags: Vec<i64> = (0..df.height() as i64).collect();
        df.with_column(Int64Chunked::from_vec("tag".into(), tags).into_column())
            .unwrap();
        let a = temporal_split(&df).unwrap();
        let b = temporal_split(&df).unwrap();
        assert!(a.train.equals(&b.train) && a.test.equals(&b.test));
        assert_eq!(a.train.width(), 5);
        assert_eq!(a.train.height() + a.test.height(), df.height());
    }

    #[test]
    fn dedup_keeps_the_latest_or_sums() {
        let df = frame(&[
            ("u1", "i1", 5, 1.0),
            ("u1", "i1", 9, 4.0),
            ("u1", "i2", 7, 1.0),
            ("u2", "i1", 3, 1.0),
            ("u1", "i1", 9, 6.0),
            ("u2", "i1", 1, 2.0),
        ]);
        let own = |v: &[(&str, &str, i64, f32)]| -> Vec<Row> {
            v.iter()
                .map(|&(u, i, t, w)| (u.to_owned(), i.to_owned(), t, w))
                .collect()
        };
        let latest = dedup(df.clone(), Dedup::KeepLatest).unwrap();
        assert_eq!(
            rows(&latest),
            own(&[
                ("u1", "i2", 7, 1.0),
                ("u1", "i1", 9, 6.0),
                ("u2", "i1", 3, 1.0)
            ])
        );
        let summed = dedup(df, Dedup::SumWeights).unwrap();
        assert_eq!(
            rows(&summed),
            own(&[
                ("u1", "i2", 7, 1.0),
                ("u1", "i1", 9, 11.0),
                ("u2", "i1", 3, 3.0)
            ])
        );
    }

    #[test]
    fn min_rating_filters_before_the_split() {
        let mut r = Vec::new();
        for (k, w) in [5.0, 3.0, 4.0, 1.0, 4.5, 5.0].into_iter().enumerate() {
            r.push(("u", ["a", "b", "c", "d", "e", "f"][k], k as i64, w));
        }
        let all = prepare(frame(&r), None, Dedup::KeepLatest).unwrap();
        assert_eq!(pairs(&all.test), expect(&[("u", "f")]));
        // r>=4 leaves four interactions: fewer than five, all train.
        let high = prepare(frame(&r), Some(4.0), Dedup::KeepLatest).unwrap();
        assert_eq!(
            pairs(&high.train),
            expect(&[("u", "a"), ("u", "c"), ("u", "e"), ("u", "f")])
        );
        assert_eq!(high.test.height(), 0);
        let err = filter_min_rating(frame(&r), f32::INFINITY).unwrap_err();
        assert!(matches!(err, Error::InvalidMinRating { .. }));
    }

    #[test]
    fn frames_without_canonical_columns_are_rejected() {
        let df = DataFrame::new(
            1,
            vec![
                Column::new(USER.into(), ["u"]),
                Column::new(ITEM.into(), ["i"]),
                Column::new(TIMESTAMP.into(), [1i64]),
            ],
        )
        .unwrap();
        assert_eq!(temporal_split(&df).unwrap().train.height(), 1);
        let err = dedup(df.clone(), Dedup::SumWeights).unwrap_err();
        assert!(matches!(
            err,
            Error::FrameSchema {
                column: "weight",
                ..
            }
        ));
        let err = filter_min_rating(df.clone(), 4.0).unwrap_err();
        assert!(matches!(
            err,
            Error::FrameSchema {
                column: "weight",
                ..
            }
        ));
        let no_item = df.drop(ITEM).unwrap();
        assert!(matches!(
            temporal_split(&no_item),
            Err(Error::FrameSchema { column: "item", .. })
        ));
    }

    #[test]
    fn numeric_ids_rank_numerically_with_string_tie_break() {
        let ca = StringChunked::from_slice("x".into(), &["10", "9", "07", "7", "-1"]);
        assert_eq!(id_ranks(&ca), vec![4, 3, 1, 2, 0]);
        let ca = StringChunked::from_slice("x".into(), &["10", "9", "a"]);
        assert_eq!(id_ranks(&ca), vec![0, 1, 2]);
    }
}
