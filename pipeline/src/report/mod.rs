//! The run report: `report.json` (the [`Report`] struct), `report.md` and SVG plots.
//!
//! The report holds timings, so it is published as unchecksummed extra files; the reproducible subset
//! (metrics and ANN recall, no timings) goes into the manifest through [`manifest_metrics`].

pub mod history;
mod markdown;
pub mod plots;

use std::path::PathBuf;

use models::als::AlsParams;
use models::artifact::GateDecision;
use serde::{Deserialize, Serialize};

use crate::baselines::Baseline;
use crate::config::Weighting;
use crate::content::ContentReport;
use crate::error::Result;
use crate::evaluate::{Difference, ModelScores, SeedSpread, UserSample};
use crate::index::AnnReport;
use crate::metrics::Metrics;
use crate::segments::SegmentDefinition;
use crate::tune::TuneOutcome;
use crate::uncertainty::BootstrapConfig;

pub use markdown::to_markdown;

/// The version of the report's JSON layout (2: the `content` section; 3: baselines, intervals, seed
/// spread and segments in `evaluation`; 4: `tuning` holds the trials of the successive-halving search
/// instead of grid points; 5: `gate`, the promotion gate's decision; 6: `history`, the runs of the
/// models directory over time, and `evaluation.sample`).
pub const REPORT_VERSION: u32 = 7;
/// The JSON report's file name.
pub const JSON_FILE: &str = "report.json";
/// The Markdown report's file name.
pub const MARKDOWN_FILE: &str = "report.md";
/// The training-objective plot's file name.
pub const OBJECTIVE_PLOT: &str = "objective.svg";
/// The recall-curve plot's file name.
pub const RECALL_PLOT: &str = "recall_at_k.svg";
/// The ANN recall plot's file name.
pub const ANN_PLOT: &str = "ann_recall.svg";
/// The run-history plot's file name.
pub const HISTORY_PLOT: &str = "history.svg";

/// Where the data came from and how it was prepared.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// `ml-100k`, `synthetic` or the path given.
    pub source: String,
    /// The file read, when there is one.
    pub path: Option<PathBuf>,
    /// The rating filter applied before the split.
    pub min_rating: Option<f32>,
    /// How duplicates were merged (`keep_latest` or `sum_weights`).
    pub dedup: String,
    /// What the model was trained on.
    pub weighting: Weighting,
    /// SHA-256 of the canonical training data (see [`crate::publish`]).
    pub data_fingerprint: String,
}

/// Sizes of the data at each step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataStats {
    /// Valid rows read.
    pub rows_loaded: usize,
    /// Malformed rows skipped by the loader.
    pub skipped_rows: usize,
    /// Rows dropped by `min_rating`.
    pub below_min_rating: usize,
    /// Rows merged into another of the same (user, item) pair.
    pub duplicates_merged: usize,
    /// Distinct users.
    pub users: usize,
    /// Distinct items: the catalog.
    pub items: usize,
    /// Interactions after the dedup.
    pub interactions: usize,
    /// interactions / (users × items).
    pub density: f64,
    /// Interactions in the train part.
    pub train_interactions: usize,
    /// Interactions in the test part.
    pub test_interactions: usize,
    /// Users with at least one test item.
    pub evaluated_users: usize,
    /// Catalog items that appear only in the test part.
    pub test_only_items: usize,
}

/// The training stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// The parameters the final model was trained with.
    pub params: AlsParams,
    /// The training loss after each iteration (`AlsModel::loss_history`).
    pub objective: Vec<f64>,
    /// Training wall time in seconds.
    pub seconds: f64,
    /// Who trained it: the native ALS or Spark (with the job's figures). Reports before version 7
    /// have none and read as native.
    #[serde(default)]
    pub trainer: crate::spark::TrainerInfo,
}

/// How the model compares with MostPopular on one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The metric (`recall@10`, …).
    pub metric: String,
    /// The model's value.
    pub model: f64,
    /// MostPopular's value.
    pub most_popular: f64,
    /// model − most_popular.
    pub absolute: f64,
    /// model / most_popular − 1 (`None` when MostPopular scores 0).
    pub relative: Option<f64>,
}

