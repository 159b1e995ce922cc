//! The `social-live` binary from the outside: exit codes and one-line errors for bad input, and a small
//! pipeline run end to end on a generated network.

mod cancel;
mod database;
mod gate;
mod scheduler;
mod spark;

use std::path::Path;
use std::process::{Command, Output};

fn social_live(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_social-live"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .env("SOCIAL_LIVE_LOG", "warn")
        .output()
        .expect("the binary runs")
}

/// Runs `future` to completion on a runtime of its own.
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Generates a small network into `<data_dir>/datasets/synthetic` (what `--dataset synthetic`
/// reads).
fn generate(data_dir: &Path, users: &str, posts: &str, interactions: &str) {
    let out = social_live(
        data_dir,
        &[
            "datasets",
            "generate",
            "--users",
            users,
            "--posts",
            posts,
            "--interactions",
            interactions,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The error line of a failed run: exactly one line on stderr, starting with `error:`.
fn error_line(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    lines[0].to_owned()
}

/// The `report.json` of the version `<data_dir>/models/current` names.
fn current_report(data_dir: &Path) -> serde_json::Value {
    let models = data_dir.join("models");
    let current = std::fs::read_to_string(models.join("current")).unwrap();
    let report = models.join(current.trim()).join("report.json");
    serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap()
}

#[test]
fn missing_dataset_file_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = social_live(
        dir.path(),
        &["pipeline", "run", "--dataset", "/no/such/file.csv"],
    );
    let line = error_line(&out);
    assert!(line.contains("/no/such/file.csv"), "{line}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn invalid_model_parameter_is_rejected_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "50", "100", "1000");
    let out = social_live(
        dir.path(),
        &[
            "pipeline",
            "run",
            "--dataset",
            "synthetic",
            "--factors",
            "0",
        ],
    );
    let line = error_line(&out);
    assert!(line.contains("factors"), "{line}");
    assert!(
        !dir.path().join("models").exists(),
        "nothing may be published"
    );
}

#[test]
fn invalid_synthetic_size_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let out = social_live(dir.path(), &["datasets", "generate", "--users", "0"]);
    let line = error_line(&out);
    assert!(line.contains("users"), "{line}");
}

#[test]
fn malformed_row_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("log.csv");
    std::fs::write(&csv, "user,item,timestamp\n1,10,100\n2,11,not-a-time\n").unwrap();
    let out = social_live(
        dir.path(),
        &[
            "pipeline",
            "run",
            "--dataset",
            csv.to_str().unwrap(),
            "--user-col",
            "user",
            "--item-col",
            "item",
            "--time-col",
            "timestamp",
        ],
    );
    let line = error_line(&out);
    assert!(line.contains("log.csv"), "{line}");
    assert!(line.contains('3'), "line number missing: {line}");
    assert!(line.contains("timestamp"), "column missing: {line}");
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = social_live(dir.path(), &["pipeline", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn generate_then_train_on_the_generated_interactions() {
    let dir = tempfile::tempdir().unwrap();
    let out = social_live(
        dir.path(),
        &[
            "datasets",
            "generate",
            "--users",
            "300",
            "--posts",
            "800",
            "--interactions",
            "15000",
            "--csv",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let interactions = dir.path().join("datasets/synthetic/interactions.parquet");
    assert!(interactions.exists());

    let out = social_live(
        dir.path(),
        &[
            "pipeline",
            "run",
            "--dataset",
            "synthetic",
            "--factors",
            "8",
            "--iterations",
            "3",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("NDCG@10 [95% CI]"), "{stdout}");
    assert!(stdout.contains("MostPopular"), "{stdout}");
    assert!(stdout.contains("published"), "{stdout}");
    let report = current_report(dir.path());
    let ndcg = report["evaluation"]["model"]["metrics"]["ndcg"]
        .as_f64()
        .unwrap();
    assert!((0.0..=1.0).contains(&ndcg));
    // The run trained on the generated files and says so, with the generator's parameters.
    let source = report["dataset"]["source"].as_str().unwrap();
    assert!(source.contains("datasets/synthetic"), "{source}");
    assert!(
        source.contains("seed 42, 300 users, 800 posts, 15000 interactions"),
        "{source}"
    );
    assert_eq!(
        report["data"]["rows_loaded"].as_u64(),
        Some(15000),
        "{}",
        report["data"]
    );
}

#[test]
fn the_profile_flags_reach_the_report_and_bad_values_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "300", "800", "15000");
    let base = [
        "pipeline",
        "run",
        "--dataset",
        "synthetic",
        "--factors",
        "8",
    ];
    for (extra, says) in [
        (&["--eval-users", "0"][..], "evaluation.max_users"),
        (&["--seed-runs", "0"][..], "evaluation.seed_runs"),
        (&["--ef-construction", "0"][..], "invalid index parameters"),
        (
            &["--profile", "nightly", "--eval-users", "0"][..],
            "evaluation.max_users",
        ),
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let line = error_line(&social_live(dir.path(), &args));
        assert!(line.contains(says), "{extra:?}: {line}");
    }
    assert!(
        !dir.path().join("models").exists(),
        "nothing may be published"
    );
    let out = social_live(dir.path(), &["pipeline", "run", "--profile", "weekly"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown profile is a usage error"
    );

    // The nightly profile with one part overridden: 60 users, two seeds, no baselines.
    let args: Vec<&str> = base
        .iter()
        .chain(&[
            "--iterations",
            "3",
            "--profile",
            "nightly",
            "--eval-users",
            "60",
            "--seed-runs",
            "2",
        ])
        .copied()
        .collect();
    let out = social_live(dir.path(), &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("60 users evaluated (a sample of the"),
        "{stdout}"
    );
    let report = current_report(dir.path());
    let ev = &report["evaluation"];
    assert_eq!(ev["sample"]["users"], 60, "{ev}");
    assert_eq!(ev["model"]["metrics"]["users"], 60);
    assert_eq!(ev["seed_spread"]["runs"].as_array().map(Vec::len), Some(2));
    assert!(
        ev["baselines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["scores"].is_null())
    );
    let holdout = &report["gate"]["holdout"];
    assert!(
        holdout["users"].as_u64().is_some_and(|n| n <= 60),
        "{holdout}"
    );
}

#[test]
fn a_synthetic_run_without_a_generated_network_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = social_live(dir.path(), &["pipeline", "run", "--dataset", "synthetic"]);
    let line = error_line(&out);
    assert!(line.contains("datasets generate"), "{line}");
    assert!(!dir.path().join("models").exists());
    // A directory that is not a generated network is refused the same way.
    let other = dir.path().join("empty");
    std::fs::create_dir(&other).unwrap();
    let out = social_live(
        dir.path(),
        &["pipeline", "run", "--dataset", other.to_str().unwrap()],
    );
    let line = error_line(&out);
    assert!(line.contains("network.json"), "{line}");
}

#[test]
fn scheduler_rejects_a_bad_cron_expression() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "50", "100", "1000");
    let out = social_live(
        dir.path(),
        &[
            "scheduler",
            "--cron",
            "every night",
            "--dataset",
            "synthetic",
        ],
    );
    let line = error_line(&out);
    assert!(line.contains("--cron"), "{line}");
}

#[test]
fn scheduler_rejects_a_bad_pipeline_configuration_at_start() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "50", "100", "1000");
    let out = social_live(
        dir.path(),
        &["scheduler", "--dataset", "synthetic", "--k", "0"],
    );
    let line = error_line(&out);
    assert!(line.contains("must be at least 1"), "{line}");
}

#[cfg(unix)]
#[test]
fn scheduler_runs_now_publishes_and_stops_cleanly_on_sigterm() {
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "200", "500", "8000");
    let mut child = Command::new(env!("CARGO_BIN_EXE_social-live"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "scheduler",
            "--run-now",
            "--cron",
            "0 0 3 1 1 *",
            "--dataset",
            "synthetic",
        ])
        .args(["--factors", "8", "--iterations", "2"])
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .env("SOCIAL_LIVE_LOG", "warn")
        .spawn()
        .expect("the binary runs");
    let current = dir.path().join("models/current");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !current.exists() {
        assert!(
            Instant::now() < deadline,
            "the immediate run did not publish in time"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the scheduler exited early"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "graceful shutdown must exit 0, got {status}"
    );
    let version = std::fs::read_to_string(current).unwrap();
    assert!(
        dir.path()
            .join("models")
            .join(version.trim())
            .join("manifest.json")
            .exists()
    );
}

/// `admin create` on the data directory's SQLite file (never the CI's `DATABASE_URL`).
fn admin_create(data_dir: &Path, handle: &str, password: &str, stdin: Option<&str>) -> Output {
    use std::io::Write as _;
    let mut command = Command::new(env!("CARGO_BIN_EXE_social-live"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(["admin", "create", "--handle", handle])
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .env_remove("SOCIAL_LIVE_ADMIN_PASSWORD")
        .env("SOCIAL_LIVE_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if stdin.is_none() {
        command.env("SOCIAL_LIVE_ADMIN_PASSWORD", password);
    }
    let mut child = command.spawn().expect("the binary runs");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

#[test]
fn admin_create_makes_the_first_admin_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = admin_create(dir.path(), "Boss", "correct horse", None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "created admin @boss (id 1)"
    );
    // From stdin's first line, for a second admin.
    let out = admin_create(
        dir.path(),
        "deputy",
        "",
        Some("another password\nignored\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("@deputy (id 2)"));
    // Taken, a bad handle, a short or missing password: one line each, nothing created.
    let line = error_line(&admin_create(dir.path(), "boss", "correct horse", None));
    assert!(line.contains("@boss is taken"), "{line}");
    let line = error_line(&admin_create(dir.path(), "a b", "correct horse", None));
    assert!(line.contains("handle"), "{line}");
    let line = error_line(&admin_create(dir.path(), "third", "short", None));
    assert!(line.contains("password"), "{line}");
    let line = error_line(&admin_create(dir.path(), "third", "", Some("")));
    assert!(line.contains("password"), "{line}");
    let out = admin_create(dir.path(), "third", "long enough", None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("@third (id 3)"));
}
