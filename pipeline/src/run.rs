//! The whole run: load → split → (tune) → train → evaluate → (export) → content encoder → index →
//! gate → report → publish.
//!
//! Publishing is three steps: the version is written into the models directory whatever the gate
//! said ([`publish::keep`]), `current` is pointed at it only when the gate accepted it (or is
//! disabled) and [`RunConfig::make_current`] is set, and then retention removes the oldest
//! versions beyond [`RunConfig::keep_versions`] (never the current or a pinned one).

use std::path::PathBuf;
use std::time::Instant;

use models::als::{AlsModel, AlsParams};
use models::artifact::GateDecision;
use models::popular::MostPopular;
use time::OffsetDateTime;

use crate::baselines;
use crate::config::{Cancel, EvaluationConfig, RunConfig, Weighting};
use crate::content;
use crate::error::{Error, Result};
use crate::evaluate::{self, Evaluation, Scorer, SeedRun};
use crate::export::{self, ExportInput};
use crate::gate::{self, GateInput, GateModel};
use crate::index;
use crate::load::{self, LoadedData};
use crate::publish::{self, PublishInput};
use crate::report::{
    self, DataStats, DatasetInfo, EvaluationReport, ExportInfo, Report, StageTiming, TrainingInfo,
};
use crate::spark::{self, Trainer, TrainerInfo};
use crate::split::{self, PreparedData};
use crate::train;
use crate::tune;

/// What a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// The new version's directory (written whether or not it became current).
    pub artifact_dir: PathBuf,
    /// The version name.
    pub version: String,
    /// The report (the content of `report.json`).
    pub report: Report,
    /// The promotion gate's decision (the content of `gate.json`, and `report.gate`).
    pub gate: GateDecision,
    /// Whether `current` now names this version: the gate accepted it (or was disabled) and
    /// [`RunConfig::make_current`] was set.
    pub made_current: bool,
    /// The versions retention removed, newest first.
    pub pruned: Vec<String>,
}

/// Stage timings, logged as they complete, and the run's stop flag checked between them.
#[derive(Debug)]
struct Timings {
    done: Vec<StageTiming>,
    cancel: Cancel,
}

impl Timings {
    fn new(cancel: Cancel) -> Self {
        Self {
            done: Vec::new(),
            cancel,
        }
    }

    /// [`Error::Cancelled`] if the run was cancelled before `stage`.
    fn check(&self, stage: &str) -> Result<()> {
        if self.cancel.is_cancelled() {
            tracing::warn!(stage, "run cancelled: stopping before this stage");
            return Err(Error::Cancelled {
                at: format!("before the {stage} stage"),
            });
        }
        Ok(())
    }

    /// Runs `f` as stage `stage`, logging and recording its wall time (unless the run was
    /// cancelled: then [`Error::Cancelled`]).
    fn stage<T>(&mut self, stage: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.check(stage)?;
        tracing::info!(stage, "stage started");
        let start = Instant::now();
        let out = f()?;
        let seconds = start.elapsed().as_secs_f64();
        tracing::info!(stage, seconds, "stage finished");
        self.done.push(StageTiming {
            stage: stage.to_owned(),
            seconds,
        });
        Ok(out)
    }

    /// Seconds of the stage recorded last.
    fn last_seconds(&self) -> f64 {
        self.done.last().map_or(0.0, |t| t.seconds)
    }
}

/// Loads and splits the data of `config` (stages 1 and 2), for callers that want to score models
/// without publishing (benches, comparisons with other libraries).
///
/// # Errors
///
/// As [`load::load`] and [`split::prepare`]; [`Error::NothingToEvaluate`] if the test split is empty.
pub fn prepare(config: &RunConfig) -> Result<(LoadedData, PreparedData)> {
    config.validate()?;
    let loaded = load::load(config)?;
    let prepared = split::prepare(&loaded.frame)?;
    if prepared.test.is_empty() {
        return Err(Error::NothingToEvaluate { split: "test" });
    }
    Ok((loaded, prepared))
}

/// Trains ALS with `params` on the train part and evaluates it beside MostPopular on the test part at
/// cut-off `k` with [`EvaluationConfig::default`]'s intervals and segments: stages 4 and 5 without
/// the side effects (and without the other baselines and the seed spread). Returns the model, the
/// training time in seconds and the evaluation.
///
/// # Errors
///
/// [`Error::Model`] if the parameters are invalid or training fails.
pub fn fit_and_evaluate(
    prepared: &PreparedData,
    params: &AlsParams,
    weighting: Weighting,
    k: usize,
    show_progress: bool,
) -> Result<(AlsModel, f64, Evaluation)> {
    let matrix = prepared.train_matrix(weighting)?;
    let start = Instant::now();
    let model = train::fit(&matrix, params, show_progress)?;
    let seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let popular = MostPopular::fit(&matrix);
    let popular_seconds = start.elapsed().as_secs_f64();
    let split = prepared.eval_split();
    let defaults = EvaluationConfig::default();
    let scorer = Scorer::new(&split, k, defaults.bootstrap, defaults.segments);
    let evaluation = evaluate::evaluate(
        (&model, seconds),
        (&popular, popular_seconds),
        &scorer,
        show_progress,
    );
    Ok((model, seconds, evaluation))
}

