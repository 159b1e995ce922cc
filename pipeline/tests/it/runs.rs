//! Whole runs: the published artifact, the report and the grid search.

use datasets::loader::LoadOptions;
use models::artifact::{Artifact, current_version};
use pipeline::{DatasetSource, SearchSpace, TuneConfig};

use crate::data::{config, rating_rows, write_csv};

fn csv_config(dir: &std::path::Path) -> pipeline::RunConfig {
    let path = write_csv(dir, &rating_rows(), &[]);
    config(
        DatasetSource::File {
            path,
            options: LoadOptions::default(),
        },
        dir,
    )
}

#[test]
fn run_publishes_a_loadable_artifact_with_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let c = csv_config(dir.path());
    let outcome = pipeline::run(&c).unwrap();
    let models_dir = dir.path().join("models");
    assert_eq!(outcome.artifact_dir, models_dir.join(&outcome.version));
    assert_eq!(
        current_version(&models_dir).unwrap(),
        Some(outcome.version.clone())
    );

    let artifact = Artifact::load_current(&models_dir).unwrap();
    let m = &artifact.manifest;
    assert_eq!(m.version, outcome.version);
    assert_eq!(m.data_fingerprint, outcome.report.dataset.data_fingerprint);
    assert_eq!(m.counts.users, 40);
    assert_eq!(m.counts.items, outcome.report.data.items);
    assert_eq!(
        m.counts.interactions,
        outcome.report.data.train_interactions
    );
    assert_eq!(m.model, outcome.report.training.params);
    assert_eq!(
        m.metrics["test"]["model"]["ndcg"],
        outcome.report.evaluation.model.metrics.ndcg
    );
    // Raw ids in numeric order; the catalog has every item of the data.
    let ids: Vec<u32> = artifact
        .item_ids
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(ids.len(), outcome.report.data.items);
    assert_eq!(artifact.user_ids.first().map(String::as_str), Some("1"));
    assert_eq!(artifact.user_ids.last().map(String::as_str), Some("40"));

    // The report files are in the artifact but not checksummed.
    for name in [
        "report.json",
        "report.md",
        "objective.svg",
        "recall_at_k.svg",
        "ann_recall.svg",
    ] {
        assert!(outcome.artifact_dir.join(name).is_file(), "{name}");
        assert!(
            !m.files.contains_key(name),
            "{name} must not be checksummed"
        );
    }
    let json: pipeline::Report =
        serde_json::from_slice(&std::fs::read(outcome.artifact_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json, outcome.report);

    // The report's numbers are consistent with each other.
    let r = &outcome.report;
    assert_eq!(r.training.objective.len(), c.als.iterations);
    assert_eq!(r.evaluation.model.recall_curve.len(), 50);
    assert!((r.evaluation.model.recall_curve[9] - r.evaluation.model.metrics.recall).abs() < 1e-12);
    assert_eq!(
        r.data.train_interactions + r.data.test_interactions,
        r.data.interactions
    );
    assert!(r.ann.measurement.recall > 0.0 && r.ann.measurement.recall <= 1.0);
    assert_eq!(r.ann.measurement.users_sampled, 40);
    let stages: Vec<&str> = r.timings.iter().map(|t| t.stage.as_str()).collect();
    assert_eq!(
        stages,
        [
            "load",
            "split",
            "train",
            "evaluate",
            "baselines",
            "seed spread",
            "content encoder",
            "index build",
            "index recall",
            "gate"
        ]
    );
    assert!(r.tuning.is_none());
}

