//! `pipeline run --trainer spark` on MovieLens-100K with `local[2]`: PySpark installed by the project's
//! script, Spark MLlib's factors read back, evaluated beside the native trainer, published, and served
//! by the engine. It needs Java (see `build.rs`); the first run installs PySpark from PyPI into
//! `target/tmp/spark-venv` (about a minute), later runs reuse it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{current_report, error_line, generate, social_live};

/// PySpark in a virtual environment under the target directory, installed by the project's script.
fn pyspark() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("spark-venv");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline/scripts/install-spark.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&venv)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "install-spark.sh failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    venv.join("bin").join("python")
}

#[test]
#[cfg_attr(
    not(spark_tests),
    ignore = "no Java on PATH: the Spark trainer needs Java 17 (SOCIAL_LIVE_REQUIRE_SPARK=1 makes this an error)"
)]
fn spark_trains_ml100k_beside_the_native_trainer_and_the_engine_serves_it() {
    let python = pyspark();
    let dir = tempfile::tempdir().unwrap();
    let python_arg = python.to_str().unwrap();
    let args = [
        "pipeline",
        "run",
        "--dataset",
        "ml-100k",
        "--trainer",
        "spark",
        "--spark-master",
        "local[2]",
        "--spark-python",
        python_arg,
        "--factors",
        "64",
        "--seed-runs",
        "1",
        // ItemKNN, EASE and Random take minutes in a debug build; the native ALS is scored anyway.
        "--no-baselines",
    ];
    let out = social_live(dir.path(), &args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("trained on Spark 4.3.0 (local[2], 2 blocks"),
        "{stdout}"
    );
    assert!(stdout.contains("published "), "{stdout}");

    let report = current_report(dir.path());
    let trainer = &report["training"]["trainer"];
    assert_eq!(trainer["kind"], "spark", "{trainer}");
    assert_eq!(trainer["master"], "local[2]");
    assert_eq!(trainer["users"], 943);
    // Every item with a training interaction has a vector.
    let items = report["data"]["items"].as_u64().unwrap()
        - report["data"]["test_only_items"].as_u64().unwrap();
    assert_eq!(trainer["items"].as_u64(), Some(items));
    assert_eq!(report["training"]["params"]["factors"], 64);
    let ndcg = |scores: &serde_json::Value| scores["metrics"]["ndcg"].as_f64().unwrap();
    let spark = ndcg(&report["evaluation"]["model"]);
    let popular = ndcg(&report["evaluation"]["most_popular"]);
    let native = report["evaluation"]["baselines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "ALS (native)")
        .map(|b| ndcg(&b["scores"]))
        .expect("the native trainer is scored beside Spark");
    eprintln!("NDCG@10: Spark {spark:.4}, native {native:.4}, MostPopular {popular:.4}");
    assert!(
        spark > popular * 1.2,
        "Spark {spark} vs MostPopular {popular}"
    );
    // Two solvers of nearly the same objective: within a fifth of each other on the same split.
    assert!(
        (spark - native).abs() < 0.2 * native,
        "Spark {spark} vs native {native}"
    );
    // The seed spread refits natively, so a Spark run has none.
    assert!(report["evaluation"]["seed_spread"].is_null());
    let md = std::fs::read_to_string(
        Path::new(report["artifact_dir"].as_str().unwrap()).join("report.md"),
    )
    .unwrap();
    assert!(md.contains("Trained on Apache Spark 4.3.0"), "{md}");
    assert!(md.contains("ALS (native)"), "{md}");

    // The engine serves the published version: the personalized candidates of a user are the
    // nearest items to its vector.
    let artifact = models::artifact::Artifact::load_current(&dir.path().join("models")).unwrap();
    let posts: Vec<engine::PostMeta> = artifact
        .item_ids
        .iter()
        .map(|id| engine::PostMeta {
            id: engine::PostId(id.parse().unwrap()),
            author: engine::UserId(1_000_000),
            created_at: 0,
            deleted: false,
            topics: Vec::new(),
            text: String::new(),
        })
        .collect();
    let user = artifact.user_ids.iter().position(|u| u == "196").unwrap();
    let vector = artifact.user_factors.row(user);
    let mut exact: Vec<(f32, &str)> = artifact
        .item_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (artifact.item_factors.row(i).dot(&vector), id.as_str()))
        .collect();
    exact.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top: Vec<i64> = exact[..50]
        .iter()
        .map(|(_, id)| id.parse().unwrap())
        .collect();
    let engine = engine::Engine::new(artifact, posts, engine::FeedConfig::default()).unwrap();
    let page = engine
        .feed(
            engine::UserId(196),
            &engine::UserContext::default(),
            &engine::FeedRequest::first(20),
        )
        .unwrap();
    let similar: Vec<i64> = page
        .items
        .iter()
        .filter(|item| item.reasons.contains(&engine::Reason::Similar))
        .map(|item| item.post.0)
        .collect();
    assert!(similar.len() >= 5, "{:?}", page.items);
    let near = similar.iter().filter(|p| top.contains(p)).count();
    assert!(
        near * 10 >= similar.len() * 8,
        "{near} of {similar:?} in the exact top 50 {top:?}"
    );
}

#[test]
fn spark_flags_are_checked_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--spark-master", "local[2]"],
            "--spark-master applies to --trainer spark only",
        ),
        (
            &["--spark-driver-memory", "4g"],
            "--spark-driver-memory applies to --trainer spark only",
        ),
        (
            &["--trainer", "spark", "--tune"],
            "--tune searches with the native trainer",
        ),
        (
            &["--trainer", "spark", "--spark-driver-memory", "lots"],
            "expected a size such as 512m or 4g",
        ),
        (
            &["--trainer", "spark", "--spark-master", "local [2]"],
            "expected a Spark master URL",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["pipeline", "run", "--dataset", "ml-100k"];
        args.extend_from_slice(extra);
        let out = social_live(dir.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        let line = error_line(&out);
        assert!(line.contains(expected), "{extra:?}: {line}");
    }
    // Nothing was fetched or trained.
    assert!(!dir.path().join("datasets").exists());
    assert!(!dir.path().join("models").exists());

    // A Python that is not there: one line that says how to install PySpark, after the data loads.
    generate(dir.path(), "60", "120", "3000");
    let out = social_live(
        dir.path(),
        &[
            "pipeline",
            "run",
            "--dataset",
            "synthetic",
            "--trainer",
            "spark",
            "--spark-python",
            "/nonexistent/python",
        ],
    );
    let line = error_line(&out);
    assert!(
        line.contains("/nonexistent/python") && line.contains("install-spark.sh"),
        "{line}"
    );
    assert!(!dir.path().join("models").exists());
}
