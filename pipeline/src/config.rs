//! What a pipeline run does: [`RunConfig`] and its parts.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use datasets::PostRecord;
use datasets::frame::FrameBuilder;
use datasets::loader::LoadOptions;
use datasets::synthetic::SyntheticConfig;
use models::als::AlsParams;
use models::ann::AnnConfig;
use models::content::ContentParams;
use serde::{Deserialize, Serialize};

use crate::baselines::BaselineConfig;
use crate::error::{Error, Result};
use crate::gate::GateConfig;
use crate::segments::SegmentConfig;
use crate::spark::Trainer;
use crate::tune::TuneConfig;
use crate::uncertainty::BootstrapConfig;

/// Where the interactions come from.
#[derive(Clone, Debug, PartialEq)]
pub enum DatasetSource {
    /// MovieLens-100K under `<data_dir>/datasets/ml-100k/`, fetched first when it is missing (so the
    /// README's first command works on a fresh machine).
    Ml100k,
    /// The seeded synthetic social network, generated in memory; its views, likes and comments become
    /// interactions weighted by event type.
    Synthetic(SyntheticConfig),
    /// A synthetic network `datasets generate` wrote into `dir` (its Parquet tables), read back:
    /// the same interactions, weights and post features as [`Self::Synthetic`] with `config`.
    Generated {
        /// The directory.
        dir: PathBuf,
        /// The parameters it was generated with (its manifest).
        config: SyntheticConfig,
    },
    /// Rows the caller reads from where they live (the binary's `--dataset db` reads the
    /// database), pushed straight into the frame in the load stage: building the configuration
    /// reads nothing.
    Rows(Rows),
    /// An interaction log (CSV, TSV or Parquet) read by `datasets::loader`.
    File {
        /// The file.
        path: PathBuf,
        /// Format, column names and bad-row policy.
        options: LoadOptions,
    },
}

impl DatasetSource {
    /// A short human description: `ml-100k`, the path, or the synthetic network's place,
    /// generator seed and sizes.
    pub fn describe(&self) -> String {
        let network = |c: &SyntheticConfig| {
            format!(
                "seed {}, {} users, {} posts, {} interactions",
                c.seed, c.users, c.posts, c.interactions
            )
        };
        match self {
            Self::Ml100k => "ml-100k".to_owned(),
            Self::Synthetic(c) => format!("synthetic network generated in memory ({})", network(c)),
            Self::Generated { dir, config } => {
                format!(
                    "synthetic network in {} ({})",
                    dir.display(),
                    network(config)
                )
            }
            Self::Rows(rows) => rows.0.describe(),
            Self::File { path, .. } => path.display().to_string(),
        }
    }
}

/// Interactions (and post features) read by the pipeline's caller, for
/// [`DatasetSource::Rows`].
pub trait RowSource: Send + Sync + std::fmt::Debug {
    /// A short description for the report and the log (never a password).
    fn describe(&self) -> String;

    /// Pushes every interaction into `sink` and returns the posts' features, when the source
    /// has them (the content encoder's input). Called once per run, in the load stage.
    ///
    /// # Errors
    ///
    /// Why the rows cannot be read, in a sentence.
    fn read(&self, sink: &mut RowSink) -> std::result::Result<Option<Vec<PostRecord>>, String>;
}

/// A shared [`RowSource`]; equal when it is the same source.
#[derive(Clone, Debug)]
pub struct Rows(pub Arc<dyn RowSource>);

impl PartialEq for Rows {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Where a [`RowSource`] puts its interactions: the canonical frame, built as they arrive.
#[allow(missing_debug_implementations)]
pub struct RowSink {
    frame: FrameBuilder,
    user: String,
    item: String,
}

impl RowSink {
    pub(crate) fn new() -> Self {
        Self {
            frame: FrameBuilder::with_capacity(1024),
            user: String::new(),
            item: String::new(),
        }
    }

    /// Appends one interaction (integer ids, as the database keeps them).
    pub fn push(&mut self, user: i64, item: i64, timestamp: i64, weight: f32) {
        use std::fmt::Write as _;
        self.user.clear();
        self.item.clear();
        let _ = write!(self.user, "{user}");
        let _ = write!(self.item, "{item}");
        self.frame.push(&self.user, &self.item, timestamp, weight);
    }

