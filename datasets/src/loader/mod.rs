//! The generic interaction-log loader: CSV, TSV, MovieLens `::` files and Parquet into the canonical
//! frame (`user: String`, `item: String`, `timestamp: Int64`, `weight: Float32`).
//!
//! Column names come from [`LoadOptions::columns`] or are recognised: recbole `.inter`
//! (`user_id:token item_id:token rating:float timestamp:float`), GroupLens `u.data` (tab-separated,
//! no header: user item rating timestamp), MovieLens `ratings.csv` (`userId,movieId,rating,timestamp`),
//! MovieLens-1M `ratings.dat` (`::`-separated, no header) and any header with user / item / timestamp
//! (and optional rating or weight) columns.
//!
//! Every row is validated: a wrong number of fields, an empty user or item, a rating or timestamp that
//! is not a number, a fractional timestamp (`881250949.0` is fine, `1.5` is not) or a null is an
//! [`Error::MalformedRow`] naming the file, the 1-based line (counting the header) and the column, or,
//! with [`LoadOptions::skip_bad_rows`], the row is skipped, counted in [`Loaded::skipped_rows`] and
//! logged. Text files are read with the `csv` crate (exact line numbers, flexible field counts),
//! Parquet through polars.

mod layout;
mod parquet;
mod text;

use std::io::Read;
use std::path::{Path, PathBuf};

use polars::prelude::DataFrame;

use crate::error::{Error, Result, RowProblem};
use crate::frame::FrameBuilder;
use layout::Resolved;

/// The file format. [`FileFormat::Auto`] (the default) decides from the Parquet magic bytes, the
/// extension (`.csv`; `.tsv`, `.tab`, `.inter`, `.data`; `.parquet`, `.pq`) or else the first line
/// (`::`, tab or comma).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FileFormat {
    /// Decide from the file.
    #[default]
    Auto,
    /// Comma-separated, with `"` quoting.
    Csv,
    /// Tab-separated, no quoting.
    Tsv,
    /// `::`-separated, as MovieLens-1M/10M `ratings.dat`.
    Dat,
    /// Apache Parquet.
    Parquet,
}

/// Which columns hold what. Matched exactly, else case- and punctuation-insensitively (`userId`
/// finds `user_id:token`). For files without a header, use `column_1` … `column_N` or `1` … `N`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnNames {
    /// The user id column.
    pub user: String,
    /// The item id column.
    pub item: String,
    /// The timestamp column (integer seconds; integral floats accepted).
    pub timestamp: String,
    /// The rating or weight column; `None` gives every row weight 1.0.
    pub weight: Option<String>,
}

/// How to load a file. The default detects everything and fails on the first malformed row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadOptions {
    /// The format (default [`FileFormat::Auto`]).
    pub format: FileFormat,
    /// The columns; `None` (default) recognises the known layouts.
    pub columns: Option<ColumnNames>,
    /// Whether a text file starts with a header; `None` (default) decides from the first line (a
    /// header is a line naming the given user column, or recognisable user and item columns).
    pub has_header: Option<bool>,
    /// Skip and count malformed rows instead of failing (default `false`).
    pub skip_bad_rows: bool,
    /// Keep only rows with rating >= this (the *r>=4* variant of EVALUATION.md; applied here, before
    /// any split). Default `None`.
    pub min_rating: Option<f32>,
}

/// A loaded interaction log.
#[derive(Debug)]
pub struct Loaded {
    /// The canonical frame, rows in file order.
    pub frame: DataFrame,
    /// Malformed rows skipped (only with [`LoadOptions::skip_bad_rows`]).
    pub skipped_rows: usize,
    /// Rows dropped by [`LoadOptions::min_rating`].
    pub below_min_rating: usize,
    /// The file read.
    pub source: PathBuf,
    /// The format it was read as (never `Auto`).
    pub format: FileFormat,
    /// The columns used, named as in the file (role names for headerless files).
    pub columns: ColumnNames,
}

