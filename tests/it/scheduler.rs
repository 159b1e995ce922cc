//! Schedulers sharing one database (the data directory's SQLite file): every cron tick runs
//! once whichever of them fires, and a runner killed mid-run is taken over after its lease
//! expires, its run abandoned and retried by the other.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api::Store;
use api::store::runs::{RUNNER_LOST, RunRow, RunStatus, Trigger};

use crate::block_on;

/// Tiny, so that a run takes a few seconds in a debug build.
const USERS: &str = "200";
const POSTS: &str = "500";
const INTERACTIONS: &str = "8000";

/// The data directory's database, migrated before any scheduler starts (two processes
/// creating one SQLite file at once would race on its migrations).
fn store(data_dir: &Path) -> Store {
    block_on(Store::connect(
        &api::store::default_database_url(data_dir),
        1,
    ))
    .unwrap()
}

fn runs(store: &Store) -> Vec<RunRow> {
    block_on(store.list_runs(None, 100)).unwrap()
}

/// A scheduler on `data_dir`'s SQLite file (never the CI's `DATABASE_URL`) with a 3 s lease,
/// polled every second, and small models.
fn scheduler(data_dir: &Path, cron: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_social-live"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["scheduler", "--cron", cron, "--dataset", "synthetic"])
        .args(["--lease-secs", "3", "--pipeline-poll-secs", "1"])
        .args(["--factors", "8", "--iterations", "2"])
        .args(extra)
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .env("SOCIAL_LIVE_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("the binary runs")
}

fn terminate(mut child: Child) {
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
}

/// Waits up to `secs` for `done` over the run history, checking the schedulers are alive.
fn wait_for(
    store: &Store,
    secs: u64,
    children: &mut [&mut Child],
    what: &str,
    done: impl Fn(&[RunRow]) -> bool,
) -> Vec<RunRow> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let rows = runs(store);
        if done(&rows) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {rows:#?}"
        );
        for child in children.iter_mut() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "a scheduler exited early"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn finished(run: &RunRow) -> bool {
    matches!(run.status, RunStatus::Published | RunStatus::Rejected)
}

/// The version directories of `<data_dir>/models`.
fn versions(data_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data_dir.join("models"))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter(|e| e.path().join("manifest.json").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[cfg(unix)]
#[test]
fn two_schedulers_on_one_database_run_each_tick_once() {
    let dir = tempfile::tempdir().unwrap();
    crate::generate(dir.path(), USERS, POSTS, INTERACTIONS);
    let store = store(dir.path());
    // Every 5 seconds: both schedulers fire on every tick.
    let cron = "*/5 * * * * *";
    let mut a = scheduler(dir.path(), cron, &[]);
    let mut b = scheduler(dir.path(), cron, &[]);
    wait_for(
        &store,
        120,
        &mut [&mut a, &mut b],
        "two finished ticks",
        |rows| rows.iter().filter(|r| finished(r)).count() >= 2,
    );
    terminate(a);
    terminate(b);
    let rows = runs(&store);
    // One run per tick, each a schedule run; none left running after a graceful stop.
    let mut ticks: Vec<i64> = rows.iter().filter_map(|r| r.scheduled_for).collect();
    let all = ticks.len();
    ticks.sort_unstable();
    ticks.dedup();
    assert_eq!(ticks.len(), all, "{rows:#?}");
    assert!(
        rows.iter().all(|r| r.trigger == Trigger::Schedule),
        "{rows:#?}"
    );
    assert!(
        rows.iter().all(|r| r.status != RunStatus::Running),
        "{rows:#?}"
    );
    assert!(ticks.iter().all(|t| t % 5 == 0), "{ticks:?}");
    // The job ran once per finished run: one version each, distinct, all on disk.
    let done: Vec<&RunRow> = rows.iter().filter(|r| finished(r)).collect();
    let mut written: Vec<String> = done.iter().map(|r| r.version.clone().unwrap()).collect();
    written.sort();
    assert_eq!(written, versions(dir.path()), "{rows:#?}");
    assert!(
        done.iter()
            .all(|r| r.error.is_none() && r.metrics.is_some())
    );
    // The newest published run's version is current.
    let newest = done
        .iter()
        .find(|r| r.status == RunStatus::Published)
        .unwrap();
    let current = std::fs::read_to_string(dir.path().join("models/current")).unwrap();
    assert_eq!(Some(current.trim()), newest.version.as_deref());
}

#[cfg(unix)]
#[test]
fn a_runner_killed_mid_run_is_taken_over_after_its_lease_expires() {
    let dir = tempfile::tempdir().unwrap();
    crate::generate(dir.path(), USERS, POSTS, INTERACTIONS);
    let store = store(dir.path());
    let never = "0 0 3 1 1 *";
    let mut a = scheduler(dir.path(), never, &["--run-now"]);
    let a_pid = format!(":{}:", a.id());
    let rows = wait_for(
        &store,
        60,
        &mut [&mut a],
        "the first runner to start",
        |rows| rows.iter().any(|r| r.status == RunStatus::Running),
    );
    let first = rows[0].clone();
    assert!(
        first.runner.as_deref().unwrap().contains(&a_pid),
        "{first:?}"
    );
    let mut b = scheduler(dir.path(), never, &[]);
    let b_pid = format!(":{}:", b.id());
    // SIGKILL: no release, no record; the lease stays taken until it expires.
    a.kill().unwrap();
    a.wait().unwrap();
    let killed_at = Instant::now();
    let rows = wait_for(&store, 120, &mut [&mut b], "the retry to finish", |rows| {
        rows.iter()
            .any(|r| r.trigger == Trigger::Retry && finished(r))
    });
    assert!(
        killed_at.elapsed() >= Duration::from_secs(1),
        "taken over before the lease expired"
    );
    terminate(b);
    let lost = rows.iter().find(|r| r.id == first.id).unwrap();
    assert_eq!(lost.status, RunStatus::Abandoned);
    assert_eq!(lost.error.as_deref(), Some(RUNNER_LOST));
    let retry = rows.iter().find(|r| r.trigger == Trigger::Retry).unwrap();
    assert_eq!((retry.attempt, retry.retry_of), (2, Some(first.id)));
    assert!(
        retry.runner.as_deref().unwrap().contains(&b_pid),
        "{retry:?}"
    );
    assert!(retry.fence > first.fence, "{retry:?} after {first:?}");
    assert_eq!(rows.len(), 2, "{rows:#?}");
    // Only the retry's model was written and made current.
    assert_eq!(versions(dir.path()), [retry.version.clone().unwrap()]);
    // And announced on the change log, so every replica reloads it at once.
    let announced: Vec<_> = block_on(store.changes_after(0, 1000))
        .unwrap()
        .into_iter()
        .filter(|c| c.kind == "model_current")
        .collect();
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert!(
        announced[0]
            .payload
            .contains(retry.version.as_deref().unwrap()),
        "{announced:?}"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_cancels_the_run_in_progress_and_another_scheduler_runs_it_again() {
    let dir = tempfile::tempdir().unwrap();
    crate::generate(dir.path(), USERS, POSTS, INTERACTIONS);
    let store = store(dir.path());
    let never = "0 0 3 1 1 *";
    let mut a = scheduler(dir.path(), never, &["--run-now"]);
    wait_for(&store, 60, &mut [&mut a], "the run to start", |rows| {
        rows.iter().any(|r| r.status == RunStatus::Running)
    });
    // Stopped mid-run: exits 0 without waiting for the run to finish.
    terminate(a);
    let rows = runs(&store);
    let first = rows.iter().find(|r| r.attempt == 1).unwrap();
    assert_eq!(first.status, RunStatus::Failed, "{rows:#?}");
    let error = first.error.as_deref().unwrap();
    assert!(
        error.contains("cancelled ") && error.contains("the scheduler shut down"),
        "{error}"
    );
    let retry = rows
        .iter()
        .find(|r| r.trigger == Trigger::Retry)
        .unwrap_or_else(|| panic!("no retry queued: {rows:#?}"));
    assert_eq!(retry.status, RunStatus::Queued);
    assert!(
        retry.not_before <= api::store::now(),
        "a cancelled run is retried without backoff: {retry:?}"
    );
    assert!(versions(dir.path()).is_empty(), "nothing was published");
    let mut b = scheduler(dir.path(), never, &[]);
    let rows = wait_for(&store, 120, &mut [&mut b], "the retry to finish", |rows| {
        rows.iter()
            .any(|r| r.trigger == Trigger::Retry && finished(r))
    });
    terminate(b);
    let retry = rows.iter().find(|r| r.trigger == Trigger::Retry).unwrap();
    assert_eq!(versions(dir.path()), [retry.version.clone().unwrap()]);
}