    /// Rows pushed so far.
    pub fn len(&self) -> usize {
        self.frame.len()
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.frame.is_empty()
    }

    pub(crate) fn finish(self) -> datasets::Result<polars::prelude::DataFrame> {
        self.frame.finish()
    }
}

/// The weight each training interaction gets (ALS confidence is `1 + alpha * weight`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// Every interaction weighs 1: the protocol's "every rating is a positive interaction". The default.
    #[default]
    Binary,
    /// The rating or event weight from the data.
    Raw,
}

/// How duplicate (user, item) pairs are merged before the split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupPolicy {
    /// `SumWeights` for the synthetic social events (a view, a like and a comment on one post are one
    /// stronger interaction), `KeepLatest` for every other source. The default.
    #[default]
    Auto,
    /// Keep the latest interaction of each pair (the protocol's rule for ratings).
    KeepLatest,
    /// Sum the weights and keep the latest timestamp.
    SumWeights,
}

/// The content-encoder stage: a map from post features (topics, text) to the item vectors, fitted
/// after ALS on the trained items and published in the artifact (see [`crate::content`]).
///
/// `Default` gives: enabled, [`ContentParams::default`], a held-out share of 0.2.
#[derive(Clone, Debug, PartialEq)]
pub struct ContentConfig {
    /// Fit, evaluate and publish the encoder when the data has post features. Default `true`.
    pub enabled: bool,
    /// The encoder's hyper-parameters; its seed also draws the held-out posts. Default
    /// [`ContentParams::default`].
    pub params: ContentParams,
    /// Share of the trained posts hidden from the encoder's fit (penalty choice included) and
    /// used to evaluate it against the author-mean and topic-mean baselines. Default 0.2.
    pub held_out_fraction: f64,
}

impl Default for ContentConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            params: ContentParams::default(),
            held_out_fraction: 0.2,
        }
    }
}

/// What the evaluation reports beyond the protocol's metrics: intervals, seed spread, segments and
/// baselines.
///
/// `Default` gives [`BootstrapConfig::default`] (1,000 resamples, 95 %, seed 42), 3 ALS training seeds,
/// [`SegmentConfig::default`], the baselines with [`BaselineConfig::default`] and every user with
/// test items evaluated. [`EvaluationConfig::nightly`] is the scheduled job's cheaper profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluationConfig {
    /// The bootstrap over users behind every confidence interval.
    pub bootstrap: BootstrapConfig,
    /// How many ALS fits, with seeds `seed, seed + 1, …`, the seed spread of NDCG@K and Recall@K
    /// is measured over (default 3; 1 reports only the trained model, no spread).
    pub seed_runs: usize,
    /// The user activity and item popularity segments.
    pub segments: SegmentConfig,
    /// Item-kNN, EASE and Random.
    pub baselines: BaselineConfig,
    /// Score the baselines (default `true`). Off, the report lists each as skipped, and only
    /// MostPopular stands beside the model.
    #[serde(default = "enabled")]
    pub run_baselines: bool,
    /// With the Spark trainer, also fit the native ALS with the same parameters and score it
    /// beside the model as `ALS (native)` (default `true`; `false` in the nightly profile, where a
    /// second training is what Spark is there to avoid). Independent of `run_baselines`.
    #[serde(default = "enabled")]
    pub compare_native: bool,
    /// Evaluate at most this many of the users with test items, a uniform sample drawn with the
    /// run's ALS seed (default `None`: every one, as the protocol says). Exact evaluation costs
    /// users × catalog dot products per model; a sample of a few thousand users bounds it at
    /// scale, at the price of wider intervals (the report states the sample).
    #[serde(default)]
    pub max_users: Option<usize>,
}

fn enabled() -> bool {
    true
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        Self {
            bootstrap: BootstrapConfig::default(),
            seed_runs: 3,
            segments: SegmentConfig::default(),
            baselines: BaselineConfig::default(),
            run_baselines: true,
            compare_native: true,
            max_users: None,
        }
    }
}