/// Loads an interaction log into the canonical frame.
///
/// # Errors
///
/// [`Error::Io`] / [`Error::Csv`] / [`Error::Parquet`] if the file cannot be read;
/// [`Error::UnknownFormat`], [`Error::UnknownLayout`], [`Error::MissingColumn`],
/// [`Error::ColumnType`] if its structure is not understood; [`Error::EmptyFile`] without data rows;
/// [`Error::MalformedRow`] for the first bad row unless `skip_bad_rows`; [`Error::InvalidMinRating`]
/// and [`Error::NoRatingColumn`] for an unusable `min_rating`.
pub fn load_interactions(path: &Path, options: &LoadOptions) -> Result<Loaded> {
    if let Some(value) = options.min_rating
        && !value.is_finite()
    {
        return Err(Error::InvalidMinRating { value });
    }
    let format = match options.format {
        FileFormat::Auto => detect_format(path)?,
        f => f,
    };
    let loaded = match format {
        FileFormat::Parquet => parquet::load(path, options)?,
        _ => text::load(path, format, options)?,
    };
    tracing::info!(
        file = %path.display(),
        rows = loaded.frame.height(),
        skipped = loaded.skipped_rows,
        below_min_rating = loaded.below_min_rating,
        "loaded interactions"
    );
    Ok(loaded)
}

fn detect_format(path: &Path) -> Result<FileFormat> {
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    if head.starts_with(b"PAR1") {
        return Ok(FileFormat::Parquet);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("parquet" | "pq") => return Ok(FileFormat::Parquet),
        Some("csv") => return Ok(FileFormat::Csv),
        Some("tsv" | "tab" | "inter" | "data") => return Ok(FileFormat::Tsv),
        _ => {}
    }
    let first = head
        .split(|&b| b == b'\n')
        .find(|l| !l.trim_ascii().is_empty())
        .unwrap_or_default();
    if first.windows(2).any(|w| w == b"::") {
        Ok(FileFormat::Dat)
    } else if first.contains(&b'\t') {
        Ok(FileFormat::Tsv)
    } else if first.contains(&b',') {
        Ok(FileFormat::Csv)
    } else {
        Err(Error::UnknownFormat {
            file: path.to_path_buf(),
        })
    }
}

/// One validated row.
struct Row<'r> {
    user: &'r str,
    item: &'r str,
    timestamp: i64,
    weight: f32,
}

/// Receives rows, applies `skip_bad_rows` and `min_rating`, builds the frame.
struct Sink<'a> {
    file: &'a Path,
    layout: Resolved,
    skip_bad_rows: bool,
    min_rating: Option<f32>,
    builder: FrameBuilder,
    rows_seen: usize,
    skipped: usize,
    below_min: usize,
}

/// How many skipped rows are logged one by one before only the total is.
const LOGGED_SKIPS: usize = 10;

impl<'a> Sink<'a> {
    fn new(file: &'a Path, layout: Resolved, options: &LoadOptions) -> Result<Self> {
        if options.min_rating.is_some() && layout.weight.is_none() {
            return Err(Error::NoRatingColumn {
                file: file.to_path_buf(),
            });
        }
        Ok(Self {
            file,
            layout,
            skip_bad_rows: options.skip_bad_rows,
            min_rating: options.min_rating,
            builder: FrameBuilder::with_capacity(1024),
            rows_seen: 0,
            skipped: 0,
            below_min: 0,
        })
    }

    /// Takes one parsed row, or the (column index, problem) that made it malformed.
    fn accept(
        &mut self,
        line: u64,
        row: std::result::Result<Row<'_>, (usize, RowProblem)>,
    ) -> Result<()> {
        self.rows_seen += 1;
        match row {
            Ok(row) => {
                if self.min_rating.is_some_and(|m| row.weight < m) {
                    self.below_min += 1;
                } else {
                    self.builder
                        .push(row.user, row.item, row.timestamp, row.weight);
                }
                Ok(())
            }
            Err((column, problem)) => {
                let column = self
                    .layout
                    .names
                    .get(column)
                    .cloned()
                    .unwrap_or_else(|| format!("column_{}", column + 1));
                let err = Error::MalformedRow {
                    file: self.file.to_path_buf(),
                    line,
                    column,
                    problem,
                };
                if !self.skip_bad_rows {
                    return Err(err);
                }
                self.skipped += 1;
                if self.skipped <= LOGGED_SKIPS {
                    tracing::warn!(error = %err, "skipping malformed row");
                }
                Ok(())
            }
        }
    }

    fn finish(self, format: FileFormat) -> Result<Loaded> {
        if self.rows_seen == 0 {
            return Err(Error::EmptyFile {
                file: self.file.to_path_buf(),
            });
        }
        if self.skipped > 0 {
            tracing::warn!(file = %self.file.display(), skipped = self.skipped, "skipped malformed rows");
        }
        Ok(Loaded {
            frame: self.builder.finish()?,
            skipped_rows: self.skipped,
            below_min_rating: self.below_min,
            source: self.file.to_path_buf(),
            format,
            columns: self.layout.column_names(),
        })
    }
}