#[test]
fn tuning_records_every_trial_and_trains_with_the_winner() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = csv_config(dir.path());
    c.tune = true;
    c.search = TuneConfig {
        space: SearchSpace {
            factors: (4, 8),
            regularization: (0.1, 10.0),
            alpha: (1.0, 10.0),
            iterations: (2, 4),
        },
        configurations: 4,
        eta: 2,
        refine: false,
        ..TuneConfig::default()
    };
    let outcome = pipeline::run(&c).unwrap();
    let tuning = outcome.report.tuning.as_ref().unwrap();
    // 4 configurations on 2 iterations, the best 2 on 4.
    let iterations: Vec<usize> = tuning.trials.iter().map(|t| t.iterations).collect();
    assert_eq!(iterations, [2, 2, 2, 2, 4, 4]);
    // The winner is the first trial with the highest validation NDCG.
    let best_score = tuning
        .trials
        .iter()
        .map(|t| t.ndcg)
        .fold(f64::NEG_INFINITY, f64::max);
    let first_best = tuning
        .trials
        .iter()
        .position(|t| t.ndcg == best_score)
        .unwrap();
    assert_eq!(tuning.best, first_best);
    let winner = &tuning.trials[tuning.best];
    let trained = &outcome.report.training.params;
    assert_eq!(
        (
            trained.factors,
            trained.regularization,
            trained.alpha,
            trained.iterations
        ),
        (
            winner.factors,
            winner.regularization,
            winner.alpha,
            winner.iterations
        )
    );
    assert_eq!(trained.seed, c.als.seed);
    assert_eq!(tuning.best_params, *trained);
    // The validation split is cut from train only.
    assert_eq!(
        tuning.fit_interactions + tuning.validation_interactions,
        outcome.report.data.train_interactions
    );
    let stages: Vec<&str> = outcome
        .report
        .timings
        .iter()
        .map(|t| t.stage.as_str())
        .collect();
    assert_eq!(stages[2], "tune");
    // Every trial and the choice are in report.md.
    let md = std::fs::read_to_string(outcome.artifact_dir.join("report.md")).unwrap();
    assert!(md.contains(&tuning.choice));
    for (i, t) in tuning.trials.iter().enumerate() {
        let row = format!("| {} | {} | {} | {} |", i + 1, t.bracket, t.rung, t.factors);
        assert!(md.contains(&row), "{row}");
    }
}

#[test]
fn models_dir_override_and_two_runs_in_one_second_get_distinct_versions() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = csv_config(dir.path());
    c.models_dir = Some(dir.path().join("elsewhere"));
    let a = pipeline::run(&c).unwrap();
    let b = pipeline::run(&c).unwrap();
    assert!(a.artifact_dir.starts_with(dir.path().join("elsewhere")));
    assert_ne!(a.version, b.version);
    // Same data and parameters: the same hash part.
    assert_eq!(a.version.split('-').nth(1), b.version.split('-').nth(1));
    assert_eq!(
        current_version(&dir.path().join("elsewhere")).unwrap(),
        Some(b.version.clone())
    );
}

#[test]
fn stage_functions_reproduce_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let c = csv_config(dir.path());
    let outcome = pipeline::run(&c).unwrap();
    let (loaded, prepared) = pipeline::prepare(&c).unwrap();
    assert_eq!(loaded.rows_loaded, outcome.report.data.rows_loaded);
    let (model, _, evaluation) =
        pipeline::fit_and_evaluate(&prepared, &c.als, c.weighting, c.k, false).unwrap();
    assert_eq!(model.loss_history, outcome.report.training.objective);
    assert_eq!(
        evaluation.model.metrics,
        outcome.report.evaluation.model.metrics
    );
    assert_eq!(
        evaluation.most_popular.metrics,
        outcome.report.evaluation.most_popular.metrics
    );
}

