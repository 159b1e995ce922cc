//! The offline pipeline of Social Live: the stages that turn interaction data into a published model.
//!
//! ```text
//! load → split → (tune) → train → evaluate → (export) → content encoder → index → gate → report → publish
//! ```
//!
//! [`run()`] does it all from a [`RunConfig`]: it loads the interactions (MovieLens-100K, fetched when
//! missing; the seeded synthetic social network; or any CSV/TSV/Parquet log), applies the temporal
//! split of `docs/EVALUATION.md`, optionally picks ALS hyper-parameters on a validation split cut from
//! train, trains implicit ALS, scores it on test beside MostPopular, item-kNN, EASE^R and Random
//! (with bootstrap confidence intervals, the spread over training seeds and per-segment metrics),
//! fits the content encoder (post features → item vectors) when the data has post features and
//! scores it on held-out posts, builds an HNSW index over the item vectors and measures its recall against brute force, and publishes a
//! versioned artifact with a run report (`report.json`, `report.md`, SVG plots). The promotion
//! gate ([`gate`]) scores it beside the published model on a recent holdout first: a version it
//! rejects is kept for inspection with `gate.json` saying why, and the current one stays.
//!
//! The stages are public modules so that benches and comparisons can run them one at a time:
//! [`run::prepare`] loads and splits, [`run::fit_and_evaluate`] trains and scores without publishing,
//! and [`metrics`] holds the protocol's metrics as pure functions.
//!
//! ```no_run
//! use pipeline::{DatasetSource, RunConfig};
//!
//! let config = RunConfig {
//!     dataset: DatasetSource::Ml100k,
//!     data_dir: "data".into(),
//!     ..RunConfig::default()
//! };
//! let outcome = pipeline::run(&config)?;
//! println!("{}: NDCG@10 {:.4}", outcome.version, outcome.report.evaluation.model.metrics.ndcg);
//! # Ok::<(), pipeline::Error>(())
//! ```

pub mod baselines;
pub mod config;
pub mod content;
pub mod error;
pub mod evaluate;
pub mod export;
pub mod gate;
pub mod index;
pub mod index_map;
pub mod interactions;
pub mod load;
pub mod metrics;
mod progress;
pub mod publish;
pub mod report;
pub mod run;
pub mod segments;
pub mod spark;
pub mod split;
pub mod train;
pub mod tune;
pub mod uncertainty;

pub use config::{
    Cancel, ContentConfig, DatasetSource, DedupPolicy, EvaluationConfig, RowSink, RowSource, Rows,
    RunConfig, Weighting,
};
pub use error::{Error, Result};
pub use evaluate::UserSample;
pub use gate::GateConfig;
pub use report::Report;
pub use run::{RunOutcome, fit_and_evaluate, prepare, run};
pub use spark::{SparkConfig, Trainer};
pub use tune::{SearchSpace, TuneConfig};
