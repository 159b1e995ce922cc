//! The promotion gate on whole runs: a worse model is kept but not made current, a good one
//! replaces it, a disabled gate publishes anything, retention never removes the current version.

use std::path::Path;

use datasets::synthetic::SyntheticConfig;
use models::als::AlsParams;
use models::artifact::{current_version, read_gate, versions};
use pipeline::{DatasetSource, RunConfig, RunOutcome};

use crate::data::config;

/// A small network and a quick run: one seed run, few resamples, no content encoder (nothing
/// here is about them).
fn quick(dir: &Path) -> RunConfig {
    let mut c = config(
        DatasetSource::Synthetic(SyntheticConfig {
            users: 300,
            posts: 1_000,
            interactions: 20_000,
            ..SyntheticConfig::default()
        }),
        dir,
    );
    c.als = AlsParams {
        factors: 16,
        iterations: 5,
        ..AlsParams::default()
    };
    c.evaluation.seed_runs = 1;
    c.evaluation.bootstrap.resamples = 20;
    c.content.enabled = false;
    c
}

/// The deliberately worse model: two factors, one sweep, a crushing penalty.
fn worse(dir: &Path) -> RunConfig {
    let mut c = quick(dir);
    c.als = AlsParams {
        factors: 2,
        iterations: 1,
        regularization: 1000.0,
        ..AlsParams::default()
    };
    c
}

fn run(c: &RunConfig) -> RunOutcome {
    let outcome = pipeline::run(c).unwrap();
    // The decision is the same in the outcome, the report and gate.json.
    assert_eq!(outcome.report.gate, outcome.gate);
    assert_eq!(
        read_gate(&outcome.artifact_dir).unwrap().as_ref(),
        Some(&outcome.gate)
    );
    outcome
}

fn current(dir: &Path) -> Option<String> {
    current_version(&dir.join("models")).unwrap()
}

#[test]
fn a_worse_model_is_kept_not_published_and_a_good_one_replaces_it_with_retention() {
    let dir = tempfile::tempdir().unwrap();
    let models_dir = dir.path().join("models");
    let mut good = quick(dir.path());
    good.keep_versions = 2;
    let mut bad = worse(dir.path());
    bad.keep_versions = 2;

    let first = run(&good);
    assert!(first.gate.accepted && first.gate.enforced && first.made_current);
    assert!(
        first.gate.reason.starts_with("first model"),
        "{}",
        first.gate.reason
    );
    assert_eq!(first.gate.current_version, None);
    assert!(first.gate.candidate_ndcg.unwrap() > 0.0);
    assert!(first.gate.holdout.as_ref().unwrap().users > 0);
    assert_eq!(current(dir.path()), Some(first.version.clone()));

    let rejected = run(&bad);
    let g = &rejected.gate;
    assert!(!g.accepted && g.enforced && !rejected.made_current, "{g:?}");
    assert_eq!(g.current_version.as_deref(), Some(first.version.as_str()));
    let (candidate, previous) = (g.candidate_ndcg.unwrap(), g.current_ndcg.unwrap());
    assert!(candidate < previous * (1.0 - g.ndcg_tolerance), "{g:?}");
    assert!(
        g.reason.contains(&format!(
            "NDCG@10 {candidate:.4} is below {:.4} (98 % of the current version {}'s {previous:.4})",
            previous * 0.98,
            first.version
        )),
        "{}",
        g.reason
    );
    // The current version is scored on the same holdout as the candidate: its NDCG there is
    // what the first run measured for itself on that holdout.
    assert_eq!(g.holdout, first.gate.holdout);
    assert_eq!(Some(previous), first.gate.candidate_ndcg);
    // Kept for inspection, with its gate record; the current model stays.
    assert_eq!(current(dir.path()), Some(first.version.clone()));
    assert!(rejected.artifact_dir.join("manifest.json").is_file());
    assert_eq!(
        read_gate(&rejected.artifact_dir).unwrap().unwrap().reason,
        g.reason
    );
    let listed = versions(&models_dir).unwrap();
    assert!(
        listed
            .iter()
            .any(|v| v.version == rejected.version && v.rejected() && !v.current)
    );

    // A second rejection: three versions, two to keep, but the oldest is current.
    let rejected_again = run(&bad);
    assert!(!rejected_again.made_current);
    assert!(
        rejected_again.pruned.is_empty(),
        "{:?}",
        rejected_again.pruned
    );
    assert!(first.artifact_dir.is_dir());

    // The good model again: as good as the current one, so it is accepted and made current;
    // retention then removes both versions beyond the newest two.
    let accepted = run(&good);
    assert!(accepted.gate.accepted && accepted.made_current);
    assert_eq!(accepted.gate.candidate_ndcg, accepted.gate.current_ndcg);
    assert_eq!(current(dir.path()), Some(accepted.version.clone()));
    assert_eq!(
        accepted.pruned,
        [rejected.version.clone(), first.version.clone()]
    );
    let left: Vec<String> = versions(&models_dir)
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(left, [accepted.version.clone(), rejected_again.version]);
    // The report says what happened.
    let md = std::fs::read_to_string(accepted.artifact_dir.join("report.md")).unwrap();
    assert!(md.contains("## Promotion gate"), "{md}");
    assert!(md.contains("**Accepted**"), "{md}");
}

#[test]
fn a_disabled_gate_publishes_a_worse_model_and_says_what_it_would_have_done() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(&quick(dir.path()));
    let mut c = worse(dir.path());
    c.gate.enabled = false;
    let forced = run(&c);
    assert!(forced.made_current);
    assert!(forced.gate.accepted && !forced.gate.enforced);
    assert!(
        forced
            .gate
            .reason
            .starts_with("the gate is disabled, so it was not enforced; it would have rejected"),
        "{}",
        forced.gate.reason
    );
    assert_eq!(
        forced.gate.current_version.as_deref(),
        Some(first.version.as_str())
    );
    assert_eq!(current(dir.path()), Some(forced.version));
}

#[test]
fn make_current_false_leaves_the_pointer_to_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = quick(dir.path());
    c.make_current = false;
    let outcome = run(&c);
    assert!(outcome.gate.accepted && !outcome.made_current);
    assert_eq!(current(dir.path()), None);
    assert!(outcome.artifact_dir.join("manifest.json").is_file());
    // The caller makes it current once it has checked what it must.
    models::artifact::set_current(&dir.path().join("models"), &outcome.version).unwrap();
    assert_eq!(current(dir.path()), Some(outcome.version));
}