/// Runs the whole pipeline, writes a new version and makes it current if the promotion gate
/// accepts it (see the module docs). A rejection is not an error: the outcome says so
/// ([`RunOutcome::gate`], [`RunOutcome::made_current`]).
///
/// # Errors
///
/// [`Error::InvalidConfig`] for a bad configuration; otherwise the error of the failing stage
/// (a failure of retention is logged, not returned: the version is already in place).
pub fn run(config: &RunConfig) -> Result<RunOutcome> {
    config.validate()?;
    let started = OffsetDateTime::now_utc();
    let show = config.show_progress;
    let k = config.k;
    let mut timings = Timings::new(config.cancel.clone());

    let loaded = timings.stage("load", || load::load(config))?;
    let prepared = timings.stage("split", || split::prepare(&loaded.frame))?;
    if prepared.test.is_empty() {
        return Err(Error::NothingToEvaluate { split: "test" });
    }
    let mut eval_split = prepared.eval_split();
    let evaluated_users = eval_split.evaluated_users();
    let sample = config
        .evaluation
        .max_users
        .and_then(|max| eval_split.keep_sample(max, config.als.seed));
    if let Some(sample) = &sample {
        tracing::info!(
            users = sample.users,
            of = sample.eligible_users,
            seed = sample.seed,
            "evaluating a sample of the users with test items"
        );
    }

    let tuning = if config.tune {
        Some(timings.stage("tune", || {
            let validation = prepared.validation(config.weighting)?;
            tune::search(
                &validation,
                &config.als,
                &config.search,
                k,
                show,
                &config.cancel,
            )
        })?)
    } else {
        None
    };
    let params = tuning
        .as_ref()
        .map_or_else(|| config.als.clone(), |t| t.best_params.clone());

    let matrix = prepared.train_matrix(config.weighting)?;
    let (model, trainer) = timings.stage("train", || match &config.trainer {
        Trainer::Native => Ok((train::fit(&matrix, &params, show)?, TrainerInfo::Native)),
        Trainer::Spark(spark) => {
            let (model, run) = spark::fit(
                &matrix,
                &params,
                spark,
                &config.data_dir,
                &config.cancel,
                show,
            )?;
            Ok((model, TrainerInfo::Spark(run)))
        }
    })?;
    let train_seconds = timings.last_seconds();
    let popular_start = Instant::now();
    let popular = MostPopular::fit(&matrix);
    let popular_seconds = popular_start.elapsed().as_secs_f64();

    let ev_config = &config.evaluation;
    let scorer = Scorer::new(
        &eval_split,
        k,
        ev_config.bootstrap.clone(),
        ev_config.segments.clone(),
    );
    let evaluation = timings.stage("evaluate", || {
        Ok(evaluate::evaluate(
            (&model, train_seconds),
            (&popular, popular_seconds),
            &scorer,
            show,
        ))
    })?;
    tracing::info!(
        ndcg = evaluation.model.metrics.ndcg,
        recall = evaluation.model.metrics.recall,
        popular_ndcg = evaluation.most_popular.metrics.ndcg,
        k,
        "test metrics"
    );
    let baselines = if !ev_config.run_baselines {
        (
            baselines::skipped_all("not run: the run's evaluation has the baselines off"),
            Vec::new(),
        )
    } else {
        timings.stage("baselines", || {
            // Their hyper-parameters are chosen on the validation split; without one (every user too
            // short to split twice) each grid's first value is used and the report shows no points.
            let validation = match prepared.validation(config.weighting) {
                Ok(v) => Some(v.split),
                Err(Error::NothingToEvaluate { .. }) => None,
                Err(e) => return Err(e),
            };
            baselines::evaluate_all(&scorer, &ev_config.baselines, validation.as_ref())
        })?
    };
    let (mut baselines, mut baseline_rankings) = baselines;
    if ev_config.compare_native && matches!(trainer, TrainerInfo::Spark(_)) {
        // The same parameters fitted natively, so that the report shows the two side by side.
        let (baseline, ranked) = timings.stage("native comparison", || {
            native_beside_spark(&matrix, &params, &scorer)
        })?;
        baselines.insert(0, baseline);
        baseline_rankings.insert(0, (NATIVE_BESIDE_SPARK.to_owned(), ranked));
    }
    let reference = &evaluation.model_rankings;
    let mut versus_als =
        vec![scorer.difference("MostPopular", reference, &evaluation.popular_rankings)];
    versus_als.extend(
        baseline_rankings
            .iter()
            .map(|(name, ranked)| scorer.difference(name, reference, ranked)),
    );
    // The spread refits with other seeds natively: it measures the native trainer only.
    let seed_spread = if ev_config.seed_runs > 1 && matches!(trainer, TrainerInfo::Native) {
        Some(timings.stage("seed spread", || {
            let reported = SeedRun {
                seed: params.seed,
                ndcg: evaluation.model.metrics.ndcg,
                recall: evaluation.model.metrics.recall,
                fit_seconds: train_seconds,
            };
            evaluate::seed_spread(&matrix, &params, &scorer, reported, ev_config.seed_runs)
        })?)
    } else {
        None
    };

    let export = match &config.export {
        Some(dir) => Some(timings.stage("export", || {
            let files = export::export(
                dir,
                &ExportInput {
                    users: &prepared.users,
                    items: &prepared.items,
                    train: &prepared.train,
                    test: &prepared.test,
                    rankings: &evaluation.model_rankings,
                    k,
                },
            )?;
            Ok(ExportInfo {
                dir: dir.clone(),
                files,
            })
        })?),
        None => None,
    };

    let content = timings.stage("content encoder", || {
        content::fit_and_evaluate(
            loaded.post_features.as_ref(),
            &prepared.items,
            model.item_factors.view(),
            popular.counts(),
            &config.content,
        )
    })?;

    let ann_index = timings.stage("index build", || {
        index::build(model.item_factors.view(), &config.ann, show, &config.cancel)
    })?;
    let build_seconds = timings.last_seconds();
    let measurement = timings.stage("index recall", || {
        let users = index::sample_users(
            &eval_split.train_items,
            config.ann_recall_users,
            params.seed,
        );
        Ok(index::measure(
            &ann_index,
            model.user_factors.view(),
            model.item_factors.view(),
            &eval_split.train_items,
            &users,
            k,
        ))
    })?;
    tracing::info!(
        recall = measurement.recall,
        k,
        "ann recall against brute force"
    );

    let models_dir = config.models_dir();
    let decision = timings.stage("gate", || {
        Ok(gate::evaluate(
            &models_dir,
            &GateInput {
                config: &config.gate,
                k,
                users: &prepared.users,
                items: &prepared.items,
                train: &prepared.train,
                test: &prepared.test,
                train_items: &eval_split.train_items,
                candidate: GateModel {
                    user_ids: prepared.users.ids(),
                    item_ids: prepared.items.ids(),
                    user_factors: model.user_factors.view(),
                    item_factors: model.item_factors.view(),
                    popularity: popular.counts(),
                },
                index_recall: measurement.recall,
                seed: params.seed,
            },
        ))
    })?;
    tracing::info!(
        accepted = decision.accepted,
        enforced = decision.enforced,
        candidate_ndcg = decision.candidate_ndcg,
        current_ndcg = decision.current_ndcg,
        current = decision.current_version.as_deref().unwrap_or(""),
        reason = decision.reason,
        "promotion gate"
    );

    let report_start = Instant::now();
    let fingerprint = publish::data_fingerprint(
        &prepared.users,
        &prepared.items,
        &prepared.train,
        config.weighting,
    );
    let version = publish::unique_version(
        &models_dir,
        publish::version_name(started, &fingerprint, &params, &config.ann)?,
    );
    let artifact_dir = models_dir.join(&version);
    let comparison = report::compare(&evaluation.model.metrics, &evaluation.most_popular.metrics);
    let mut report = Report {
        report_version: report::REPORT_VERSION,
        version: version.clone(),
        created_at: publish::rfc3339(started)?,
        artifact_dir: artifact_dir.clone(),
        dataset: DatasetInfo {
            source: loaded.source.clone(),
            path: loaded.path.clone(),
            min_rating: config.min_rating,
            dedup: dedup_name(config),
            weighting: config.weighting,
            data_fingerprint: fingerprint.clone(),
        },
        data: data_stats(&loaded, &prepared, evaluated_users),
        tuning,
        training: TrainingInfo {
            params: params.clone(),
            objective: model.loss_history.clone(),
            seconds: train_seconds,
            trainer,
        },
        evaluation: EvaluationReport {
            k,
            model: evaluation.model.clone(),
            most_popular: evaluation.most_popular.clone(),
            comparison,
            baselines,
            versus_als,
            seed_spread,
            segments: scorer.definition(),
            bootstrap: ev_config.bootstrap.clone(),
            sample,
        },
        ann: index::AnnReport {
            config: config.ann.clone(),
            build_seconds,
            measurement,
        },
        content: content.report,
        gate: decision.clone(),
        timings: Vec::new(),
        export,
        plots: report::plot_files(),
        history: Vec::new(),
    };
    report.history = report::history::collect(&models_dir, report.history_point());
    // The report cannot contain the time it takes to render itself: that is logged instead.
    report.timings = std::mem::take(&mut timings.done);
    let mut extra_files = report::render(&report)?;
    extra_files.push(gate::file(&decision)?);
    tracing::info!(
        stage = "report",
        seconds = report_start.elapsed().as_secs_f64(),
        "report rendered"
    );

    // The last boundary: past it the version is written and the run completes.
    timings.check("publish")?;
    let publish_start = Instant::now();
    let kept = publish::keep(
        &models_dir,
        PublishInput {
            version: &version,
            created_at: &report.created_at,
            fingerprint: &fingerprint,
            users: &prepared.users,
            items: &prepared.items,
            train_interactions: prepared.train.len(),
            model: &model,
            popularity: popular.counts(),
            index: &ann_index,
            ann: &config.ann,
            content_encoder: content.encoder.as_ref(),
            metrics: report::manifest_metrics(&report),
            extra_files: &extra_files,
        },
    )?;
    let made_current = decision.accepted && config.make_current;
    if made_current {
        models::artifact::set_current(&models_dir, &version)?;
    }
    tracing::info!(
        stage = "publish",
        seconds = publish_start.elapsed().as_secs_f64(),
        dir = %kept.display(),
        version,
        made_current,
        "{}",
        match (made_current, decision.accepted) {
            (true, _) => "published",
            (false, true) => "kept, accepted, current left to the caller",
            (false, false) => "kept, rejected by the promotion gate",
        }
    );
    // The version is in place whatever happens here: a failed clean-up is not a failed run.
    let pruned = match models::artifact::prune(&models_dir, config.keep_versions) {
        Ok(pruned) => {
            if !pruned.is_empty() {
                tracing::info!(
                    keep = config.keep_versions,
                    removed = pruned.join(", "),
                    "retention removed old model versions"
                );
            }
            pruned
        }
        Err(e) => {
            tracing::warn!(error = %e, "retention failed; no version was removed");
            Vec::new()
        }
    };
    Ok(RunOutcome {
        artifact_dir: kept,
        version,
        report,
        gate: decision,
        made_current,
        pruned,
    })
}