impl Comparison {
    /// Compares one metric.
    pub fn new(metric: String, model: f64, most_popular: f64) -> Self {
        Self {
            metric,
            model,
            most_popular,
            absolute: model - most_popular,
            relative: (most_popular > 0.0).then(|| model / most_popular - 1.0),
        }
    }
}

/// The comparison table of every metric at K.
pub fn compare(model: &Metrics, popular: &Metrics) -> Vec<Comparison> {
    let k = model.k;
    [
        ("ndcg", model.ndcg, popular.ndcg),
        ("recall", model.recall, popular.recall),
        ("precision", model.precision, popular.precision),
        ("hit_rate", model.hit_rate, popular.hit_rate),
        ("coverage", model.coverage, popular.coverage),
    ]
    .into_iter()
    .map(|(name, m, p)| Comparison::new(format!("{name}@{k}"), m, p))
    .collect()
}

/// The test-split evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluationReport {
    /// The cut-off K.
    pub k: usize,
    /// The model.
    pub model: ModelScores,
    /// The MostPopular baseline on the same split.
    pub most_popular: ModelScores,
    /// Model vs MostPopular, metric by metric.
    pub comparison: Vec<Comparison>,
    /// Item-kNN, EASE and Random on the same split, each scored or skipped with the reason.
    pub baselines: Vec<Baseline>,
    /// ALS minus each other scored model on NDCG@K and Recall@K, with paired bootstrap intervals.
    pub versus_als: Vec<Difference>,
    /// ALS's NDCG@K and Recall@K over several training seeds (`None` with one seed run).
    pub seed_spread: Option<SeedSpread>,
    /// How the user and item segments came out on this split.
    pub segments: SegmentDefinition,
    /// The bootstrap behind every interval.
    pub bootstrap: BootstrapConfig,
    /// The sample of users evaluated, when not every user with test items was
    /// ([`crate::EvaluationConfig::max_users`]); `None`: all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<UserSample>,
}

impl EvaluationReport {
    /// Every scored model in report order (ALS, MostPopular, then the scored baselines), by name.
    pub fn scored_models(&self) -> Vec<(&str, &ModelScores)> {
        let mut out = vec![("ALS", &self.model), ("MostPopular", &self.most_popular)];
        out.extend(
            self.baselines
                .iter()
                .filter_map(|b| b.scores.as_ref().map(|s| (b.name.as_str(), s))),
        );
        out
    }
}

/// Wall time of one stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageTiming {
    /// The stage.
    pub stage: String,
    /// Seconds.
    pub seconds: f64,
}

/// What `--export` wrote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportInfo {
    /// The directory.
    pub dir: PathBuf,
    /// The files.
    pub files: Vec<PathBuf>,
}

/// The content of `report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub report_version: u32,
    /// The artifact version.
    pub version: String,
    /// When the run started (RFC 3339, UTC).
    pub created_at: String,
    /// The published artifact's directory.
    pub artifact_dir: PathBuf,
    /// The data source.
    pub dataset: DatasetInfo,
    /// Data sizes.
    pub data: DataStats,
    /// The grid search, when `--tune` was given.
    pub tuning: Option<TuneOutcome>,
    /// The final training.
    pub training: TrainingInfo,
    /// Test metrics, model vs MostPopular.
    pub evaluation: EvaluationReport,
    /// The ANN index.
    pub ann: AnnReport,
    /// The content encoder: fitted and scored on held-out posts, or skipped and why.
    pub content: ContentReport,
    /// The promotion gate's decision (also published as `gate.json`): whether this version may
    /// replace the current one, and why.
    pub gate: GateDecision,
    /// Wall time per stage, in order (the publish stage itself is logged, not reported: the report is
    /// part of what it publishes).
    pub timings: Vec<StageTiming>,
    /// The exports, when `--export` was given.
    pub export: Option<ExportInfo>,
    /// The plot files in the artifact.
    pub plots: Vec<String>,
    /// The runs of this models directory, oldest first, this one last (see [`history`]).
    #[serde(default)]
    pub history: Vec<history::HistoryPoint>,
}

