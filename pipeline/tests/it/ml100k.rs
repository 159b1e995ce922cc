//! MovieLens-100K end to end (opt-in: it fetches the data set when missing and trains for real).
//!
//! `SOCIAL_LIVE_DATA_DIR=data cargo nextest run -p pipeline --run-ignored only ml100k`

use models::als::AlsParams;
use pipeline::{DatasetSource, RunConfig};

#[test]
#[ignore = "fetches MovieLens-100K and trains on it; run with --run-ignored"]
fn ml100k_end_to_end_beats_most_popular() {
    let data_dir = std::env::var_os("SOCIAL_LIVE_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("social-live-test-data"));
    // Models go to `<data_dir>/models`, so the report can be looked at afterwards.
    let config = RunConfig {
        dataset: DatasetSource::Ml100k,
        export: Some(data_dir.join("export")),
        data_dir,
        als: AlsParams {
            iterations: 15,
            ..AlsParams::default()
        },
        tune: std::env::var_os("SOCIAL_LIVE_TUNE").is_some(),
        show_progress: false,
        ..RunConfig::default()
    };
    let outcome = pipeline::run(&config).unwrap();
    let r = &outcome.report;
    // The protocol's numbers for MovieLens-100K, variant "all".
    assert_eq!(r.data.users, 943);
    assert_eq!(r.data.items, 1682);
    assert_eq!(r.data.interactions, 100_000);
    assert_eq!(
        r.data.train_interactions + r.data.test_interactions,
        100_000
    );
    assert_eq!(r.data.evaluated_users, 943);
    let model = &r.evaluation.model.metrics;
    let popular = &r.evaluation.most_popular.metrics;
    assert!(
        model.ndcg > popular.ndcg,
        "{} vs {}",
        model.ndcg,
        popular.ndcg
    );
    let md = std::fs::read_to_string(outcome.artifact_dir.join("report.md")).unwrap();
    eprintln!("{md}");
}
