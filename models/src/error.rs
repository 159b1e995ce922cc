//! The crate's error type.
//!
//! One enum for the whole crate, with structured fields so callers can match on what went wrong
//! (and tests can assert it) instead of parsing messages. Parameter errors come first, one variant
//! per invalid parameter, in the linfa style.

use std::path::PathBuf;

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `models`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- ALS parameters (`AlsParams::check`) -------------------------------------------------
    /// `factors` was 0.
    #[error("factors must be at least 1")]
    ZeroFactors,
    /// `regularization` was negative, NaN or infinite.
    #[error("regularization must be finite and >= 0, got {got}")]
    InvalidRegularization {
        /// The rejected value.
        got: f32,
    },
    /// `alpha` was negative, NaN or infinite.
    #[error("alpha must be finite and >= 0, got {got}")]
    InvalidAlpha {
        /// The rejected value.
        got: f32,
    },
    /// `iterations` was 0.
    #[error("iterations must be at least 1")]
    ZeroIterations,
    /// `cg_steps` was 0 while the conjugate-gradient solver was selected (`exact == false`).
    #[error("cg_steps must be at least 1 when exact is false")]
    ZeroCgSteps,

    // ---- Content-encoder parameters (`ContentParams::check`) ---------------------------------
    /// `buckets` was 0 or above `ContentParams::MAX_BUCKETS`.
    #[error("buckets must be in 1..={max}, got {got}", max = crate::content::ContentParams::MAX_BUCKETS)]
    InvalidBuckets {
        /// The rejected value.
        got: usize,
    },
    /// The ridge penalty grid `lambdas` was empty.
    #[error("the ridge penalty grid (lambdas) must not be empty")]
    EmptyLambdaGrid,
    /// A ridge penalty was zero, negative, NaN or infinite.
    #[error("ridge penalty (lambda) must be finite and > 0, got {got}")]
    InvalidLambda {
        /// The rejected value.
        got: f32,
    },
    /// `validation_fraction` was not strictly between 0 and 1.
    #[error("validation_fraction must be strictly between 0 and 1, got {got}")]
    InvalidValidationFraction {
        /// The rejected value.
        got: f64,
    },

    // ---- ANN configuration (`AnnConfig::check`) ----------------------------------------------
    /// `max_connections` was outside `1..=255` (hnsw_rs stores it in one byte).
    #[error("max_connections must be in 1..=255, got {got}")]
    InvalidMaxConnections {
        /// The rejected value.
        got: usize,
    },
    /// `ef_construction` was 0.
    #[error("ef_construction must be at least 1")]
    ZeroEfConstruction,
    /// `ef_search` was 0.
    #[error("ef_search must be at least 1")]
    ZeroEfSearch,

    // ---- Input data -------------------------------------------------------------------------
    /// An index (row, column, item, ...) was not below its bound.
    #[error("{what} index {index} out of bounds (must be < {bound})")]
    IndexOutOfBounds {
        /// Which kind of index.
        what: &'static str,
        /// The offending index.
        index: usize,
        /// The exclusive upper bound.
        bound: usize,
    },
    /// A matrix dimension does not fit the `u32` indices used by [`CsrMatrix`](crate::sparse::CsrMatrix).
    #[error("{what} = {got} exceeds the maximum {max}")]
    DimensionTooLarge {
        /// Which dimension.
        what: &'static str,
        /// The requested size.
        got: usize,
        /// The largest size supported.
        max: usize,
    },
    /// A value that must be finite was NaN or infinite.
    #[error("non-finite value {value} at ({row}, {col}) in {what}")]
    NonFiniteValue {
        /// Which input.
        what: &'static str,
        /// Row of the value.
        row: usize,
        /// Column of the value.
        col: usize,
        /// The value.
        value: f32,
    },
    /// An interaction weight was zero or negative (confidence `1 + alpha * w` needs `w > 0`).
    #[error("interaction weight at ({row}, {col}) must be > 0, got {value}")]
    NonPositiveWeight {
        /// Row (user) of the weight.
        row: usize,
        /// Column (item) of the weight.
        col: usize,
        /// The weight.
        value: f32,
    },
    /// A matrix with no rows or no columns was given where one is needed.
    #[error("{what} is empty ({rows} x {cols})")]
    EmptyMatrix {
        /// Which input.
        what: &'static str,
        /// Number of rows.
        rows: usize,
        /// Number of columns.
        cols: usize,
    },
    /// Two inputs that must have the same length do not.
    #[error("length mismatch for {what}: expected {expected}, got {got}")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// The length required.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// A linear system was not positive definite (e.g. `regularization == 0` with fewer
    /// interacting vectors than factors).
    #[error("system is not positive definite (pivot {pivot})")]
    NotPositiveDefinite {
        /// The Cholesky pivot at which the factorisation broke down.
        pivot: usize,
    },

    /// Too few rows to do what was asked.
    #[error("not enough {what}: need at least {need}, got {got}")]
    NotEnoughItems {
        /// What was counted.
        what: &'static str,
        /// The minimum.
        need: usize,
        /// How many there were.
        got: usize,
    },
    /// No post given to the content encoder has a topic or a word, so there is nothing to fit.
    #[error("no post has a topic or a word: the content encoder has nothing to learn from")]
    NoContentFeatures,

    // ---- ANN index --------------------------------------------------------------------------
    /// The ANN index was asked to hold no vectors.
    #[error("cannot build an index over zero vectors")]
    EmptyIndex,
    /// A file the index dump would write already exists; dumps never overwrite.
    #[error("refusing to overwrite existing file {path}")]
    FileExists {
        /// The existing file.
        path: PathBuf,
    },
    /// hnsw_rs reported an error.
    #[error("hnsw: {message}")]
    Hnsw {
        /// hnsw_rs's message.
        message: String,
    },
    /// An index dump is structurally invalid (checked before hnsw_rs reads it, because its
    /// reader panics or exits on malformed input).
    #[error("corrupt index file {path}: {reason}")]
    CorruptIndex {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A reloaded index does not match the item vectors or configuration it is loaded with.
    #[error("index does not match its inputs: {what}: expected {expected}, got {got}")]
    IndexMismatch {
        /// What differs.
        what: &'static str,
        /// The value implied by the inputs.
        expected: String,
        /// The value found in the index.
        got: String,
    },

    // ---- Artifact ---------------------------------------------------------------------------
    /// An I/O operation failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file the artifact needs is not there.
    #[error("missing file {path}")]
    MissingFile {
        /// The missing file.
        path: PathBuf,
    },
    /// The manifest does not list a file every artifact must have.
    #[error("manifest does not list required file {file}")]
    MissingManifestEntry {
        /// The required file name.
        file: String,
    },
    /// A file's SHA-256 differs from the one recorded in the manifest.
    #[error("checksum mismatch for {file}: expected {expected}, got {got}")]
    ChecksumMismatch {
        /// The file name (relative to the version directory).
        file: String,
        /// SHA-256 hex recorded in the manifest.
        expected: String,
        /// SHA-256 hex of the file on disk.
        got: String,
    },
    /// The manifest's schema version is not the one this code reads and writes.
    #[error("unsupported artifact schema version {got} (expected {expected})")]
    SchemaVersion {
        /// [`SCHEMA_VERSION`](crate::artifact::SCHEMA_VERSION).
        expected: u32,
        /// The version found.
        got: u32,
    },
    /// Two parts of an artifact disagree on a size.
    #[error("dimension mismatch for {what}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// What was compared.
        what: &'static str,
        /// The size implied by the reference part.
        expected: usize,
        /// The size found.
        got: usize,
    },
    /// `manifest.json` is not valid JSON or does not have the manifest's shape.
    #[error("malformed manifest {path}: {source}")]
    MalformedManifest {
        /// The manifest file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A `.npy` file is malformed or not of the expected type or shape.
    #[error("invalid npy file {path}: {reason}")]
    Npy {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The content encoder's files are inconsistent or malformed (beyond their shapes, which are
    /// reported as [`Error::DimensionMismatch`]).
    #[error("invalid content encoder in {path}: {reason}")]
    MalformedContentEncoder {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An id list file is malformed.
    #[error("invalid id file {path}: {reason}")]
    MalformedIds {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An id cannot be stored one per line (it contains a line break).
    #[error("{what} id at index {index} contains a line break")]
    InvalidId {
        /// `"user"` or `"item"`.
        what: &'static str,
        /// Position of the id.
        index: usize,
    },
    /// A version directory with this name already exists; versions are never overwritten.
    #[error("model version {version:?} already exists")]
    VersionExists {
        /// The version name.
        version: String,
    },
    /// A version name is not a safe directory name (`[A-Za-z0-9._-]+`, not starting with `.`,
    /// not `current`).
    #[error("invalid version name {version:?}")]
    InvalidVersionName {
        /// The rejected name.
        version: String,
    },
    /// A file name given to the artifact writer is not a plain file name or collides with an
    /// artifact file.
    #[error("invalid artifact file name {name:?}")]
    InvalidFileName {
        /// The rejected name.
        name: String,
    },
    /// The `current` pointer does not name a valid version.
    #[error("invalid current pointer {path}: {content:?}")]
    InvalidPointer {
        /// The pointer file.
        path: PathBuf,
        /// Its content.
        content: String,
    },
    /// There is no `current` pointer (nothing was published yet).
    #[error("no published model in {models_dir}")]
    NoCurrentVersion {
        /// The models directory.
        models_dir: PathBuf,
    },
    /// A version named by a caller (to make current or to pin) is not kept.
    #[error("no kept model version {version:?}")]
    UnknownVersion {
        /// The name asked for.
        version: String,
    },
    /// The current version cannot be removed (retention, or by hand).
    #[error("model version {version:?} is current")]
    VersionIsCurrent {
        /// The version.
        version: String,
    },
    /// A version's gate record (`gate.json`) cannot be parsed.
    #[error("malformed gate record {path}: {source}")]
    MalformedGate {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