impl Report {
    /// This run as a point of the history.
    pub fn history_point(&self) -> history::HistoryPoint {
        let ev = &self.evaluation;
        history::HistoryPoint {
            version: self.version.clone(),
            created_at: self.created_at.clone(),
            k: ev.k,
            ndcg: ev.model.metrics.ndcg,
            recall: ev.model.metrics.recall,
            most_popular_ndcg: ev.most_popular.metrics.ndcg,
            accepted: self.gate.accepted,
        }
    }
}

/// The content encoder's reproducible figures for the manifest: the penalty and the held-out
/// coverage and mean cosine of the encoder and every baseline, or why it was skipped.
fn content_metrics(content: &ContentReport) -> serde_json::Value {
    match content {
        ContentReport::Skipped { reason } => serde_json::json!({ "skipped": reason }),
        ContentReport::Fitted(fit) => {
            let by_method = |f: &dyn Fn(&crate::content::MethodScore) -> serde_json::Value| {
                fit.held_out
                    .iter()
                    .map(|s| (s.method.clone(), f(s)))
                    .collect::<serde_json::Map<_, _>>()
            };
            serde_json::json!({
                "lambda": fit.lambda,
                "held_out_posts": fit.held_out_posts,
                "published_posts": fit.published_posts,
                "covered": by_method(&|s| s.covered.into()),
                "mean_cosine": by_method(&|s| serde_json::json!(s.mean_cosine)),
            })
        }
    }
}

/// The reproducible metrics for the manifest: test metrics of the model and every baseline (or why
/// one was skipped), ANN recall and the content encoder's held-out figures, no timings.
pub fn manifest_metrics(report: &Report) -> serde_json::Value {
    let ev = &report.evaluation;
    let baselines: serde_json::Map<_, _> = ev
        .baselines
        .iter()
        .map(|b| {
            let value = match (&b.scores, &b.skipped) {
                (Some(s), _) => serde_json::json!(s.metrics),
                (None, reason) => serde_json::json!({ "skipped": reason }),
            };
            (b.name.clone(), value)
        })
        .collect();
    serde_json::json!({
        "k": ev.k,
        "test": {
            "model": ev.model.metrics,
            "most_popular": ev.most_popular.metrics,
            "baselines": baselines,
        },
        "ann": {
            "recall": report.ann.measurement.recall,
            "k": report.ann.measurement.k,
            "ef_search": report.ann.config.ef_search,
            "users_sampled": report.ann.measurement.users_sampled,
        },
        "tuned": report.tuning.is_some(),
        "weighting": report.dataset.weighting,
        "content": content_metrics(&report.content),
    })
}

/// The report's files: `report.json`, `report.md` and the plots, as (name, bytes).
///
/// # Errors
///
/// [`crate::Error::Json`] or [`crate::Error::Plot`] if a file cannot be produced.
pub fn render(report: &Report) -> Result<Vec<(String, Vec<u8>)>> {
    let mut json = serde_json::to_vec_pretty(report)?;
    json.push(b'\n');
    let ann_points: Vec<(usize, f64)> = report
        .ann
        .measurement
        .sweep
        .iter()
        .map(|p| (p.ef, p.recall))
        .collect();
    Ok(vec![
        (JSON_FILE.to_owned(), json),
        (MARKDOWN_FILE.to_owned(), to_markdown(report).into_bytes()),
        (
            OBJECTIVE_PLOT.to_owned(),
            plots::objective_svg(&report.training.objective)?.into_bytes(),
        ),
        (
            RECALL_PLOT.to_owned(),
            plots::recall_curve_svg(
                &report
                    .evaluation
                    .scored_models()
                    .into_iter()
                    .map(|(name, s)| (name, s.recall_curve.as_slice()))
                    .collect::<Vec<_>>(),
            )?
            .into_bytes(),
        ),
        (
            ANN_PLOT.to_owned(),
            plots::ann_recall_svg(&ann_points, report.ann.measurement.k)?.into_bytes(),
        ),
        (
            HISTORY_PLOT.to_owned(),
            plots::history_svg(&report.history)?.into_bytes(),
        ),
    ])
}

