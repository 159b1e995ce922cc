//! The canonical interaction frame: `user: String`, `item: String`, `timestamp: Int64` (seconds),
//! `weight: Float32` (rating or event weight; 1.0 when the source has none).
//!
//! Every loader returns it and [`split`](crate::split) takes it; this module builds it and reads it
//! back with its schema checked.

use polars::prelude::*;

use crate::error::{Error, Result};

/// Name of the user id column.
pub const USER: &str = "user";
/// Name of the item id column.
pub const ITEM: &str = "item";
/// Name of the timestamp column (seconds, `Int64`).
pub const TIMESTAMP: &str = "timestamp";
/// Name of the weight column (`Float32`).
pub const WEIGHT: &str = "weight";

/// Accumulates canonical rows without one heap allocation per id.
#[allow(missing_debug_implementations)]
pub struct FrameBuilder {
    user: StringChunkedBuilder,
    item: StringChunkedBuilder,
    timestamp: Vec<i64>,
    weight: Vec<f32>,
}

impl FrameBuilder {
    /// A builder with room for `capacity` rows.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            user: StringChunkedBuilder::new(USER.into(), capacity),
            item: StringChunkedBuilder::new(ITEM.into(), capacity),
            timestamp: Vec::with_capacity(capacity),
            weight: Vec::with_capacity(capacity),
        }
    }

    /// Appends one row.
    pub fn push(&mut self, user: &str, item: &str, timestamp: i64, weight: f32) {
        self.user.append_value(user);
        self.item.append_value(item);
        self.timestamp.push(timestamp);
        self.weight.push(weight);
    }

    /// Rows appended so far.
    pub fn len(&self) -> usize {
        self.timestamp.len()
    }

    /// Whether no row was appended.
    pub fn is_empty(&self) -> bool {
        self.timestamp.is_empty()
    }

    /// The canonical frame of the rows appended.
    ///
    /// # Errors
    ///
    /// A polars error assembling the columns.
    pub fn finish(self) -> Result<DataFrame> {
        let height = self.timestamp.len();
        let columns = vec![
            self.user.finish().into_column(),
            self.item.finish().into_column(),
            Int64Chunked::from_vec(TIMESTAMP.into(), self.timestamp).into_column(),
            Float32Chunked::from_vec(WEIGHT.into(), self.weight).into_column(),
        ];
        Ok(DataFrame::new(height, columns)?)
    }
}

/// Borrowed, schema-checked access to the canonical columns of a frame.
pub(crate) struct FrameView<'a> {
    pub(crate) user: &'a StringChunked,
    pub(crate) item: &'a StringChunked,
    pub(crate) timestamp: &'a Int64Chunked,
    /// `None` when the frame has no weight column and the caller did not require one.
    pub(crate) weight: Option<&'a Float32Chunked>,
}

impl<'a> FrameView<'a> {
    /// Checks that `user`, `item`, `timestamp` (and `weight` if `need_weight`) exist with the
    /// canonical types and without nulls.
    pub(crate) fn new(frame: &'a DataFrame, need_weight: bool) -> Result<Self> {
        let user = column(frame, USER, &DataType::String, "String")?.str()?;
        let item = column(frame, ITEM, &DataType::String, "String")?.str()?;
        let timestamp = column(frame, TIMESTAMP, &DataType::Int64, "Int64")?.i64()?;
        let weight = if need_weight || frame.column(WEIGHT).is_ok() {
            Some(column(frame, WEIGHT, &DataType::Float32, "Float32")?.f32()?)
        } else {
            None
        };
        Ok(Self {
            user,
            item,
            timestamp,
            weight,
        })
    }
}

fn column<'a>(
    frame: &'a DataFrame,
    name: &'static str,
    dtype: &DataType,
    expected: &'static str,
) -> Result<&'a Column> {
    let col = frame.column(name).map_err(|_| Error::FrameSchema {
        column: name,
        expected,
        got: "missing".to_owned(),
    })?;
    if col.dtype() != dtype {
        return Err(Error::FrameSchema {
            column: name,
            expected,
            got: col.dtype().to_string(),
        });
    }
    let nulls = col.null_count();
    if nulls > 0 {
        return Err(Error::FrameNulls {
            column: name,
            count: nulls,
        });
    }
    Ok(col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_canonical_schema() {
        let mut b = FrameBuilder::with_capacity(2);
        b.push("u1", "i1", 10, 1.0);
        b.push("u2", "i2", 20, 4.5);
        let df = b.finish().unwrap();
        let view = FrameView::new(&df, true).unwrap();
        assert_eq!(view.user.get(1), Some("u2"));
        assert_eq!(view.item.get(0), Some("i1"));
        assert_eq!(view.timestamp.get(1), Some(20));
        assert_eq!(view.weight.unwrap().get(1), Some(4.5));
    }

    #[test]
    fn rejects_missing_columns_wrong_types_and_nulls() {
        let df = DataFrame::new(
            1,
            vec![
                Column::new(USER.into(), ["u"]),
                Column::new(ITEM.into(), ["i"]),
                Column::new(TIMESTAMP.into(), [1.5f64]),
            ],
        )
        .unwrap();
        let err = FrameView::new(&df, false).err().unwrap();
        assert!(matches!(
            err,
            Error::FrameSchema {
                column: "timestamp",
                expected: "Int64",
                ..
            }
        ));

        let df = DataFrame::new(
            1,
            vec![
                Column::new(USER.into(), ["u"]),
                Column::new(TIMESTAMP.into(), [1i64]),
            ],
        )
        .unwrap();
        let err = FrameView::new(&df, false).err().unwrap();
        assert!(
            matches!(err, Error::FrameSchema { column: "item", ref got, .. } if got == "missing")
        );

        let df = DataFrame::new(
            2,
            vec![
                Column::new(USER.into(), [Some("u"), None]),
                Column::new(ITEM.into(), ["i", "j"]),
                Column::new(TIMESTAMP.into(), [1i64, 2]),
            ],
        )
        .unwrap();
        let err = FrameView::new(&df, false).err().unwrap();
        assert!(matches!(
            err,
            Error::FrameNulls {
                column: "user",
                count: 1
            }
        ));

        let df = DataFrame::new(
            1,
            vec![
                Column::new(USER.into(), ["u"]),
                Column::new(ITEM.into(), ["i"]),
                Column::new(TIMESTAMP.into(), [1i64]),
            ],
        )
        .unwrap();
        assert!(FrameView::new(&df, false).unwrap().weight.is_none());
        let err = FrameView::new(&df, true).err().unwrap();
        assert!(matches!(
            err,
            Error::FrameSchema {
                column: "weight",
                ..
            }
        ));
    }
}