/// Name of the native ALS in the baselines of a Spark run.
pub const NATIVE_BESIDE_SPARK: &str = "ALS (native)";

/// The native ALS fitted with `params` on `matrix` and scored by `scorer`: the baseline a Spark run
/// reports beside its own model, with its rankings.
fn native_beside_spark(
    matrix: &models::sparse::CsrMatrix,
    params: &AlsParams,
    scorer: &Scorer<'_>,
) -> Result<(baselines::Baseline, evaluate::Rankings)> {
    let start = Instant::now();
    let native = train::fit(matrix, params, false)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    let (ranked, scores) = scorer.timed(fit_seconds, || {
        evaluate::rank_model(&native, scorer.split, scorer.depth(), false)
    });
    Ok((
        baselines::Baseline {
            name: NATIVE_BESIDE_SPARK.to_owned(),
            params: format!(
                "the same parameters on the native trainer ({} factors, λ {}, alpha {}, {} iterations)",
                params.factors, params.regularization, params.alpha, params.iterations
            ),
            validation: Vec::new(),
            scores: Some(scores),
            skipped: None,
        },
        ranked,
    ))
}

/// The dedup rule's name in the report.
fn dedup_name(config: &RunConfig) -> String {
    match config.effective_dedup() {
        datasets::split::Dedup::KeepLatest => "keep_latest".to_owned(),
        datasets::split::Dedup::SumWeights => "sum_weights".to_owned(),
    }
}

/// The data section of the report.
fn data_stats(loaded: &LoadedData, prepared: &PreparedData, evaluated_users: usize) -> DataStats {
    let users = prepared.users.len();
    let items = prepared.items.len();
    let interactions = prepared.train.len() + prepared.test.len();
    DataStats {
        rows_loaded: loaded.rows_loaded,
        skipped_rows: loaded.skipped_rows,
        below_min_rating: loaded.below_min_rating,
        duplicates_merged: loaded.duplicates_merged,
        users,
        items,
        interactions,
        density: if users * items == 0 {
            0.0
        } else {
            interactions as f64 / (users as f64 * items as f64)
        },
        train_interactions: prepared.train.len(),
        test_interactions: prepared.test.len(),
        evaluated_users,
        test_only_items: prepared.test_only_items(),
    }
}
