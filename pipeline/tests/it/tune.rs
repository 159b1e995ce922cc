//! The hyper-parameter search: it never sees test, it is seeded, it keeps its limits, and it finds the
//! good region of a problem that has one.

use std::path::Path;

use datasets::loader::LoadOptions;
use models::als::AlsParams;
use pipeline::tune::{self, Stop, Trial, TuneOutcome};
use pipeline::{DatasetSource, SearchSpace, TuneConfig, Weighting};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{Row, config, write_csv};

/// A small search: 8 configurations, rungs of 2 and 6 iterations, no refinement.
fn small_search() -> TuneConfig {
    TuneConfig {
        space: SearchSpace {
            factors: (2, 16),
            regularization: (0.01, 100.0),
            alpha: (0.1, 30.0),
            iterations: (2, 6),
        },
        configurations: 8,
        eta: 3,
        refine: false,
        max_trials: 100,
        budget_seconds: 600.0,
    }
}

/// Every trial without its timing.
fn trials_without_time(outcome: &TuneOutcome) -> Vec<Trial> {
    outcome
        .trials
        .iter()
        .map(|t| Trial {
            seconds: 0.0,
            ..t.clone()
        })
        .collect()
}

/// Loads `rows` through the pipeline's load and split stages and runs `search` with `seed`.
fn search_on(dir: &Path, rows: &[Row], search: &TuneConfig, seed: u64) -> TuneOutcome {
    let path = write_csv(dir, rows, &[]);
    let c = config(
        DatasetSource::File {
            path,
            options: LoadOptions::default(),
        },
        dir,
    );
    let (_, prepared) = pipeline::prepare(&c).unwrap();
    let validation = prepared.validation(Weighting::Binary).unwrap();
    let base = AlsParams {
        seed,
        ..AlsParams::default()
    };
    tune::search(&validation, &base, search, 10, false, &Default::default()).unwrap()
}

/// 150 users in 5 taste groups over 100 items (20 per group): each user has 12 to 19 distinct
/// items, 90 % from its own group, in a random order. Its last fifth is the test part, moved to
/// items 101 to 200; `test_shift` moves every test item to another one of that range, leaving the
/// train part as it is. User 999 has all of 101 to 200, so the catalog never changes.
fn grouped_rows(test_shift: u32) -> Vec<Row> {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut rows = Vec::new();
    for user in 1..=150u32 {
        let group = user % 5;
        let n = 12 + (user % 8) as usize;
        let mut items: Vec<u32> = Vec::new();
        while items.len() < n {
            let g = if rng.random::<f64>() < 0.9 {
                group
            } else {
                rng.random_range(0..5)
            };
            let item = 1 + g * 20 + rng.random_range(0..20);
            if !items.contains(&item) {
                items.push(item);
            }
        }
        let test_from = n - n / 5;
        for (j, &item) in items.iter().enumerate() {
            // Test items never collide with the user's train items after the shift: they move to a
            // 100-item range of their own.
            let item = if j >= test_from {
                101 + (item - 1 + test_shift) % 100
            } else {
                item
            };
            rows.push(Row {
                user,
                item,
                timestamp: 1_000 + j as i64,
                rating: 4.0,
            });
        }
    }
    for j in 0..100u32 {
        rows.push(Row {
            user: 999,
            item: 101 + j,
            timestamp: i64::from(j),
            rating: 4.0,
        });
    }
    rows
}

#[test]
fn the_search_never_sees_the_test_part() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let (rows_a, rows_b) = (grouped_rows(0), grouped_rows(37));
    // Same catalog, different test parts.
    let catalog = |rows: &[Row]| {
        let mut items: Vec<u32> = rows.iter().map(|r| r.item).collect();
        items.sort_unstable();
        items.dedup();
        items
    };
    assert_eq!(catalog(&rows_a), catalog(&rows_b));
    let a = search_on(dir_a.path(), &rows_a, &small_search(), 42);
    let b = search_on(dir_b.path(), &rows_b, &small_search(), 42);
    assert_eq!(trials_without_time(&a), trials_without_time(&b));
    assert_eq!(a.best_params, b.best_params);
    // 2,425 interactions, 414 of them in test; the rest is cut into fit and validation.
    assert_eq!(a.fit_interactions + a.validation_interactions, 2425 - 414);
}