#[test]
fn report_holds_every_baseline_intervals_seed_spread_and_segments() {
    let dir = tempfile::tempdir().unwrap();
    let c = csv_config(dir.path());
    let outcome = pipeline::run(&c).unwrap();
    let ev = &outcome.report.evaluation;
    let names: Vec<&str> = ev.baselines.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["ItemKNN", "EASE", "Random"]);
    // 60 items: EASE fits.
    assert!(ev.baselines.iter().all(|b| b.scores.is_some()));
    let users = outcome.report.data.evaluated_users;
    for (name, s) in ev.scored_models() {
        let (m, ci) = (&s.metrics, &s.intervals);
        assert_eq!(m.users, users, "{name}");
        for (v, i) in [
            (m.ndcg, ci.ndcg),
            (m.recall, ci.recall),
            (s.novelty, ci.novelty),
        ] {
            assert!(i.low <= v && v <= i.high, "{name}: {v} not in {i:?}");
        }
        let seg_users: usize = s.users_by_activity.iter().map(|x| x.users).sum();
        assert_eq!(seg_users, users, "{name}");
        let p = &s.items_by_popularity;
        assert!(
            (p.recall_head + p.recall_tail - m.recall).abs() < 1e-9,
            "{name}"
        );
    }
    // The paired differences: ALS minus every other scored model, equal to the difference of the
    // means.
    let others: Vec<&str> = ev.versus_als.iter().map(|d| d.model.as_str()).collect();
    assert_eq!(others, ["MostPopular", "ItemKNN", "EASE", "Random"]);
    for d in &ev.versus_als {
        let (_, other) = ev
            .scored_models()
            .into_iter()
            .find(|(n, _)| *n == d.model)
            .unwrap();
        let expected = ev.model.metrics.ndcg - other.metrics.ndcg;
        assert!((d.ndcg - expected).abs() < 1e-9, "{d:?}");
        assert!(d.ndcg_ci.low <= d.ndcg && d.ndcg <= d.ndcg_ci.high, "{d:?}");
    }
    let spread = ev.seed_spread.as_ref().unwrap();
    let seeds: Vec<u64> = spread.runs.iter().map(|r| r.seed).collect();
    assert_eq!(seeds, [c.als.seed, c.als.seed + 1, c.als.seed + 2]);
    assert_eq!(spread.runs[0].ndcg, ev.model.metrics.ndcg);
    assert!(spread.ndcg.min <= spread.ndcg.mean && spread.ndcg.mean <= spread.ndcg.max);
    let md = std::fs::read_to_string(outcome.artifact_dir.join("report.md")).unwrap();
    assert!(md.contains("### Every model (K = 10)"), "{md}");
    assert!(md.contains("| EASE | "), "{md}");

    // With the quick config's single values nothing is searched.
    assert!(ev.baselines.iter().all(|b| b.validation.is_empty()));

    // Grids are searched on the validation split, and the winner is the one refitted.
    let mut grid = csv_config(dir.path());
    grid.evaluation.baselines.knn_neighbours = vec![2, 20];
    grid.evaluation.baselines.ease_lambdas = vec![1.0, 50.0];
    let outcome = pipeline::run(&grid).unwrap();
    for b in &outcome.report.evaluation.baselines[..2] {
        let values: Vec<f64> = b.validation.iter().map(|p| p.value).collect();
        assert_eq!(values.len(), 2, "{b:?}");
        let best =
            b.validation.iter().fold(
                &b.validation[0],
                |best, p| if p.ndcg > best.ndcg { p } else { best },
            );
        assert!(
            b.params.contains(&format!(" {} ", best.value)),
            "{}: {}",
            b.name,
            b.params
        );
    }

    // A catalog above EASE's limit skips it and says why; one seed run reports no spread.
    let mut small = csv_config(dir.path());
    small.evaluation.baselines.ease_max_items = 10;
    small.evaluation.seed_runs = 1;
    let outcome = pipeline::run(&small).unwrap();
    let ev = &outcome.report.evaluation;
    let ease = &ev.baselines[1];
    assert!(ease.scores.is_none());
    assert!(
        ease.skipped.as_deref().unwrap().contains("limit of 10"),
        "{ease:?}"
    );
    assert_eq!(ev.seed_spread, None);
    assert_eq!(ev.scored_models().len(), 4);
}

#[test]
fn a_cancelled_run_stops_at_a_stage_boundary_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = csv_config(dir.path());
    let first = pipeline::run(&c).unwrap();
    let models_dir = dir.path().join("models");
    let kept = models::artifact::versions(&models_dir).unwrap().len();
    let c = pipeline::RunConfig {
        cancel: pipeline::Cancel::default(),
        ..c
    };
    c.cancel.cancel();
    match pipeline::run(&c) {
        Err(pipeline::Error::Cancelled { at }) => assert_eq!(at, "before the load stage"),
        other => panic!("not cancelled: {other:?}"),
    }
    assert_eq!(models::artifact::versions(&models_dir).unwrap().len(), kept);
    assert_eq!(current_version(&models_dir).unwrap(), Some(first.version));
}

#[test]
fn a_cancelled_index_build_stops_between_batches() {
    let factors = ndarray::Array2::from_shape_fn((2_000, 8), |(i, j)| {
        ((i * 31 + j * 7) % 97) as f32 / 97.0 - 0.5
    });
    let cancel = pipeline::Cancel::default();
    cancel.cancel();
    let built = pipeline::index::build(
        factors.view(),
        &models::ann::AnnConfig::default(),
        false,
        &cancel,
    );
    assert!(
        matches!(built, Err(pipeline::Error::Cancelled { .. })),
        "{built:?}"
    );
    // Not cancelled: the same call builds.
    let built = pipeline::index::build(
        factors.view(),
        &models::ann::AnnConfig::default(),
        false,
        &pipeline::Cancel::default(),
    )
    .unwrap();
    assert_eq!(built.len(), 2_000);
}

