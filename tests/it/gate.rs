//! `pipeline run` and the promotion gate: a rejected model exits with status 3 and leaves the
//! current one in place; `--no-gate` publishes it anyway.

use super::{generate, social_live};

#[test]
fn a_model_the_gate_rejects_exits_3_and_is_not_published() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "300", "800", "15000");
    let run = |extra: &[&str]| {
        let mut args = vec!["pipeline", "run", "--dataset", "synthetic"];
        args.extend_from_slice(extra);
        social_live(dir.path(), &args)
    };
    let current = || std::fs::read_to_string(dir.path().join("models/current")).unwrap();

    let out = run(&["--factors", "16", "--iterations", "5"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("promotion gate: accepted: first model"),
        "{stdout}"
    );
    let good = current();

    // Two factors, one sweep and a crushing penalty: worse than what is published.
    let worse = ["--factors", "2", "--iterations", "1", "--reg", "1000"];
    let out = run(&worse);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("promotion gate: rejected\n"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("not published: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.contains("NDCG@10") && line.contains("is below"),
        "{line}"
    );
    let kept = line
        .rsplit_once("(kept in ")
        .and_then(|(_, dir)| dir.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line}"));
    let gate: serde_json::Value = serde_json::from_slice(
        &std::fs::read(std::path::Path::new(kept).join("gate.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(gate["accepted"], false);
    assert_eq!(current(), good, "the current model stays");

    let mut forced = worse.to_vec();
    forced.push("--no-gate");
    let out = run(&forced);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("promotion gate: not enforced: the gate is disabled"),
        "{stdout}"
    );
    assert_ne!(current(), good);
}
