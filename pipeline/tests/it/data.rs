//! Small data sets and configs shared by the tests.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use models::als::AlsParams;
use pipeline::{DatasetSource, EvaluationConfig, RunConfig};

/// Quick ALS parameters: few factors and iterations.
pub fn quick_als() -> AlsParams {
    AlsParams {
        factors: 8,
        iterations: 3,
        ..AlsParams::default()
    }
}

/// A quick evaluation: one value per baseline grid (no validation search: the tests build the
/// pipeline unoptimised, where a dense EASE solve on 1,000 items takes seconds), 200 resamples and
/// 3 seed runs.
pub fn quick_evaluation() -> EvaluationConfig {
    let mut e = EvaluationConfig::default();
    e.bootstrap.resamples = 200;
    e.baselines.knn_neighbours = vec![50];
    e.baselines.ease_lambdas = vec![100.0];
    e
}

/// A config for `dataset` with its data under `data_dir`, quick ALS, a quick evaluation, no
/// progress bars.
pub fn config(dataset: DatasetSource, data_dir: &Path) -> RunConfig {
    RunConfig {
        dataset,
        data_dir: data_dir.to_path_buf(),
        als: quick_als(),
        ann_recall_users: 100,
        evaluation: quick_evaluation(),
        show_progress: false,
        ..RunConfig::default()
    }
}

/// One interaction of the hand-made rating log.
#[derive(Clone, Debug)]
pub struct Row {
    pub user: u32,
    pub item: u32,
    pub timestamp: i64,
    pub rating: f32,
}

/// A deterministic rating log: 40 users with 6 to 15 ratings each over 60 items (numeric ids), with
/// timestamp ties inside users (to exercise the split's tie-break on item id) and ratings 1 to 5.
pub fn rating_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for user in 1..=40u32 {
        let n = 6 + (user * 7) % 10;
        for j in 0..n {
            let item = 1 + (user * 11 + j * 13) % 60;
            rows.push(Row {
                user,
                item,
                // Pairs of ratings share a timestamp.
                timestamp: 1_000_000 + i64::from(j / 2) * 60 + i64::from(user),
                rating: (1 + (user + j) % 5) as f32,
            });
        }
    }
    rows
}

/// Writes `rows` as `user,item,timestamp,rating` CSV, inserting `extra` raw lines after data row
/// `after` (0-based), and returns the path.
pub fn write_csv(dir: &Path, rows: &[Row], extra: &[(usize, &str)]) -> PathBuf {
    let mut text = String::from("user,item,timestamp,rating\n");
    for (i, r) in rows.iter().enumerate() {
        writeln!(text, "{},{},{},{}", r.user, r.item, r.timestamp, r.rating).unwrap();
        for (_, line) in extra.iter().filter(|(after, _)| *after == i) {
            writeln!(text, "{line}").unwrap();
        }
    }
    let path = dir.join("ratings.csv");
    std::fs::write(&path, text).unwrap();
    path
}
