//! The pipeline's error type.

use std::path::PathBuf;

/// Everything that can make a pipeline run fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Loading, fetching, generating or splitting the data failed (carries the file, line and column
    /// of a malformed row when there is one).
    #[error(transparent)]
    Dataset(#[from] datasets::Error),
    /// Training, scoring, indexing or publishing the model failed.
    #[error(transparent)]
    Model(#[from] models::error::Error),
    /// A column of the canonical interaction frame is missing or has the wrong type.
    #[error("column `{column}` of the interaction frame: {reason}")]
    Column {
        /// The column name.
        column: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A [`crate::RowSource`] could not read its rows.
    #[error("reading {source_name}: {message}")]
    Source {
        /// The source's description.
        source_name: String,
        /// Why.
        message: String,
    },
    /// The run was cancelled ([`crate::Cancel`]); nothing was published.
    #[error("cancelled {at}: nothing was published")]
    Cancelled {
        /// Where it stopped: `before the <stage> stage`, or inside a stage that checks the flag
        /// itself (between two tuning trials, two index batches).
        at: String,
    },
    /// The Spark trainer could not run, failed, or wrote factors that do not fit the data
    /// ([`crate::spark`]).
    #[error("Spark training failed: {message}")]
    Spark {
        /// What went wrong, in a sentence (with the job's log when it ran).
        message: String,
    },
    /// A configuration field has an invalid value.
    #[error("invalid configuration `{field}`: {reason}")]
    InvalidConfig {
        /// The field of [`crate::RunConfig`].
        field: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// No interaction is left after a stage (for example every rating is below `min_rating`).
    #[error("no interactions left after {stage}")]
    EmptyData {
        /// The stage that left nothing.
        stage: &'static str,
    },
    /// The split produced no test interaction, so nothing can be evaluated (every user has fewer than
    /// five interactions).
    #[error(
        "the {split} split has no held-out interactions: every user has fewer than 5 interactions"
    )]
    NothingToEvaluate {
        /// `test` or `validation`.
        split: &'static str,
    },
    /// A raw id contains a tab, a newline or a carriage return and cannot be written to a TSV export.
    #[error("raw {kind} id {id:?} contains a tab or a line break and cannot be exported as TSV")]
    UnexportableId {
        /// `user` or `item`.
        kind: &'static str,
        /// The offending id.
        id: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Drawing a plot failed.
    #[error("drawing the {plot} plot failed: {message}")]
    Plot {
        /// The plot.
        plot: &'static str,
        /// plotters' message.
        message: String,
    },
    /// A matrix that must be symmetric positive definite is not, numerically (EASE's Gram matrix).
    #[error("{what} is not positive definite (pivot {pivot} of {size})")]
    NotPositiveDefinite {
        /// The matrix.
        what: &'static str,
        /// The first row whose pivot is not positive.
        pivot: usize,
        /// The matrix's size.
        size: usize,
    },
    /// Serialising the report or the manifest metrics failed.
    #[error("serialising JSON failed: {0}")]
    Json(#[from] serde_json::Error),
    /// Formatting the wall-clock time failed.
    #[error("formatting the time failed: {0}")]
    Time(#[from] time::error::Format),
}

/// The pipeline's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