impl EvaluationConfig {
    /// Users the nightly profile evaluates (and the gate scores): enough for NDCG@10 intervals of
    /// about ±0.01 at this product's levels, and a bounded cost on any catalog.
    pub const NIGHTLY_USERS: usize = 5_000;

    /// The nightly profile: one training seed (no seed spread), no baselines beside MostPopular,
    /// and [`Self::NIGHTLY_USERS`] evaluated users; intervals and segments as the default.
    pub fn nightly() -> Self {
        Self {
            seed_runs: 1,
            run_baselines: false,
            compare_native: false,
            max_users: Some(Self::NIGHTLY_USERS),
            ..Self::default()
        }
    }

    /// Checks every part.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`]: `evaluation.seed_runs` or `evaluation.max_users` of 0, or the
    /// field of the failing part.
    pub fn validate(&self) -> Result<()> {
        if self.seed_runs == 0 {
            return Err(Error::InvalidConfig {
                field: "evaluation.seed_runs",
                reason: "must be at least 1 (the trained model itself)".into(),
            });
        }
        if self.max_users == Some(0) {
            return Err(Error::InvalidConfig {
                field: "evaluation.max_users",
                reason: "must be at least 1".into(),
            });
        }
        self.bootstrap.validate()?;
        self.segments.validate()?;
        self.baselines.validate()
    }
}

/// Everything a pipeline run needs.
///
/// `Default` gives: the synthetic data set with its default config, data under `data`, models under
/// `<data_dir>/models`, `AlsParams::default()`, no tuning (with [`TuneConfig::default`] ready), no export,
/// `AnnConfig::default()`, K = 10, ANN recall measured on 1,000 users, no rating filter, binary
/// weights, automatic dedup, no posts file, the content encoder with [`ContentConfig::default`],
/// [`EvaluationConfig::default`], the promotion gate with [`GateConfig::default`], 10 versions
/// kept, the accepted version made current, and progress bars on (they are hidden anyway when
/// stderr is not a terminal).
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The interactions to train on.
    pub dataset: DatasetSource,
    /// The posts file of a [`DatasetSource::File`] run: CSV with the columns `id`, `author`,
    /// `created_at`, `topics` (separated by `|`) and `text` (see `datasets::posts`), the input of
    /// the content encoder. Ignored for the other sources, which bring their own post features
    /// (the synthetic posts; MovieLens genres and titles). Default `None`: a file run then has
    /// no post features and skips the content encoder.
    pub posts: Option<PathBuf>,
    /// The data directory: MovieLens is fetched into `<data_dir>/datasets/`, models go to
    /// `<data_dir>/models/` unless `models_dir` says otherwise.
    pub data_dir: PathBuf,
    /// Where versions are published; `None` means `<data_dir>/models`.
    pub models_dir: Option<PathBuf>,
    /// The ALS hyper-parameters (the base of the search when tuning: its CG steps, seed and solver are
    /// kept). The seed also seeds the ANN recall sample and the search's sampling.
    pub als: AlsParams,
    /// Who fits the model: the native ALS (the default) or Spark MLlib ([`crate::spark`]).
    pub trainer: Trainer,
    /// Choose factors, regularization, alpha and iterations on the validation split by NDCG@K.
    pub tune: bool,
    /// The search run when `tune` is set.
    pub search: TuneConfig,
    /// Write `train.tsv`, `test.tsv` and `recs.tsv` into this directory.
    pub export: Option<PathBuf>,
    /// The HNSW index parameters.
    pub ann: AnnConfig,
    /// The cut-off K of every reported metric and of `recs.tsv` (default 10).
    pub k: usize,
    /// How many users (sampled with the seed) the ANN recall is measured on (default 1,000; all users
    /// when there are fewer).
    pub ann_recall_users: usize,
    /// Keep only interactions with weight >= this, before the dedup and the split (the protocol's
    /// `r>=4` variant is `Some(4.0)`).
    pub min_rating: Option<f32>,
    /// What the model is trained on: binary interactions or the raw weights.
    pub weighting: Weighting,
    /// How duplicate (user, item) pairs are merged.
    pub dedup: DedupPolicy,
    /// The content-encoder stage.
    pub content: ContentConfig,
    /// Intervals, seed spread, segments and baselines of the evaluation.
    pub evaluation: EvaluationConfig,
    /// The promotion gate: whether the new version may replace the current one (see
    /// [`crate::gate`]).
    pub gate: GateConfig,
    /// Retention after publishing: the newest this many versions are kept, plus the current one
    /// and every pinned one (default 10; at least 1, so the new version is never removed).
    pub keep_versions: usize,
    /// Point `current` at an accepted version (default `true`). A caller that must check
    /// something first (the scheduler checks that it still holds its lease) sets `false` and
    /// moves the pointer itself with `models::artifact::set_current` when
    /// [`RunOutcome::gate`](crate::run::RunOutcome::gate) accepted it.
    pub make_current: bool,
    /// Draw progress bars on stderr (only when it is a terminal).
    pub show_progress: bool,
    /// Stops the run at its next stage boundary once cancelled (see [`Cancel`]).
    pub cancel: Cancel,
}

