//! The same data and seed give the same metrics and the same checksummed artifact files.

use datasets::synthetic::SyntheticConfig;
use models::artifact::Artifact;
use pipeline::{DatasetSource, RunOutcome};

use crate::data::config;

fn small_synthetic() -> SyntheticConfig {
    SyntheticConfig {
        users: 300,
        posts: 1_000,
        interactions: 20_000,
        ..SyntheticConfig::default()
    }
}

fn run_in(dir: &std::path::Path) -> RunOutcome {
    let mut c = config(DatasetSource::Synthetic(small_synthetic()), dir);
    c.ann_recall_users = 200;
    pipeline::run(&c).unwrap()
}

#[test]
fn two_runs_give_identical_metrics_and_checksums() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = run_in(a_dir.path());
    let b = run_in(b_dir.path());

    let (ra, rb) = (&a.report, &b.report);
    assert_eq!(ra.evaluation.model.metrics, rb.evaluation.model.metrics);
    assert_eq!(
        ra.evaluation.most_popular.metrics,
        rb.evaluation.most_popular.metrics
    );
    assert_eq!(
        ra.evaluation.model.recall_curve,
        rb.evaluation.model.recall_curve
    );
    assert_eq!(ra.evaluation.comparison, rb.evaluation.comparison);
    // The baselines, the intervals, the segments and the seed spread too (timings aside).
    let scores = |r: &pipeline::Report| -> Vec<_> {
        r.evaluation
            .scored_models()
            .into_iter()
            .map(|(name, s)| {
                (
                    name.to_owned(),
                    s.metrics.clone(),
                    s.intervals,
                    s.users_by_activity.clone(),
                    s.items_by_popularity.clone(),
                    s.novelty,
                )
            })
            .collect()
    };
    assert_eq!(scores(ra), scores(rb));
    assert_eq!(scores(ra).len(), 5);
    let ndcgs = |r: &pipeline::Report| -> Vec<f64> {
        let spread = r.evaluation.seed_spread.as_ref().unwrap();
        spread.runs.iter().map(|x| x.ndcg).collect()
    };
    assert_eq!(ndcgs(ra), ndcgs(rb));
    assert_eq!(ra.training.objective, rb.training.objective);
    assert_eq!(ra.ann.measurement.recall, rb.ann.measurement.recall);
    let sweep = |o: &RunOutcome| -> Vec<(usize, f64)> {
        o.report
            .ann
            .measurement
            .sweep
            .iter()
            .map(|p| (p.ef, p.recall))
            .collect()
    };
    assert_eq!(sweep(&a), sweep(&b));
    assert_eq!(ra.data, rb.data);
    assert_eq!(ra.dataset.data_fingerprint, rb.dataset.data_fingerprint);
    // The hash part of the version name depends only on data and parameters.
    assert_eq!(a.version.split('-').nth(1), b.version.split('-').nth(1));

    let ma = Artifact::load(&a.artifact_dir).unwrap().manifest;
    let mb = Artifact::load(&b.artifact_dir).unwrap().manifest;
    assert!(!ma.files.is_empty());
    assert_eq!(ma.files, mb.files);
    assert_eq!(ma.metrics, mb.metrics);
    assert_eq!(ma.counts, mb.counts);

    // Synthetic social events: weights summed per (user, post), binary training by default.
    assert_eq!(ra.dataset.dedup, "sum_weights");
    assert_eq!(ra.data.rows_loaded, 20_000);
    assert!(ra.data.duplicates_merged > 0);
    // The model should beat the popularity baseline on data generated from hidden affinities.
    assert!(ra.evaluation.model.metrics.users > 0);
}