/// An id: trimmed, non-empty.
fn parse_id(raw: &str) -> std::result::Result<&str, RowProblem> {
    let id = raw.trim();
    if id.is_empty() {
        Err(RowProblem::Empty)
    } else {
        Ok(id)
    }
}

/// Integer seconds; integral floats (`881250949.0`, `8.8125e8`) are accepted.
fn parse_timestamp(raw: &str) -> std::result::Result<i64, RowProblem> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(RowProblem::Empty);
    }
    if let Ok(v) = s.parse::<i64>() {
        return Ok(v);
    }
    match s.parse::<f64>() {
        Ok(v) => float_timestamp(v).ok_or_else(|| RowProblem::NotAnInteger {
            value: s.to_owned(),
        }),
        Err(_) => Err(RowProblem::NotANumber {
            value: s.to_owned(),
        }),
    }
}

/// `v` as `i64` if it is finite, integral and in range.
fn float_timestamp(v: f64) -> Option<i64> {
    // 2^63 is exactly representable; every float below it in magnitude and integral fits an i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (v.is_finite() && v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v)).then_some(v as i64)
}

/// A finite rating.
fn parse_weight(raw: &str) -> std::result::Result<f32, RowProblem> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(RowProblem::Empty);
    }
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(RowProblem::NotFinite {
            value: s.to_owned(),
        }),
        Err(_) => Err(RowProblem::NotANumber {
            value: s.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_accept_integral_floats_only() {
        assert_eq!(parse_timestamp(" 881250949 "), Ok(881_250_949));
        assert_eq!(parse_timestamp("881250949.0"), Ok(881_250_949));
        assert_eq!(parse_timestamp("8.8125e8"), Ok(881_250_000));
        assert_eq!(parse_timestamp("-5"), Ok(-5));
        assert_eq!(
            parse_timestamp("1.5"),
            Err(RowProblem::NotAnInteger {
                value: "1.5".into()
            })
        );
        assert_eq!(
            parse_timestamp("1e30"),
            Err(RowProblem::NotAnInteger {
                value: "1e30".into()
            })
        );
        assert_eq!(
            parse_timestamp("NaN"),
            Err(RowProblem::NotAnInteger {
                value: "NaN".into()
            })
        );
        assert_eq!(
            parse_timestamp("2020-01-01"),
            Err(RowProblem::NotANumber {
                value: "2020-01-01".into()
            })
        );
        assert_eq!(parse_timestamp(""), Err(RowProblem::Empty));
    }

    #[test]
    fn weights_must_be_finite_numbers() {
        assert_eq!(parse_weight("3.5"), Ok(3.5));
        assert_eq!(
            parse_weight("inf"),
            Err(RowProblem::NotFinite {
                value: "inf".into()
            })
        );
        assert_eq!(
            parse_weight("five"),
            Err(RowProblem::NotANumber {
                value: "five".into()
            })
        );
        assert_eq!(parse_weight(" "), Err(RowProblem::Empty));
        assert_eq!(parse_id("  u1 "), Ok("u1"));
        assert_eq!(parse_id("\t"), Err(RowProblem::Empty));
    }

    #[test]
    fn format_is_detected_from_magic_extension_or_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &[u8], FileFormat); 6] = [
            ("a.bin", b"PAR1xxxx", FileFormat::Parquet),
            ("a.csv", b"1\t2\t3\n", FileFormat::Csv),
            ("u.data", b"1 2 3\n", FileFormat::Tsv),
            ("ratings.dat", b"1::2::5::9\n", FileFormat::Dat),
            ("log.txt", b"\n1\t2\t3\n", FileFormat::Tsv),
            ("log", b"u,i,t\n", FileFormat::Csv),
        ];
        for (name, bytes, want) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(detect_format(&path).unwrap(), want, "{name}");
        }
        let path = dir.path().join("odd");
        std::fs::write(&path, b"1 2 3\n").unwrap();
        assert!(matches!(
            detect_format(&path),
            Err(Error::UnknownFormat { .. })
        ));
    }

    #[test]
    fn a_non_finite_min_rating_is_rejected() {
        let opts = LoadOptions {
            min_rating: Some(f32::NAN),
            ..LoadOptions::default()
        };
        let err = load_interactions(Path::new("whatever.csv"), &opts).unwrap_err();
        assert!(matches!(err, Error::InvalidMinRating { value } if value.is_nan()));
    }
}
