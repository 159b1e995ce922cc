//! Parquet files through polars, validated row by row like the text formats.
//!
//! Ids may be strings or integers; timestamps integers, integral floats or numeric strings; ratings
//! any number. The "line" of a Parquet error is the 1-based row number.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::layout::resolve;
use super::{
    FileFormat, LoadOptions, Loaded, Row, Sink, float_timestamp, parse_id, parse_timestamp,
    parse_weight,
};
use crate::error::{Error, Result, RowProblem};

type Cells<'a, T> = Box<dyn Iterator<Item = std::result::Result<T, RowProblem>> + 'a>;

pub(super) fn load(path: &Path, options: &LoadOptions) -> Result<Loaded> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|source| Error::Parquet {
            path: path.to_path_buf(),
            source,
        })?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let layout = resolve(path, &names, true, options.columns.as_ref())?;
    let type_error = |i: usize, expected: &'static str| Error::ColumnType {
        file: path.to_path_buf(),
        column: names[i].clone(),
        dtype: df.columns()[i].dtype().to_string(),
        expected,
    };

    let id_column = |i: usize| -> Result<Column> {
        let col = &df.columns()[i];
        if col.dtype().is_string() || col.dtype().is_integer() {
            Ok(col.cast(&DataType::String)?)
        } else {
            Err(type_error(i, "string or integer"))
        }
    };
    let users = id_column(layout.user)?;
    let items = id_column(layout.item)?;
    let timestamps = numeric_column(&df, layout.timestamp, DataType::Int64)
        .ok_or_else(|| type_error(layout.timestamp, "integer, float or string"))??;
    let weights = match layout.weight {
        Some(w) => Some(
            numeric_column(&df, w, DataType::Float64)
                .ok_or_else(|| type_error(w, "number or string"))??,
        ),
        None => None,
    };

    let user_cells = id_cells(users.str()?);
    let item_cells = id_cells(items.str()?);
    let ts_cells: Cells<'_, i64> = match timestamps.dtype() {
        DataType::Int64 => Box::new(timestamps.i64()?.iter().map(|v| v.ok_or(RowProblem::Null))),
        DataType::Float64 => Box::new(timestamps.f64()?.iter().map(|v| {
            let v = v.ok_or(RowProblem::Null)?;
            float_timestamp(v).ok_or_else(|| RowProblem::NotAnInteger {
                value: v.to_string(),
            })
        })),
        _ => Box::new(
            timestamps
                .str()?
                .iter()
                .map(|v| v.ok_or(RowProblem::Null).and_then(parse_timestamp)),
        ),
    };
    let weight_cells: Cells<'_, f32> = match &weights {
        None => Box::new(std::iter::repeat_n(Ok(1.0), df.height())),
        Some(w) if w.dtype() == &DataType::Float64 => Box::new(w.f64()?.iter().map(|v| {
            let v = v.ok_or(RowProblem::Null)?;
            let f = v as f32;
            if f.is_finite() {
                Ok(f)
            } else {
                Err(RowProblem::NotFinite {
                    value: v.to_string(),
                })
            }
        })),
        Some(w) => Box::new(
            w.str()?
                .iter()
                .map(|v| v.ok_or(RowProblem::Null).and_then(parse_weight)),
        ),
    };

    let weight_index = layout.weight.unwrap_or(0);
    let (ui, ii, ti) = (layout.user, layout.item, layout.timestamp);
    let mut sink = Sink::new(path, layout, options)?;
    let cells = user_cells.zip(item_cells).zip(ts_cells).zip(weight_cells);
    for (row, (((user, item), timestamp), weight)) in cells.enumerate() {
        let parsed = (|| {
            Ok(Row {
                user: user.map_err(|p| (ui, p))?,
                item: item.map_err(|p| (ii, p))?,
                timestamp: timestamp.map_err(|p| (ti, p))?,
                weight: weight.map_err(|p| (weight_index, p))?,
            })
        })();
        sink.accept(row as u64 + 1, parsed)?;
    }
    sink.finish(FileFormat::Parquet)
}

fn id_cells(ca: &StringChunked) -> Cells<'_, &str> {
    Box::new(
        ca.iter()
            .map(|v| v.ok_or(RowProblem::Null).and_then(parse_id)),
    )
}

/// The column cast for parsing: integers to `integer_type`, floats to `Float64`, strings kept.
/// `None` for any other type.
fn numeric_column(df: &DataFrame, i: usize, integer_type: DataType) -> Option<Result<Column>> {
    let col = &df.columns()[i];
    let dtype = col.dtype();
    let target = if dtype.is_integer() {
        integer_type
    } else if dtype.is_float() {
        DataType::Float64
    } else if dtype.is_string() {
        DataType::String
    } else {
        return None;
    };
    Some(col.cast(&target).map_err(Error::from))
}
