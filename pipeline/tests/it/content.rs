//! The content-encoder stage: fitted on the synthetic posts and on a posts file, skipped without
//! features, published in the artifact.

use std::fmt::Write as _;

use datasets::loader::LoadOptions;
use datasets::synthetic::SyntheticConfig;
use models::artifact::Artifact;
use pipeline::content::{ContentReport, evaluate};
use pipeline::{DatasetSource, Error, RunConfig};

use crate::data::{config, rating_rows, write_csv};

fn synthetic_config(dir: &std::path::Path) -> RunConfig {
    let synthetic = SyntheticConfig {
        users: 300,
        posts: 1_000,
        interactions: 20_000,
        ..SyntheticConfig::default()
    };
    config(DatasetSource::Synthetic(synthetic), dir)
}

#[test]
fn a_synthetic_run_fits_scores_and_publishes_the_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let c = synthetic_config(dir.path());
    let outcome = pipeline::run(&c).unwrap();
    let ContentReport::Fitted(fit) = &outcome.report.content else {
        panic!("expected a fitted encoder: {:?}", outcome.report.content);
    };
    assert_eq!(fit.posts_read, 1_000);
    assert_eq!(fit.fit_posts + fit.held_out_posts, fit.candidates);
    assert_eq!(fit.published_posts, fit.candidates);
    assert_eq!(
        fit.held_out_posts,
        (fit.candidates as f64 * 0.2).round() as usize
    );
    assert_eq!(fit.selection.len(), c.content.params.lambdas.len());
    assert_eq!(fit.topics, 24);
    let score = |m| fit.score(m).unwrap();
    // Every synthetic post has topics and words the encoder knows.
    assert_eq!(score(evaluate::ENCODER).covered, fit.held_out_posts);
    assert_eq!(score(evaluate::TOPIC_MEAN).covered, fit.held_out_posts);
    let cos = |m| score(m).mean_cosine.unwrap();
    // The synthetic interactions follow the topics, and the text is drawn from them: on this small
    // network (8 factors) the encoder does as well as the topic mean, and better than what the
    // engine did without it (the author's mean first), or than one mean vector for all.
    assert!(
        cos(evaluate::ENCODER) > cos(evaluate::TOPIC_MEAN) - 0.01,
        "{:?}",
        fit.held_out
    );
    assert!(cos(evaluate::ENCODER) > cos(evaluate::ENGINE_WITHOUT_ENCODER) + 0.03);
    assert!(cos(evaluate::ENCODER) > cos(evaluate::GLOBAL_MEAN) + 0.2);
    // With an encoder that covers every post, the engine's cascade is the encoder.
    assert_eq!(
        score(evaluate::ENGINE_WITH_ENCODER).mean_cosine,
        score(evaluate::ENCODER).mean_cosine
    );

    let artifact = Artifact::load_current(&dir.path().join("models")).unwrap();
    let encoder = artifact.content_encoder.as_ref().unwrap();
    assert_eq!(encoder.factors(), c.als.factors);
    assert_eq!(encoder.lambda(), fit.lambda);
    assert!(artifact.manifest.files.contains_key("content_weights.npy"));
    let m = &artifact.manifest.metrics["content"];
    assert_eq!(m["lambda"], f64::from(fit.lambda));
    assert_eq!(m["mean_cosine"]["encoder"], cos(evaluate::ENCODER));
    let md = std::fs::read_to_string(outcome.artifact_dir.join("report.md")).unwrap();
    assert!(md.contains("## Content encoder"), "{md}");
    assert!(md.contains("**chosen**"), "{md}");
    let stages: Vec<&str> = outcome
        .report
        .timings
        .iter()
        .map(|t| t.stage.as_str())
        .collect();
    assert!(stages.contains(&"content encoder"), "{stages:?}");
}

