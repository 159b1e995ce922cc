//! `pipeline run --dataset db`: the database read straight into the run, and its snapshot
//! training the same model offline.

use std::path::Path;

use datasets::synthetic::SyntheticConfig;

use super::{block_on, social_live};

/// The checksums of every file of the current version (vectors, ids, index, popularity,
/// content encoder).
fn model_files(models: &Path) -> Vec<(String, String)> {
    let version = std::fs::read_to_string(models.join("current")).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(models.join(version.trim()).join("manifest.json")).unwrap(),
    )
    .unwrap();
    let files = manifest["files"].as_object().unwrap();
    let mut sums: Vec<(String, String)> = files
        .iter()
        .map(|(name, entry)| (name.clone(), entry["sha256"].as_str().unwrap().to_owned()))
        .collect();
    sums.sort();
    sums
}

#[test]
fn a_run_on_the_database_and_one_on_its_snapshot_train_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let url = api::store::default_database_url(dir.path());
    let net = datasets::synthetic::generate(&SyntheticConfig {
        users: 200,
        posts: 500,
        interactions: 8000,
        ..SyntheticConfig::default()
    })
    .unwrap();
    block_on(async {
        let store = api::Store::connect(&url, 1).await.unwrap();
        store.seed(&net, "demo", "").await.unwrap();
        store.pool.close().await;
    });
    let snapshot = dir.path().join("snapshot");
    let (from_db, from_file) = (dir.path().join("m-db"), dir.path().join("m-file"));
    let small = ["--factors", "16", "--iterations", "5"];
    let run = |args: &[&str]| {
        let out = social_live(dir.path(), args);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut db_args = vec!["pipeline", "run", "--dataset", "db", "--database-url", &url];
    db_args.extend(["--snapshot", snapshot.to_str().unwrap()]);
    db_args.extend(["--out", from_db.to_str().unwrap()]);
    db_args.extend(small);
    run(&db_args);
    // Building the configuration exported nothing: only the snapshot asked for.
    assert!(!dir.path().join("datasets/db").exists());
    let interactions = snapshot.join("interactions.csv");
    let posts = snapshot.join("posts.csv");
    let mut file_args = vec![
        "pipeline",
        "run",
        "--dataset",
        interactions.to_str().unwrap(),
    ];
    file_args.extend(["--posts", posts.to_str().unwrap(), "--weighting", "raw"]);
    file_args.extend(["--out", from_file.to_str().unwrap()]);
    file_args.extend(small);
    run(&file_args);
    let (a, b) = (model_files(&from_db), model_files(&from_file));
    assert!(
        a.iter().any(|(name, _)| name == "item_factors.npy"),
        "{a:?}"
    );
    assert_eq!(a, b, "the same rows train the same model");
}

#[test]
fn bad_database_options_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (
            &[
                "pipeline",
                "run",
                "--dataset",
                "db",
                "--event-weights",
                "1,4",
            ][..],
            "--event-weights",
        ),
        (
            &[
                "pipeline",
                "run",
                "--dataset",
                "db",
                "--event-weights",
                "0,0,0",
            ][..],
            "at least one weight",
        ),
        (
            &["pipeline", "run", "--dataset", "db", "--half-life", "0"][..],
            "--half-life",
        ),
        (
            &["pipeline", "run", "--dataset", "ml-100k", "--snapshot", "x"][..],
            "--snapshot applies to --dataset db only",
        ),
        (
            &[
                "pipeline",
                "run",
                "--dataset",
                "ml-100k",
                "--posts",
                "Cargo.toml",
            ][..],
            "--posts applies to a CSV",
        ),
        (
            &[
                "pipeline",
                "run",
                "--dataset",
                "db",
                "--posts",
                "/nonexistent.csv",
            ][..],
            "--posts /nonexistent.csv: no such file",
        ),
    ] {
        let out = social_live(dir.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // An empty database is an error of the load stage, not a crash.
    let out = social_live(dir.path(), &["pipeline", "run", "--dataset", "db"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no interactions to train on"), "{stderr}");
}
