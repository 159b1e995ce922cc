//! Interaction files: malformed rows, skipped rows, filters that leave nothing.

use datasets::loader::LoadOptions;
use pipeline::{DatasetSource, Error};

use crate::data::{config, rating_rows, write_csv};

fn file_source(path: std::path::PathBuf, skip_bad_rows: bool) -> DatasetSource {
    DatasetSource::File {
        path,
        options: LoadOptions {
            skip_bad_rows,
            ..LoadOptions::default()
        },
    }
}

#[test]
fn malformed_row_is_an_error_naming_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    // Header is line 1, data row i is line i + 2: the bad row after data row 9 is line 12.
    let path = write_csv(dir.path(), &rating_rows(), &[(9, "3,17,yesterday,4")]);
    let err = pipeline::run(&config(file_source(path.clone(), false), dir.path())).unwrap_err();
    match &err {
        Error::Dataset(datasets::Error::MalformedRow {
            file, line, column, ..
        }) => {
            assert_eq!(file, &path);
            assert_eq!(*line, 12);
            assert_eq!(column, "timestamp");
        }
        other => panic!("expected a malformed-row error, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(":12:") && message.contains("timestamp"),
        "{message}"
    );
    // Nothing was published.
    assert!(!dir.path().join("models").join("current").exists());
}

#[test]
fn skipped_rows_are_counted_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let rows = rating_rows();
    let path = write_csv(
        dir.path(),
        &rows,
        &[
            (3, "3,17,yesterday,4"),
            (20, "4,not-a-rating-row"),
            (50, "5,18,1000,five"),
        ],
    );
    let outcome = pipeline::run(&config(file_source(path, true), dir.path())).unwrap();
    let data = &outcome.report.data;
    assert_eq!(data.skipped_rows, 3);
    assert_eq!(data.rows_loaded, rows.len());
    assert_eq!(data.interactions, rows.len());
    assert_eq!(data.users, 40);
    // The Markdown report says it too.
    let md = std::fs::read_to_string(outcome.artifact_dir.join("report.md")).unwrap();
    assert!(md.contains("| malformed rows skipped | 3 |"), "{md}");
}

#[test]
fn min_rating_that_removes_everything_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_csv(dir.path(), &rating_rows(), &[]);
    let mut c = config(file_source(path, false), dir.path());
    c.min_rating = Some(6.0);
    let err = pipeline::run(&c).unwrap_err();
    assert!(
        matches!(
            err,
            Error::EmptyData {
                stage: "the min_rating filter"
            }
        ),
        "{err:?}"
    );
}

#[test]
fn min_rating_filters_before_the_split() {
    let dir = tempfile::tempdir().unwrap();
    let rows = rating_rows();
    let path = write_csv(dir.path(), &rows, &[]);
    let mut c = config(file_source(path, false), dir.path());
    c.min_rating = Some(4.0);
    let outcome = pipeline::run(&c).unwrap();
    let kept = rows.iter().filter(|r| r.rating >= 4.0).count();
    let data = &outcome.report.data;
    assert_eq!(data.below_min_rating, rows.len() - kept);
    assert_eq!(data.interactions, kept);
    assert_eq!(outcome.report.dataset.min_rating, Some(4.0));
}

#[test]
fn data_without_any_test_interaction_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // Every user has 4 interactions: all stay in train.
    let rows: Vec<_> = rating_rows()
        .into_iter()
        .filter(|r| (r.timestamp - 1_000_000) / 60 < 2)
        .collect();
    assert!(!rows.is_empty());
    let path = write_csv(dir.path(), &rows, &[]);
    let err = pipeline::run(&config(file_source(path, false), dir.path())).unwrap_err();
    assert!(
        matches!(err, Error::NothingToEvaluate { split: "test" }),
        "{err:?}"
    );
}

#[test]
fn invalid_config_is_rejected_before_loading() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(
        file_source(dir.path().join("missing.csv"), false),
        dir.path(),
    );
    c.k = 0;
    let err = pipeline::run(&c).unwrap_err();
    assert!(
        matches!(err, Error::InvalidConfig { field: "k", .. }),
        "{err:?}"
    );
}

#[test]
fn tuning_without_a_validation_split_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // Every user has 5 interactions: 1 goes to test, and the 4 left in train are too few to cut a
    // validation part from.
    let mut seen = std::collections::HashMap::new();
    let rows: Vec<_> = rating_rows()
        .into_iter()
        .filter(|r| {
            let n = seen.entry(r.user).or_insert(0);
            *n += 1;
            *n <= 5
        })
        .collect();
    let path = write_csv(dir.path(), &rows, &[]);
    let mut c = config(file_source(path, false), dir.path());
    c.tune = true;
    let err = pipeline::run(&c).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NothingToEvaluate {
                split: "validation"
            }
        ),
        "{err:?}"
    );
}

#[test]
fn export_into_a_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_csv(dir.path(), &rating_rows(), &[]);
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let mut c = config(file_source(path, false), dir.path());
    c.export = Some(blocker.clone());
    let err = pipeline::run(&c).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if *path == blocker),
        "{err:?}"
    );
}