#[test]
fn the_nightly_profile_samples_users_skips_the_extras_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let full = csv_config(dir.path());
    let mut nightly = full.clone();
    nightly.evaluation = pipeline::EvaluationConfig {
        max_users: Some(12),
        bootstrap: full.evaluation.bootstrap.clone(),
        ..pipeline::EvaluationConfig::nightly()
    };
    nightly.gate.max_users = Some(7);
    let whole = pipeline::run(&full).unwrap().report;
    let sampled = pipeline::run(&nightly).unwrap();
    let ev = &sampled.report.evaluation;
    let eligible = whole.data.evaluated_users;
    assert!(eligible > 12, "{eligible} users with test items");
    assert_eq!(
        ev.sample,
        Some(pipeline::UserSample {
            users: 12,
            eligible_users: eligible,
            seed: full.als.seed
        })
    );
    assert_eq!(whole.evaluation.sample, None);
    // The data section still counts every user with test items; the metrics count the sample.
    assert_eq!(sampled.report.data.evaluated_users, eligible);
    assert_eq!(ev.model.metrics.users, 12);
    assert_eq!(ev.most_popular.metrics.users, 12);
    assert_eq!(whole.evaluation.model.metrics.users, eligible);
    // No seed spread, no baselines (each listed as skipped, with the reason), no stage for them.
    assert_eq!(ev.seed_spread, None);
    assert_eq!(ev.scored_models().len(), 2);
    assert!(
        ev.baselines.iter().all(|b| b
            .skipped
            .as_deref()
            .is_some_and(|r| r.contains("baselines off"))),
        "{:?}",
        ev.baselines
    );
    let stages: Vec<&str> = sampled
        .report
        .timings
        .iter()
        .map(|t| t.stage.as_str())
        .collect();
    assert!(
        !stages.contains(&"baselines") && !stages.contains(&"seed spread"),
        "{stages:?}"
    );
    // The gate scored a sample of its holdout and says so.
    let holdout = sampled.gate.holdout.as_ref().unwrap();
    assert_eq!(holdout.users, 7);
    assert!(holdout.sampled_from.is_some_and(|n| n > 7), "{holdout:?}");
    assert!(
        sampled.gate.reason.contains("a seeded sample"),
        "{}",
        sampled.gate.reason
    );
    let markdown = std::fs::read_to_string(sampled.artifact_dir.join("report.md")).unwrap();
    assert!(
        markdown.contains(&format!(
            "**A sample:** 12 of the {eligible} users with test items"
        )),
        "{markdown}"
    );
}

#[test]
fn every_report_carries_the_run_history_of_its_models_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = csv_config(dir.path());
    c.keep_versions = 1;
    let first = pipeline::run(&c).unwrap();
    assert_eq!(first.report.history, vec![first.report.history_point()]);
    // Version names (and the history's order) are the start second, then a hash: one run per second.
    let next_second = || std::thread::sleep(std::time::Duration::from_millis(1100));
    next_second();
    let second = pipeline::run(&c).unwrap();
    // Retention removed the first version, but the second report carried it on.
    assert_eq!(second.pruned, vec![first.version.clone()]);
    next_second();
    let third = pipeline::run(&c).unwrap();
    let versions: Vec<&str> = third
        .report
        .history
        .iter()
        .map(|p| p.version.as_str())
        .collect();
    assert_eq!(
        versions,
        [
            first.version.as_str(),
            second.version.as_str(),
            third.version.as_str()
        ]
    );
    let p = &third.report.history[0];
    assert_eq!(
        (p.ndcg, p.recall, p.most_popular_ndcg, p.accepted),
        (
            first.report.evaluation.model.metrics.ndcg,
            first.report.evaluation.model.metrics.recall,
            first.report.evaluation.most_popular.metrics.ndcg,
            true
        )
    );
    // The plot and the report's section are published with the version.
    let svg = std::fs::read_to_string(third.artifact_dir.join("history.svg")).unwrap();
    assert!(svg.contains("Test metrics per run"), "{svg}");
    assert_eq!(
        svg.matches("<circle").count(),
        9,
        "three series of three runs"
    );
    let markdown = std::fs::read_to_string(third.artifact_dir.join("report.md")).unwrap();
    assert!(markdown.contains("## History"), "{markdown}");
    assert!(markdown.contains(&first.version), "{markdown}");
    assert!(third.report.plots.contains(&"history.svg".to_owned()));
}
