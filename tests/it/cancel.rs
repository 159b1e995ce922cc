//! `pipeline run` stopped by SIGTERM: it ends at the next stage boundary with status 4 and
//! publishes nothing.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::generate;

#[cfg(unix)]
#[test]
fn sigterm_stops_a_run_at_a_stage_boundary_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "300", "800", "15000");
    let child = Command::new(env!("CARGO_BIN_EXE_social-live"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["pipeline", "run", "--dataset", "synthetic", "--tune"])
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .env("SOCIAL_LIVE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Mid-run: loading, splitting and tuning take longer than this.
    std::thread::sleep(Duration::from_secs(2));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Before a stage, or inside the search between two trials.
    assert!(stderr.contains("cancelled "), "{stderr}");
    assert!(stderr.contains("nothing was published"), "{stderr}");
    let models = dir.path().join("models");
    assert!(!models.join("current").exists(), "published");
    assert!(
        models::artifact::versions(&models).unwrap().is_empty(),
        "a version was kept"
    );
}