/// A run's stop flag, shared with whoever may stop it (a signal handler, a scheduler shutting
/// down). Once [`cancel`](Self::cancel)led, the run stops before its next stage (the index build
/// between two batches) with [`Error::Cancelled`] and publishes nothing; a stage in progress runs
/// to its end first.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Asks the run to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The flag itself (for builds that check it between batches).
    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetSource::Synthetic(SyntheticConfig::default()),
            posts: None,
            data_dir: PathBuf::from("data"),
            models_dir: None,
            als: AlsParams::default(),
            trainer: Trainer::Native,
            tune: false,
            search: TuneConfig::default(),
            export: None,
            ann: AnnConfig::default(),
            k: 10,
            ann_recall_users: 1000,
            min_rating: None,
            weighting: Weighting::default(),
            dedup: DedupPolicy::default(),
            content: ContentConfig::default(),
            evaluation: EvaluationConfig::default(),
            gate: GateConfig::default(),
            keep_versions: 10,
            make_current: true,
            show_progress: true,
            cancel: Cancel::default(),
        }
    }
}

impl RunConfig {
    /// The directory versions are published into.
    pub fn models_dir(&self) -> PathBuf {
        self.models_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("models"))
    }

    /// Checks the fields the pipeline itself owns (the models crate checks `als` and `ann`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field: `k` or `ann_recall_users` of 0, a non-finite
    /// `min_rating`, invalid `search` settings when `tune` is set (see [`TuneConfig::validate`]), or a `content.held_out_fraction`
    /// not strictly between 0 and 1, or an invalid `evaluation` part (see
    /// [`EvaluationConfig::validate`]), an invalid `gate` part (see [`GateConfig::validate`]) or
    /// a `keep_versions` of 0; [`Error::Model`] for invalid `content.params` when the content
    /// stage is enabled.
    pub fn validate(&self) -> Result<()> {
        let invalid = |field: &'static str, reason: &str| {
            Err(Error::InvalidConfig {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.k == 0 {
            return invalid("k", "must be at least 1");
        }
        if self.ann_recall_users == 0 {
            return invalid("ann_recall_users", "must be at least 1");
        }
        if let Some(m) = self.min_rating
            && !m.is_finite()
        {
            return invalid("min_rating", "must be a finite number");
        }
        if self.tune {
            self.search.validate()?;
        }
        if let Trainer::Spark(spark) = &self.trainer {
            if self.tune {
                return invalid(
                    "tune",
                    "the search fits the native trainer and cannot tune the Spark trainer: tune \
                     natively, then pass the chosen parameters to the Spark run",
                );
            }
            if spark.master.trim().is_empty() {
                return invalid(
                    "trainer.master",
                    "must be a Spark master URL, e.g. local[*]",
                );
            }
        }
        self.evaluation.validate()?;
        self.gate.validate()?;
        if self.keep_versions == 0 {
            return invalid(
                "keep_versions",
                "must be at least 1 (the version just written is kept)",
            );
        }
        if self.content.enabled {
            self.content.params.check()?;
            let f = self.content.held_out_fraction;
            if !(f.is_finite() && f > 0.0 && f < 1.0) {
                return invalid(
                    "content.held_out_fraction",
                    "must be strictly between 0 and 1",
                );
            }
        }
        Ok(())
    }

    /// The dedup rule this run applies.
    pub fn effective_dedup(&self) -> datasets::split::Dedup {
        use datasets::split::Dedup;
        match (self.dedup, &self.dataset) {
            (DedupPolicy::KeepLatest, _) => Dedup::KeepLatest,
            (DedupPolicy::SumWeights, _) => Dedup::SumWeights,
            (DedupPolicy::Auto, DatasetSource::Synthetic(_) | DatasetSource::Generated { .. }) => {
                Dedup::SumWeights
            }
            (DedupPolicy::Auto, _) => Dedup::KeepLatest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_models_dir_defaults_under_data_dir() {
        let c = RunConfig {
            data_dir: PathBuf::from("/tmp/x"),
            ..RunConfig::default()
        };
        c.validate().unwrap();
        assert_eq!(c.models_dir(), PathBuf::from("/tmp/x/models"));
        assert_eq!(c.k, 10);
        assert_eq!(c.ann_recall_users, 1000);
        assert_eq!(c.gate, GateConfig::default());
        assert_eq!((c.keep_versions, c.make_current), (10, true));
        let c = RunConfig {
            models_dir: Some(PathBuf::from("/m")),
            ..c
        };
        assert_eq!(c.models_dir(), PathBuf::from("/m"));
    }

    #[test]
    fn rejects_zero_k() {
        let c = RunConfig {
            k: 0,
            ..RunConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig { field: "k", .. })
        ));
    }

    #[test]
    fn rejects_zero_ann_users() {
        let c = RunConfig {
            ann_recall_users: 0,
            ..RunConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "ann_recall_users",
                ..
            })
        ));
    }

    #[test]
    fn rejects_zero_keep_versions_and_a_bad_gate_naming_the_field() {
        let mut c = RunConfig {
            keep_versions: 0,
            ..RunConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "keep_versions",
                ..
            })
        ));
        c.keep_versions = 1;
        c.validate().unwrap();
        c.gate.ndcg_tolerance = 1.0;
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "gate.ndcg_tolerance",
                ..
            })
        ));
    }

    #[test]
    fn rejects_non_finite_min_rating() {
        let c = RunConfig {
            min_rating: Some(f32::NAN),
            ..RunConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "min_rating",
                ..
            })
        ));
    }

    #[test]
    fn rejects_bad_content_settings_only_when_enabled() {
        let mut c = RunConfig {
            content: ContentConfig {
                held_out_fraction: 1.0,
                ..ContentConfig::default()
            },
            ..RunConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "content.held_out_fraction",
                ..
            })
        ));
        c.content.held_out_fraction = 0.2;
        c.content.params.lambdas.clear();
        assert!(matches!(
            c.validate(),
            Err(Error::Model(models::error::Error::EmptyLambdaGrid))
        ));
        c.content.enabled = false;
        c.validate().unwrap();
        assert_eq!(RunConfig::default().posts, None);
    }

    #[test]
    fn rejects_bad_evaluation_settings_naming_the_field() {
        let mut c = RunConfig::default();
        c.evaluation.seed_runs = 0;
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "evaluation.seed_runs",
                ..
            })
        ));
        c.evaluation.seed_runs = 1;
        c.validate().unwrap();
        c.evaluation.max_users = Some(0);
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "evaluation.max_users",
                ..
            })
        ));
        c.evaluation.max_users = Some(1);
        c.validate().unwrap();
        c.evaluation.bootstrap.resamples = 0;
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "evaluation.bootstrap.resamples",
                ..
            })
        ));
        c.evaluation.bootstrap.resamples = 10;
        c.evaluation.segments.head_share = 1.5;
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "evaluation.segments.head_share",
                ..
            })
        ));
        c.evaluation.segments.head_share = 0.2;
        c.evaluation.baselines.knn_neighbours = vec![0];
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "evaluation.baselines.knn_neighbours",
                ..
            })
        ));
    }

    #[test]
    fn rejects_bad_search_settings_only_when_tuning() {
        let mut c = RunConfig {
            search: TuneConfig {
                budget_seconds: -1.0,
                ..TuneConfig::default()
            },
            ..RunConfig::default()
        };
        c.validate().unwrap();
        c.tune = true;
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "tune.budget_seconds",
                ..
            })
        ));
    }
}