/// A posts file for the items of `rating_rows` (ids 1 to 60): topic and words by `id % 3`.
fn write_posts(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let mut text = String::from("id,author,created_at,topics,text\n");
    for id in 1..=60 {
        let g = id % 3;
        writeln!(
            text,
            "{id},author{},{},group{g}|shared,\"post {id}: word{g}a word{g}b, hello\"",
            id % 7,
            1_000 + id
        )
        .unwrap();
    }
    // A post the interactions never mention.
    text.push_str("999,author1,5,group0,not in the catalog\n");
    text.push_str(extra);
    let path = dir.join("posts.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn file_config(dir: &std::path::Path) -> RunConfig {
    let path = write_csv(dir, &rating_rows(), &[]);
    config(
        DatasetSource::File {
            path,
            options: LoadOptions::default(),
        },
        dir,
    )
}

#[test]
fn a_file_run_reads_its_posts_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = file_config(dir.path());
    let posts = write_posts(dir.path(), "");
    c.posts = Some(posts.clone());
    let outcome = pipeline::run(&c).unwrap();
    let ContentReport::Fitted(fit) = &outcome.report.content else {
        panic!("expected a fitted encoder: {:?}", outcome.report.content);
    };
    assert_eq!(fit.source, format!("posts file {}", posts.display()));
    assert_eq!(fit.posts_read, 61);
    assert_eq!(fit.posts_in_catalog, outcome.report.data.items);
    assert!(fit.candidates <= fit.posts_in_catalog && fit.candidates >= 20);
    assert_eq!(fit.topics, 4);
    let artifact = Artifact::load(&outcome.artifact_dir).unwrap();
    let encoder = artifact.content_encoder.unwrap();
    assert_eq!(encoder.topics(), ["group0", "group1", "group2", "shared"]);
    assert!(encoder.encode(&[], "word1a").is_some());
    assert_eq!(encoder.encode(&["nope".to_owned()], "zzz"), None);
}

#[test]
fn a_file_run_without_posts_skips_the_encoder_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = pipeline::run(&file_config(dir.path())).unwrap();
    match &outcome.report.content {
        ContentReport::Skipped { reason } => assert!(reason.contains("posts file"), "{reason}"),
        other => panic!("expected a skip, got {other:?}"),
    }
    let artifact = Artifact::load(&outcome.artifact_dir).unwrap();
    assert!(artifact.content_encoder.is_none());
    assert!(
        artifact
            .manifest
            .files
            .keys()
            .all(|f| !f.starts_with("content"))
    );
    assert!(artifact.manifest.metrics["content"]["skipped"].is_string());
    let md = std::fs::read_to_string(outcome.artifact_dir.join("report.md")).unwrap();
    assert!(md.contains("Skipped: no post features"), "{md}");
}

#[test]
fn the_stage_can_be_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = synthetic_config(dir.path());
    c.content.enabled = false;
    let outcome = pipeline::run(&c).unwrap();
    assert_eq!(
        outcome.report.content,
        ContentReport::Skipped {
            reason: "disabled in the configuration".into()
        }
    );
    assert!(
        Artifact::load(&outcome.artifact_dir)
            .unwrap()
            .content_encoder
            .is_none()
    );
}

#[test]
fn too_few_posts_with_features_skip_the_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = file_config(dir.path());
    let path = dir.path().join("few.csv");
    std::fs::write(&path, "id,topics,text\n1,a,hello\n2,b,world\n").unwrap();
    c.posts = Some(path);
    let outcome = pipeline::run(&c).unwrap();
    match &outcome.report.content {
        ContentReport::Skipped { reason } => {
            assert!(reason.starts_with("2 of 2 feature records"), "{reason}")
        }
        other => panic!("expected a skip, got {other:?}"),
    }
}

#[test]
fn a_malformed_posts_file_fails_the_run_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = file_config(dir.path());
    let posts = write_posts(dir.path(), "1000,author1,yesterday,group0,text\n");
    c.posts = Some(posts.clone());
    match pipeline::run(&c).unwrap_err() {
        Error::Dataset(datasets::Error::MalformedRow {
            file, line, column, ..
        }) => {
            assert_eq!(file, posts);
            assert_eq!(line, 63);
            assert_eq!(column, "created_at");
        }
        other => panic!("expected a malformed row, got {other:?}"),
    }
}

/// The encoder's figures on the default synthetic network with the default model (opt-in: it
/// trains 256 factors on 200,000 events). Prints the report's content section.
///
/// `cargo nextest run -p pipeline --run-ignored only synthetic_default`
#[test]
#[ignore = "trains the default model on the default synthetic network; run with --run-ignored"]
fn synthetic_default_scale_encoder_figures() {
    let dir = tempfile::tempdir().unwrap();
    let c = RunConfig {
        data_dir: dir.path().to_path_buf(),
        show_progress: false,
        ..RunConfig::default()
    };
    let outcome = pipeline::run(&c).unwrap();
    let ContentReport::Fitted(fit) = &outcome.report.content else {
        panic!("expected a fitted encoder: {:?}", outcome.report.content);
    };
    let cos = |m| fit.score(m).unwrap().mean_cosine.unwrap();
    assert!(cos(evaluate::ENCODER) > cos(evaluate::ENGINE_WITHOUT_ENCODER));
    let md = std::fs::read_to_string(outcome.artifact_dir.join("report.md")).unwrap();
    let section = md.split("## Content encoder").nth(1).unwrap();
    eprintln!(
        "## Content encoder{}",
        section.split("## Timings").next().unwrap()
    );
    for t in &outcome.report.timings {
        eprintln!("{}: {:.3} s", t.stage, t.seconds);
    }
}