/// The plot file names [`render`] produces.
pub fn plot_files() -> Vec<String> {
    [OBJECTIVE_PLOT, RECALL_PLOT, ANN_PLOT, HISTORY_PLOT]
        .map(str::to_owned)
        .to_vec()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::evaluate::{MetricIntervals, ModelScores, PopularityScores, SeedRun, SegmentScores};
    use crate::index::{AnnMeasurement, SweepPoint};
    use crate::segments::{SegmentConfig, SegmentCount};
    use crate::uncertainty::{Interval, Spread};

    fn metrics(k: usize, scale: f64) -> Metrics {
        Metrics {
            k,
            users: 100,
            unscored_users: 1,
            recall: 0.2 * scale,
            precision: 0.1 * scale,
            hit_rate: 0.5 * scale,
            ndcg: 0.25 * scale,
            coverage: 0.3 * scale,
            catalog_size: 1000,
        }
    }

    /// A report with made-up numbers.
    pub(crate) fn sample_report() -> Report {
        let ci = |x: f64| Interval {
            low: x * 0.9,
            high: x * 1.1,
        };
        let scores = |scale: f64| {
            let m = metrics(10, scale);
            ModelScores {
                novelty: 8.0 * scale,
                intervals: MetricIntervals {
                    confidence: 0.95,
                    ndcg: ci(m.ndcg),
                    recall: ci(m.recall),
                    precision: ci(m.precision),
                    hit_rate: ci(m.hit_rate),
                    novelty: ci(8.0 * scale),
                },
                users_by_activity: ["cold", "light", "heavy"]
                    .iter()
                    .map(|name| SegmentScores {
                        segment: (*name).to_owned(),
                        users: 30,
                        ndcg: 0.3 * scale,
                        ndcg_ci: ci(0.3 * scale),
                        recall: 0.2 * scale,
                        recall_ci: ci(0.2 * scale),
                        hit_rate: 0.5 * scale,
                        hit_rate_ci: ci(0.5 * scale),
                    })
                    .collect(),
                items_by_popularity: PopularityScores {
                    recall_head: 0.15 * scale,
                    recall_head_ci: ci(0.15 * scale),
                    recall_tail: 0.05 * scale,
                    recall_tail_ci: ci(0.05 * scale),
                    hits_head: 150,
                    hits_tail: 50,
                    recommended_head_share: 0.75,
                },
                metrics: m,
                recall_curve: (1..=50).map(|k| scale * k as f64 / 100.0).collect(),
                fit_seconds: 1.25,
                scoring_seconds: 0.5,
            }
        };
        let model = scores(1.0);
        let most_popular = scores(0.5);
        let baselines = vec![
            Baseline {
                name: "ItemKNN".into(),
                params: "cosine similarity, 100 neighbours per item".into(),
                validation: Vec::new(),
                scores: Some(scores(0.8)),
                skipped: None,
            },
            Baseline {
                name: "EASE".into(),
                params: "λ = 500".into(),
                validation: Vec::new(),
                scores: None,
                skipped: Some("too many items".into()),
            },
        ];
        Report {
            report_version: REPORT_VERSION,
            version: "20261125T173000Z-0123abcd".into(),
            created_at: "2026-11-25T17:30:00Z".into(),
            artifact_dir: "/data/models/20261125T173000Z-0123abcd".into(),
            dataset: DatasetInfo {
                source: "ml-100k".into(),
                path: Some("/data/datasets/ml-100k/ml-100k.inter".into()),
                min_rating: None,
                dedup: "keep_latest".into(),
                weighting: Weighting::Binary,
                data_fingerprint: "ab".repeat(32),
            },
            data: DataStats {
                rows_loaded: 1000,
                skipped_rows: 2,
                below_min_rating: 0,
                duplicates_merged: 3,
                users: 10,
                items: 200,
                interactions: 997,
                density: 0.4985,
                train_interactions: 800,
                test_interactions: 197,
                evaluated_users: 10,
                test_only_items: 4,
            },
            tuning: None,
            training: TrainingInfo {
                params: AlsParams::default(),
                objective: vec![10.0, 5.0, 4.5],
                seconds: 1.25,
                trainer: crate::spark::TrainerInfo::Native,
            },
            evaluation: EvaluationReport {
                k: 10,
                comparison: compare(&model.metrics, &most_popular.metrics),
                model,
                most_popular,
                baselines,
                versus_als: vec![Difference {
                    model: "MostPopular".into(),
                    ndcg: 0.125,
                    ndcg_ci: Interval {
                        low: 0.1,
                        high: 0.15,
                    },
                    recall: -0.01,
                    recall_ci: Interval {
                        low: -0.03,
                        high: 0.01,
                    },
                }],
                seed_spread: Some(SeedSpread {
                    runs: vec![
                        SeedRun {
                            seed: 42,
                            ndcg: 0.25,
                            recall: 0.2,
                            fit_seconds: 1.25,
                        },
                        SeedRun {
                            seed: 43,
                            ndcg: 0.23,
                            recall: 0.19,
                            fit_seconds: 1.5,
                        },
                    ],
                    ndcg: Spread::of(&[0.25, 0.23]),
                    recall: Spread::of(&[0.2, 0.19]),
                }),
                segments: SegmentDefinition {
                    config: SegmentConfig::default(),
                    users: ["cold", "light", "heavy"]
                        .iter()
                        .map(|s| SegmentCount {
                            segment: (*s).to_owned(),
                            users: 30,
                        })
                        .collect(),
                    head_items: 20,
                    tail_items: 180,
                    head_train_share: 0.21,
                    head_test_share: 0.3,
                },
                bootstrap: BootstrapConfig::default(),
                sample: None,
            },
            ann: crate::index::AnnReport {
                config: models::ann::AnnConfig::default(),
                build_seconds: 0.75,
                measurement: AnnMeasurement {
                    k: 10,
                    users_sampled: 10,
                    recall: 0.987,
                    sweep: vec![SweepPoint {
                        ef: 16,
                        recall: 0.9,
                        queries_per_second: 1e4,
                    }],
                    exact_queries_per_second: 2e3,
                },
            },
            content: sample_content(),
            gate: sample_gate(),
            timings: vec![StageTiming {
                stage: "train".into(),
                seconds: 1.25,
            }],
            export: None,
            plots: plot_files(),
            history: Vec::new(),
        }
    }

    /// A rejection with made-up numbers.
    pub(crate) fn sample_gate() -> GateDecision {
        GateDecision {
            accepted: false,
            reason: "NDCG@10 0.2500 is below 0.2940 (98 % of the current version \
                     20261124T173000Z-89abcdef's 0.3000), on the last 86400 s of the test split \
                     (60 users, 150 interactions)"
                .into(),
            current_version: Some("20261124T173000Z-89abcdef".into()),
            candidate_ndcg: Some(0.25),
            current_ndcg: Some(0.3),
            ndcg_tolerance: 0.02,
            index_recall: 0.987,
            min_index_recall: 0.95,
            holdout: Some(models::artifact::GateHoldout {
                window_secs: 86_400,
                from_timestamp: 1_764_000_000,
                users: 60,
                interactions: 150,
                whole_test_split: false,
                sampled_from: None,
            }),
            enforced: true,
        }
    }

    /// A fitted content section with made-up numbers.
    pub(crate) fn sample_content() -> ContentReport {
        use crate::content::{ContentFitReport, MethodScore, evaluate};
        let score = |method: &str, covered: usize, cos: Option<f64>| MethodScore {
            method: method.to_owned(),
            covered,
            mean_cosine: cos,
            mean_cosine_all: cos.unwrap_or(0.0) * covered as f64 / 40.0,
            mean_norm_ratio: cos.map(|_| 0.5),
        };
        ContentReport::Fitted(Box::new(ContentFitReport {
            source: "synthetic posts (topics, text, authors)".into(),
            posts_read: 210,
            posts_in_catalog: 205,
            candidates: 200,
            fit_posts: 160,
            held_out_posts: 40,
            params: models::content::ContentParams::default(),
            lambda: 3.0,
            selection: vec![
                models::content::LambdaScore {
                    lambda: 1.0,
                    validation_cosine: 0.5,
                },
                models::content::LambdaScore {
                    lambda: 3.0,
                    validation_cosine: 0.625,
                },
            ],
            validation_posts: 32,
            held_out: vec![
                score(evaluate::ENCODER, 40, Some(0.75)),
                score(evaluate::AUTHOR_MEAN, 30, Some(0.5)),
                score(evaluate::TOPIC_MEAN, 40, Some(0.25)),
                score(evaluate::GLOBAL_MEAN, 40, Some(0.125)),
                score(evaluate::ENGINE_WITH_ENCODER, 40, Some(0.75)),
                score(evaluate::ENGINE_WITHOUT_ENCODER, 40, Some(0.4375)),
            ],
            published_posts: 200,
            topics: 12,
        }))
    }

    /// Every object key in a JSON value, recursively.
    fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    keys(v, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }

    #[test]
    fn json_round_trips() {
        let r = sample_report();
        let json = serde_json::to_string(&r).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["content"]["status"], "fitted");
        let skipped = Report {
            content: ContentReport::Skipped {
                reason: "why".into(),
            },
            ..r
        };
        let value = serde_json::to_value(&skipped).unwrap();
        assert_eq!(
            value["content"],
            serde_json::json!({ "status": "skipped", "reason": "why" })
        );
        assert_eq!(serde_json::from_value::<Report>(value).unwrap(), skipped);
    }

    #[test]
    fn manifest_metrics_hold_no_timings() {
        let v = manifest_metrics(&sample_report());
        let mut all = Vec::new();
        keys(&v, &mut all);
        assert!(all.iter().all(|k| !k.contains("second")), "{all:?}");
        assert_eq!(v["test"]["model"]["ndcg"], 0.25);
        assert_eq!(v["test"]["baselines"]["ItemKNN"]["ndcg"], 0.25 * 0.8);
        assert_eq!(
            v["test"]["baselines"]["EASE"],
            serde_json::json!({ "skipped": "too many items" })
        );
        assert_eq!(v["ann"]["recall"], 0.987);
        assert_eq!(v["content"]["lambda"], 3.0);
        assert_eq!(v["content"]["mean_cosine"]["encoder"], 0.75);
        assert_eq!(v["content"]["covered"]["author_mean"], 30);
        let skipped = Report {
            content: ContentReport::Skipped {
                reason: "no posts".into(),
            },
            ..sample_report()
        };
        assert_eq!(
            manifest_metrics(&skipped)["content"],
            serde_json::json!({ "skipped": "no posts" })
        );
    }

    #[test]
    fn render_produces_the_documented_files() {
        let files = render(&sample_report()).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                JSON_FILE,
                MARKDOWN_FILE,
                OBJECTIVE_PLOT,
                RECALL_PLOT,
                ANN_PLOT,
                HISTORY_PLOT
            ]
        );
        let json: Report = serde_json::from_slice(&files[0].1).unwrap();
        assert_eq!(json, sample_report());
    }

    #[test]
    fn markdown_has_the_headline_and_the_tables() {
        let md = to_markdown(&sample_report());
        assert!(md.starts_with("# Pipeline run `20261125T173000Z-0123abcd`"));
        assert!(
            md.contains(
                "ALS beats MostPopular on ndcg@10: 0.2500 vs 0.1250 (+0.1250, +100.0 % relative)."
            ),
            "{md}"
        );
        assert!(md.contains("| recall@10 | 0.2000 | 0.1000 | +0.1000 | +100.0 % |"));
        assert!(md.contains("| malformed rows skipped | 2 |"));
        assert!(md.contains("| density | 49.8500 % |"));
        assert!(md.contains("| 10 | 0.1000 | 0.0500 |"));
        assert!(md.contains("**0.9870** at ef_search"));
        assert!(md.contains("![Recall@K](recall_at_k.svg)"));
        // Every scored model with intervals, the skipped one with its reason.
        assert!(
            md.contains(
                "| ALS | 0.2500 [0.2250, 0.2750] | 0.2000 [0.1800, 0.2200] | 0.1000 [0.0900, 0.1100] \
                 | 0.5000 [0.4500, 0.5500] | 0.3000 | 8.00 [7.20, 8.80] | 1.250 | 0.500 |"
            ),
            "{md}"
        );
        assert!(md.contains("| ItemKNN | 0.2000 [0.1800, 0.2200] |"), "{md}");
        assert!(
            md.contains("- EASE (λ = 500): **skipped**: too many items."),
            "{md}"
        );
        assert!(md.contains("95 % confidence intervals, percentile bootstrap over the 100"));
        assert!(md.contains("| K | ALS | MostPopular | ItemKNN |"), "{md}");
        assert!(
            md.contains(
                "| MostPopular | +0.1250 [+0.1000, +0.1500] | ALS better | -0.0100 [-0.0300, +0.0100] | \
                 not distinguishable |"
            ),
            "{md}"
        );
        // The seed spread: mean of 0.25 and 0.23, sample sd 0.0141.
        assert!(
            md.contains("seeds 42, 43 (the reported model is seed 42)"),
            "{md}"
        );
        assert!(
            md.contains("| NDCG@10 | 0.2400 | 0.0141 | 0.2300 | 0.2500 |"),
            "{md}"
        );
        // Segments.
        assert!(
            md.contains(
                "cold at most 20 (30 users), light 21 to 100 (30 users), heavy more than 100"
            ),
            "{md}"
        );
        assert!(
            md.contains("| ALS | cold | 30 | 0.3000 [0.2700, 0.3300] |"),
            "{md}"
        );
        assert!(md.contains("Head: the 20 most popular items by train count, holding 21.0 %"));
        assert!(
            md.contains("| MostPopular | 0.0750 [0.0675, 0.0825] | 0.0250 [0.0225, 0.0275] | 150 / 50 | 75.0 % |"),
            "{md}"
        );
        assert!(!md.contains("## Export"));
        assert!(md.contains("## Content encoder"), "{md}");
        assert!(
            md.contains(
                "**Held-out mean cosine with the trained vectors: encoder 0.7500 (40 of 40 posts); \
                 author mean 0.5000 (30 of 40 posts); topic mean 0.2500 (40 of 40 posts).**"
            ),
            "{md}"
        );
        assert!(
            md.contains("| author_mean | 30 / 40 | 0.5000 | 0.3750 | 0.50 |"),
            "{md}"
        );
        assert!(md.contains("| 3 | 0.6250 | **chosen** |"), "{md}");
        // The gate.
        assert!(md.contains("## Promotion gate"), "{md}");
        assert!(
            md.contains(
                "**Rejected**: kept for inspection, the current version \
                 `20261124T173000Z-89abcdef` stays. NDCG@10 0.2500 is below 0.2940"
            ),
            "{md}"
        );
        assert!(
            md.contains("| candidate | 0.2500 | 0.9870 |")
                && md.contains("| current `20261124T173000Z-89abcdef` | 0.3000 | |")
                && md.contains("| needed | 0.2940 (2 % tolerance) | 0.95 |"),
            "{md}"
        );
        let skipped = Report {
            content: ContentReport::Skipped {
                reason: "no post features".into(),
            },
            ..sample_report()
        };
        assert!(to_markdown(&skipped).contains("Skipped: no post features."));
    }

    #[test]
    fn comparison_by_hand() {
        let c = Comparison::new("ndcg@10".into(), 0.3, 0.2);
        assert!((c.absolute - 0.1).abs() < 1e-12);
        assert!((c.relative.unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(Comparison::new("x".into(), 0.3, 0.0).relative, None);
    }
}