#[test]
fn the_search_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let rows = grouped_rows(0);
    let a = search_on(dir.path(), &rows, &small_search(), 42);
    let b = search_on(dir.path(), &rows, &small_search(), 42);
    assert_eq!(a.stopped, Stop::Completed);
    assert_eq!(trials_without_time(&a), trials_without_time(&b));
    assert_eq!((a.best, &a.best_params), (b.best, &b.best_params));
    // 8 configurations on 2 iterations, the best 3 on 6.
    assert_eq!(a.trials.len(), 11);
    assert!(a.trials[..8].iter().all(|t| t.iterations == 2));
    assert!(a.trials[8..].iter().all(|t| t.iterations == 6));
    // The survivors are the best three of the first rung, best first.
    let mut first: Vec<&Trial> = a.trials[..8].iter().collect();
    first.sort_by(|x, y| y.ndcg.total_cmp(&x.ndcg));
    let kept: Vec<usize> = first[..3].iter().map(|t| t.configuration).collect();
    let ran: Vec<usize> = a.trials[8..].iter().map(|t| t.configuration).collect();
    assert_eq!(kept, ran);
    // The winner has the highest validation NDCG, and its parameters are the trial's.
    let top = a.trials.iter().map(|t| t.ndcg).fold(f64::MIN, f64::max);
    let w = &a.trials[a.best];
    assert_eq!(w.ndcg, top);
    assert_eq!(
        (
            a.best_params.factors,
            a.best_params.regularization,
            a.best_params.alpha,
            a.best_params.iterations
        ),
        (w.factors, w.regularization, w.alpha, w.iterations)
    );
    assert!(a.choice.contains(&format!("{:.4}", w.ndcg)), "{}", a.choice);
    // Another seed samples other configurations.
    let c = search_on(dir.path(), &rows, &small_search(), 43);
    assert_ne!(trials_without_time(&a), trials_without_time(&c));
}

#[test]
fn the_search_keeps_its_trial_cap_and_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    let rows = grouped_rows(0);
    let capped = TuneConfig {
        max_trials: 5,
        ..small_search()
    };
    let out = search_on(dir.path(), &rows, &capped, 42);
    assert_eq!(out.trials.len(), 5);
    assert_eq!(out.stopped, Stop::TrialCap);
    // A budget no fit can keep: the first trial runs (there must be a winner), no other.
    let tight = TuneConfig {
        budget_seconds: 1e-9,
        ..small_search()
    };
    let out = search_on(dir.path(), &rows, &tight, 42);
    assert_eq!(out.trials.len(), 1);
    assert_eq!(out.stopped, Stop::Budget);
    assert_eq!(out.best, 0);
}

#[test]
fn the_search_beats_a_bad_fixed_default_on_a_problem_with_a_good_region() {
    let dir = tempfile::tempdir().unwrap();
    let rows = grouped_rows(0);
    // The fixed point: too few factors for five groups, a penalty that flattens every vector.
    let bad = TuneConfig {
        space: SearchSpace {
            factors: (2, 2),
            regularization: (1000.0, 1000.0),
            alpha: (0.1, 0.1),
            iterations: (6, 6),
        },
        configurations: 1,
        refine: false,
        ..small_search()
    };
    let fixed = search_on(dir.path(), &rows, &bad, 42);
    assert_eq!(fixed.trials.len(), 1);
    let searched = search_on(
        dir.path(),
        &rows,
        &TuneConfig {
            space: SearchSpace {
                factors: (2, 16),
                regularization: (0.01, 1000.0),
                alpha: (0.1, 100.0),
                iterations: (2, 6),
            },
            configurations: 9,
            refine: true,
            ..small_search()
        },
        42,
    );
    let best = &searched.trials[searched.best];
    assert!(
        best.ndcg > fixed.trials[0].ndcg + 0.05,
        "searched {} vs fixed {}",
        best.ndcg,
        fixed.trials[0].ndcg
    );
    // The refinement bracket ran around the best of the first.
    assert!(searched.trials.iter().any(|t| t.bracket == 1));
    assert_eq!(searched.stopped, Stop::Completed);
}

