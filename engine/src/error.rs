//! The engine's error type.

use thiserror::Error;

/// Everything that can go wrong in the engine.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The model artifact could not be loaded or used (bad files, dimensions, fold-in inputs).
    #[error(transparent)]
    Model(#[from] models::error::Error),
    /// A feed cursor that this engine did not produce, or that was tampered with.
    #[error("invalid feed cursor: {reason}")]
    InvalidCursor {
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A cursor produced for another user's feed.
    #[error("feed cursor belongs to another user")]
    CursorUserMismatch,
    /// A feed page size of 0 or above [`FeedConfig::max_page_size`](crate::FeedConfig::max_page_size).
    #[error("page size {got} outside 1..={max}")]
    InvalidPageSize {
        /// The requested size.
        got: usize,
        /// The largest size allowed.
        max: usize,
    },
    /// A [`FeedConfig`](crate::FeedConfig) field with an invalid value.
    #[error("invalid feed config: {field} {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// `Result` with the engine's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