/// The tuning benchmark of BENCHMARKS.md (opt-in): `--tune`'s default search and a long one (its
/// configurations from `SOCIAL_LIVE_TUNE_LONG`, default 243, with no cap and a two-hour budget) on
/// the validation split of one data set, each winner refitted on the whole train part and scored
/// once on test, beside the fixed defaults.
///
/// `SOCIAL_LIVE_DATA_DIR=data [SOCIAL_LIVE_TUNE_DATA=PATH] cargo nextest run -p pipeline
/// --run-ignored only --no-capture tuning_benchmark` (without `SOCIAL_LIVE_TUNE_DATA`:
/// MovieLens-100K, fetched when missing).
#[test]
#[ignore = "trains hundreds of models on a real data set; run with --run-ignored"]
fn tuning_benchmark() {
    use std::time::Instant;
    let data_dir = std::env::var_os("SOCIAL_LIVE_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("social-live-test-data"));
    let dataset = match std::env::var_os("SOCIAL_LIVE_TUNE_DATA") {
        Some(path) => DatasetSource::File {
            path: path.into(),
            options: LoadOptions::default(),
        },
        None => DatasetSource::Ml100k,
    };
    let long: usize = std::env::var("SOCIAL_LIVE_TUNE_LONG")
        .ok()
        .map_or(243, |v| v.parse().unwrap());
    let c = pipeline::RunConfig {
        dataset,
        data_dir,
        show_progress: false,
        ..pipeline::RunConfig::default()
    };
    let (_, prepared) = pipeline::prepare(&c).unwrap();
    let validation = prepared.validation(Weighting::Binary).unwrap();
    let base = AlsParams::default();
    let test_ndcg = |params: &AlsParams| {
        let (_, _, ev) =
            pipeline::fit_and_evaluate(&prepared, params, Weighting::Binary, 10, false).unwrap();
        ev.model.metrics.ndcg
    };
    eprintln!(
        "data: {} users, {} items, {} train, {} test; fixed defaults: test NDCG@10 {:.4}",
        prepared.users.len(),
        prepared.items.len(),
        prepared.train.len(),
        prepared.test.len(),
        test_ndcg(&base)
    );
    let searches = [
        ("--tune (default search)", TuneConfig::default()),
        (
            "long search",
            TuneConfig {
                configurations: long,
                max_trials: usize::MAX,
                budget_seconds: 7200.0,
                ..TuneConfig::default()
            },
        ),
    ];
    for (name, search) in searches {
        let start = Instant::now();
        let out =
            tune::search(&validation, &base, &search, 10, false, &Default::default()).unwrap();
        let seconds = start.elapsed().as_secs_f64();
        let p = &out.best_params;
        eprintln!(
            "{name}: {} trials in {seconds:.1} s ({:?}); factors {}, regularization {:.4}, alpha {:.4}, \
             {} iterations; validation NDCG@10 {:.4}; test NDCG@10 {:.4}",
            out.trials.len(),
            out.stopped,
            p.factors,
            p.regularization,
            p.alpha,
            p.iterations,
            out.trials[out.best].ndcg,
            test_ndcg(p)
        );
    }
}

#[test]
fn a_cancelled_search_stops_before_its_next_trial() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_csv(dir.path(), &grouped_rows(0), &[]);
    let c = config(
        DatasetSource::File {
            path,
            options: LoadOptions::default(),
        },
        dir.path(),
    );
    let (_, prepared) = pipeline::prepare(&c).unwrap();
    let validation = prepared.validation(Weighting::Binary).unwrap();
    let cancel = pipeline::Cancel::default();
    cancel.cancel();
    match tune::search(
        &validation,
        &AlsParams::default(),
        &small_search(),
        10,
        false,
        &cancel,
    ) {
        Err(pipeline::Error::Cancelled { at }) => assert!(at.contains("tune"), "{at}"),
        other => panic!("not cancelled: {other:?}"),
    }
}
