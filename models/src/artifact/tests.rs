//! Publishing and loading, including every rejected input and a crash mid-publish.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::manifest::{
    CHECKSUMMED_FILES, CONTENT_FILES, CONTENT_META_FILE, CONTENT_WEIGHTS_FILE, ITEM_FACTORS_FILE,
    USER_IDS_FILE,
};
use super::npy;
use super::write::stage;
use super::*;
use crate::als::AlsParams;
use crate::ann::{AnnConfig, AnnIndex};
use crate::error::Error;

/// Everything a publish needs, owned.
struct Fixture {
    user_ids: Vec<String>,
    item_ids: Vec<String>,
    user_factors: Array2<f32>,
    item_factors: Array2<f32>,
    popularity: Vec<u32>,
    index: AnnIndex,
}

const FACTORS: usize = 6;

fn fixture(seed: u64) -> Fixture {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (n_users, n_items) = (40, 30);
    let user_factors = Array2::from_shape_fn((n_users, FACTORS), |_| rng.random_range(-1.0..1.0));
    let item_factors = Array2::from_shape_fn((n_items, FACTORS), |_| rng.random_range(-1.0..1.0));
    let index = AnnIndex::build(item_factors.view(), &ann_config()).unwrap();
    Fixture {
        user_ids: (0..n_users).map(|u| format!("user-{u}")).collect(),
        item_ids: (0..n_items).map(|i| format!("post:{i}")).collect(),
        user_factors,
        item_factors,
        popularity: (0..n_items as u32).map(|i| (i * 7) % 11).collect(),
        index,
    }
}

fn ann_config() -> AnnConfig {
    AnnConfig {
        max_connections: 8,
        ef_construction: 32,
        ef_search: 16,
    }
}

impl Fixture {
    fn contents(&self) -> ArtifactContents<'_> {
        ArtifactContents {
            user_ids: &self.user_ids,
            item_ids: &self.item_ids,
            user_factors: self.user_factors.view(),
            item_factors: self.item_factors.view(),
            popularity: &self.popularity,
            index: &self.index,
        }
    }

    fn manifest(&self, version: &str) -> Manifest {
        Manifest {
            schema_version: SCHEMA_VERSION,
            version: version.to_owned(),
            created_at: "2024-01-01T00:00:00Z".to_owned(),
            model: AlsParams {
                factors: FACTORS,
                ..AlsParams::default()
            },
            ann: ann_config(),
            data_fingerprint: "ab".repeat(32),
            counts: Counts {
                users: self.user_ids.len(),
                items: self.item_ids.len(),
                interactions: 123,
            },
            factors: FACTORS,
            metrics: serde_json::json!({ "ndcg@10": 0.25 }),
            files: Default::default(),
        }
    }

    fn publish(&self, dir: &Path, version: &str) -> crate::error::Result<PathBuf> {
        publish(dir, self.manifest(version), &self.contents(), &[])
    }
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join(MANIFEST_FILE);
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(&path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
}

#[test]
fn publish_then_load_roundtrips_everything() {
    let f = fixture(1);
    let root = tempfile::tempdir().unwrap();
    let extra = vec![
        ("report.json".to_owned(), b"{}".to_vec()),
        ("loss.svg".to_owned(), b"<svg/>".to_vec()),
    ];
    let dir = publish(root.path(), f.manifest("v1"), &f.contents(), &extra).unwrap();
    assert_eq!(dir, root.path().join("v1"));
    assert_eq!(current_version(root.path()).unwrap().as_deref(), Some("v1"));
    assert_eq!(
        std::fs::read_to_string(root.path().join(CURRENT_FILE)).unwrap(),
        "v1\n"
    );
    assert_eq!(std::fs::read(dir.join("loss.svg")).unwrap(), b"<svg/>");
    assert!(!root.path().join(".staging-v1").exists());

    let a = Artifact::load_current(root.path()).unwrap();
    assert_eq!(a.dir, dir);
    assert_eq!(a.user_ids, f.user_ids);
    assert_eq!(a.item_ids, f.item_ids);
    assert_eq!(a.user_factors, f.user_factors);
    assert_eq!(a.item_factors, f.item_factors);
    assert_eq!(a.popularity, f.popularity);
    let mut want = f.manifest("v1");
    want.files = a.manifest.files.clone();
    assert_eq!(a.manifest, want);
    let names: Vec<&str> = a.manifest.files.keys().map(String::as_str).collect();
    let mut expected = CHECKSUMMED_FILES.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    for q in f.user_factors.rows() {
        assert_eq!(a.index.search(q, 5, &[2, 3]), f.index.search(q, 5, &[2, 3]));
    }
    // Published without a content encoder: it loads without one.
    assert!(a.content_encoder.is_none());
    assert_eq!(load(&dir).unwrap().user_ids, f.user_ids);
}

#[test]
fn identical_inputs_give_byte_identical_checksummed_files() {
    let root = tempfile::tempdir().unwrap();
    let a = fixture(2).publish(root.path(), "a").unwrap();
    // Rebuilt from scratch, index included.
    let b = fixture(2).publish(root.path(), "b").unwrap();
    for name in CHECKSUMMED_FILES {
        assert_eq!(
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap(),
            "{name}"
        );
    }
    let (ma, mb) = (
        Artifact::load(&a).unwrap().manifest,
        Artifact::load(&b).unwrap().manifest,
    );
    assert_eq!(ma.files, mb.files);
}

#[test]
fn a_new_version_becomes_current_and_the_old_one_stays_loadable() {
    let root = tempfile::tempdir().unwrap();
    fixture(3).publish(root.path(), "v1").unwrap();
    let second = fixture(4);
    second.publish(root.path(), "v2").unwrap();
    let current = Artifact::load_current(root.path()).unwrap();
    assert_eq!(current.manifest.version, "v2");
    assert_eq!(current.user_factors, second.user_factors);
    assert_eq!(
        Artifact::load(&root.path().join("v1"))
            .unwrap()
            .manifest
            .version,
        "v1"
    );
}

#[test]
fn crash_before_the_rename_leaves_the_previous_version_current() {
    let root = tempfile::tempdir().unwrap();
    fixture(5).publish(root.path(), "v1").unwrap();
    // A publish of v2 that dies after writing its staging directory, before the rename.
    let next = fixture(6);
    let staging = stage(
        root.path(),
        next.manifest("v2"),
        &next.contents(),
        OptionalContents::default(),
        &[],
    )
    .unwrap();
    // And one that died halfway through writing: a truncated file in another staging dir.
    let partial = root.path().join(".staging-v3");
    std::fs::create_dir(&partial).unwrap();
    std::fs::write(partial.join(ITEM_FACTORS_FILE), b"\x93NUM").unwrap();

    assert!(staging.exists());
    assert_eq!(current_version(root.path()).unwrap().as_deref(), Some("v1"));
    let current = Artifact::load_current(root.path()).unwrap();
    assert_eq!(current.manifest.version, "v1");

    // Publishing v2 again replaces the stale staging directory and succeeds.
    next.publish(root.path(), "v2").unwrap();
    assert!(!staging.exists());
    assert_eq!(
        Artifact::load_current(root.path())
            .unwrap()
            .manifest
            .version,
        "v2"
    );
}

#[test]
fn crash_between_rename_and_pointer_update_leaves_the_previous_version_current() {
    let root = tempfile::tempdir().unwrap();
    fixture(7).publish(root.path(), "v1").unwrap();
    let next = fixture(8);
    let staging = stage(
        root.path(),
        next.manifest("v2"),
        &next.contents(),
        OptionalContents::default(),
        &[],
    )
    .unwrap();
    std::fs::rename(&staging, root.path().join("v2")).unwrap();
    assert_eq!(
        Artifact::load_current(root.path())
            .unwrap()
            .manifest
            .version,
        "v1"
    );
    // The complete v2 directory is loadable by name, and never overwritten.
    assert!(Artifact::load(&root.path().join("v2")).is_ok());
    assert!(matches!(
        next.publish(root.path(), "v2"),
        Err(Error::VersionExists { .. })
    ));
}

#[test]
fn publish_rejects_an_existing_version() {
    let root = tempfile::tempdir().unwrap();
    let f = fixture(9);
    f.publish(root.path(), "v1").unwrap();
    assert!(matches!(
        f.publish(root.path(), "v1"),
        Err(Error::VersionExists { version }) if version == "v1"
    ));
}

#[test]
fn publish_rejects_invalid_version_names() {
    let root = tempfile::tempdir().unwrap();
    let f = fixture(10);
    for bad in ["", "../escape", ".staging-x", "current", "a b"] {
        assert!(
            matches!(
                f.publish(root.path(), bad),
                Err(Error::InvalidVersionName { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(std::fs::read_dir(root.path()).unwrap().next().is_none());
}

#[test]
fn publish_rejects_a_wrong_schema_version() {
    let root = tempfile::tempdir().unwrap();
    let f = fixture(11);
    let manifest = Manifest {
        schema_version: 7,
        ..f.manifest("v1")
    };
    assert!(matches!(
        publish(root.path(), manifest, &f.contents(), &[]),
        Err(Error::SchemaVersion {
            expected: SCHEMA_VERSION,
            got: 7
        })
    ));
}

#[test]
fn publish_rejects_inconsistent_contents() {
    let root = tempfile::tempdir().unwrap();
    let f = fixture(12);
    let short_ids = &f.user_ids[1..];
    let contents = ArtifactContents {
        user_ids: short_ids,
        ..f.contents()
    };
    assert!(matches!(
        publish(root.path(), f.manifest("v1"), &contents, &[]),
        Err(Error::DimensionMismatch {
            what: "user_ids",
            expected: 40,
            got: 39
        })
    ));
    let manifest = Manifest {
        factors: FACTORS + 1,
        ..f.manifest("v1")
    };
    assert!(matches!(
        publish(root.path(), manifest, &f.contents(), &[]),
        Err(Error::DimensionMismatch {
            what: "user_factors columns",
            ..
        })
    ));
    let other = fixture(13);
    let contents = ArtifactContents {
        index: &other.index,
        ..f.contents()
    };
    assert!(matches!(
        publish(root.path(), f.manifest("v1"), &contents, &[]),
        Err(Error::IndexMismatch {
            what: "item vectors",
            ..
        })
    ));
    let manifest = Manifest {
        ann: AnnConfig {
            max_connections: 9,
            ..ann_config()
        },
        ..f.manifest("v1")
    };
    assert!(matches!(
        publish(root.path(), manifest, &f.contents(), &[]),
        Err(Error::IndexMismatch {
            what: "max_connections",
            ..
        })
    ));
}

#[test]
fn publish_rejects_ids_with_line_breaks() {
    let root = tempfile::tempdir().unwrap();
    let mut f = fixture(14);
    f.item_ids[3] = "two\nlines".to_owned();
    assert!(matches!(
        f.publish(root.path(), "v1"),
        Err(Error::InvalidId {
            what: "item",
            index: 3
        })
    ));
}

#[test]
fn publish_rejects_bad_extra_file_names() {
    let root = tempfile::tempdir().unwrap();
    let f = fixture(15);
    for bad in [
        "../report.md",
        "manifest.json",
        "user_ids.txt",
        ".hidden",
        "",
    ] {
        let extra = vec![(bad.to_owned(), Vec::new())];
        assert!(
            matches!(
                publish(root.path(), f.manifest("v1"), &f.contents(), &extra),
                Err(Error::InvalidFileName { .. })
            ),
            "{bad:?}"
        );
    }
}

/// A published version directory for the loader tests.
fn published(seed: u64) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = fixture(seed).publish(root.path(), "v1").unwrap();
    (root, dir)
}

#[test]
fn load_reports_a_missing_file() {
    let (_root, dir) = published(16);
    std::fs::remove_file(dir.join(USER_IDS_FILE)).unwrap();
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::MissingFile { path }) if path == dir.join(USER_IDS_FILE)
    ));
    std::fs::remove_file(dir.join(MANIFEST_FILE)).unwrap();
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::MissingFile { path }) if path == dir.join(MANIFEST_FILE)
    ));
}

#[test]
fn load_reports_a_checksum_mismatch() {
    let (_root, dir) = published(17);
    let path = dir.join(ITEM_FACTORS_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::ChecksumMismatch { file, expected, got })
            if file == ITEM_FACTORS_FILE && expected != got
    ));
}

#[test]
fn load_reports_a_wrong_schema_version() {
    let (_root, dir) = published(18);
    edit_manifest(&dir, |m| m["schema_version"] = 2.into());
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::SchemaVersion {
            expected: SCHEMA_VERSION,
            got: 2
        })
    ));
}

#[test]
fn load_reports_inconsistent_factors() {
    let (_root, dir) = published(19);
    edit_manifest(&dir, |m| m["factors"] = (FACTORS + 2).into());
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::DimensionMismatch {
            what: "user_factors columns",
            expected: 8,
            got: 6
        })
    ));
}

#[test]
fn load_reports_more_ids_than_factor_rows() {
    let (_root, dir) = published(20);
    // An extra id, with a matching checksum: only the dimension check can catch it.
    let path = dir.join(USER_IDS_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"intruder\n");
    std::fs::write(&path, &bytes).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    edit_manifest(&dir, |m| {
        m["files"][USER_IDS_FILE] = serde_json::json!({ "sha256": sha, "bytes": bytes.len() });
    });
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::DimensionMismatch {
            what: "user_ids",
            expected: 40,
            got: 41
        })
    ));
}

#[test]
fn load_reports_a_malformed_manifest() {
    let (_root, dir) = published(21);
    let path = dir.join(MANIFEST_FILE);
    let good = std::fs::read(&path).unwrap();
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::MalformedManifest { .. })
    ));
    // Valid JSON of the wrong shape.
    std::fs::write(&path, br#"{"schema_version": 1, "version": 3}"#).unwrap();
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::MalformedManifest { .. })
    ));
}

#[test]
fn load_reports_a_manifest_without_a_required_file() {
    let (_root, dir) = published(22);
    edit_manifest(&dir, |m| {
        m["files"].as_object_mut().unwrap().remove("popularity.npy");
    });
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::MissingManifestEntry { file }) if file == "popularity.npy"
    ));
}

#[test]
fn load_rejects_manifest_entries_outside_the_directory() {
    let (_root, dir) = published(23);
    edit_manifest(&dir, |m| {
        m["files"]["../escape"] = serde_json::json!({ "sha256": "00", "bytes": 0 });
    });
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::InvalidFileName { name }) if name == "../escape"
    ));
}

#[test]
fn current_pointer_states() {
    let root = tempfile::tempdir().unwrap();
    assert_eq!(current_version(root.path()).unwrap(), None);
    assert!(matches!(
        Artifact::load_current(root.path()),
        Err(Error::NoCurrentVersion { .. })
    ));
    std::fs::write(root.path().join(CURRENT_FILE), "../../etc\n").unwrap();
    assert!(matches!(
        current_version(root.path()),
        Err(Error::InvalidPointer { .. })
    ));
    // A pointer to a version that is not there.
    std::fs::write(root.path().join(CURRENT_FILE), "v9\n").unwrap();
    assert!(matches!(
        Artifact::load_current(root.path()),
        Err(Error::MissingFile { .. })
    ));
}

// ---- The optional content encoder -------------------------------------------------------------

/// An encoder fitted on the fixture's item vectors: item `i` has topic `t<i % 3>` and the words
/// of its topic.
fn encoder_for(f: &Fixture) -> crate::content::ContentEncoder {
    use crate::content::{ContentParams, PostContent};
    let topics: Vec<Vec<String>> = (0..f.item_ids.len())
        .map(|i| vec![format!("t{}", i % 3)])
        .collect();
    let texts: Vec<String> = (0..f.item_ids.len())
        .map(|i| format!("word{} word{} common", i % 3, i % 5))
        .collect();
    let posts: Vec<PostContent<'_>> = topics
        .iter()
        .zip(&texts)
        .map(|(t, x)| PostContent { topics: t, text: x })
        .collect();
    ContentParams {
        lambdas: vec![1.0],
        ..ContentParams::default()
    }
    .check()
    .unwrap()
    .fit(&posts, f.item_factors.view())
    .unwrap()
    .encoder
}

/// A published version with a content encoder.
fn published_with_encoder(seed: u64) -> (tempfile::TempDir, PathBuf, Fixture) {
    let root = tempfile::tempdir().unwrap();
    let f = fixture(seed);
    let encoder = encoder_for(&f);
    let optional = OptionalContents {
        content_encoder: Some(&encoder),
    };
    let dir = publish_with(root.path(), f.manifest("v1"), &f.contents(), optional, &[]).unwrap();
    (root, dir, f)
}

/// Replaces a checksummed file and its manifest entry, so only the content checks can object.
fn replace_file(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(bytes))
    };
    edit_manifest(dir, |m| {
        m["files"][name] = serde_json::json!({ "sha256": sha, "bytes": bytes.len() });
    });
}

#[test]
fn the_content_encoder_roundtrips_checksummed() {
    let (_root, dir, f) = published_with_encoder(30);
    let a = Artifact::load(&dir).unwrap();
    let encoder = a.content_encoder.as_ref().unwrap();
    assert_eq!(*encoder, encoder_for(&f));
    for name in CONTENT_FILES {
        assert!(a.manifest.files.contains_key(name), "{name}");
    }
    let t = vec!["t1".to_owned()];
    assert_eq!(
        encoder.encode(&t, "word1 common"),
        encoder_for(&f).encode(&t, "word1 common")
    );
    // Byte-identical when published again.
    let (_other, again, _) = published_with_encoder(30);
    for name in CONTENT_FILES {
        assert_eq!(
            std::fs::read(dir.join(name)).unwrap(),
            std::fs::read(again.join(name)).unwrap(),
            "{name}"
        );
    }
    // Tampering is caught by the checksums like for every other file.
    let path = dir.join(CONTENT_WEIGHTS_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::ChecksumMismatch { file, .. }) if file == CONTENT_WEIGHTS_FILE
    ));
}

#[test]
fn publish_rejects_an_encoder_of_other_factors() {
    let root = tempfile::tempdir().unwrap();
    let f = fixture(31);
    let other = Fixture {
        item_factors: f
            .item_factors
            .slice(ndarray::s![.., ..FACTORS - 1])
            .to_owned(),
        ..fixture(31)
    };
    let encoder = encoder_for(&other);
    let optional = OptionalContents {
        content_encoder: Some(&encoder),
    };
    assert!(matches!(
        publish_with(root.path(), f.manifest("v1"), &f.contents(), optional, &[]),
        Err(Error::DimensionMismatch {
            what: "content encoder factors",
            expected: FACTORS,
            got
        }) if got == FACTORS - 1
    ));
    let extra = vec![(CONTENT_META_FILE.to_owned(), b"{}".to_vec())];
    assert!(matches!(
        publish(root.path(), f.manifest("v1"), &f.contents(), &extra),
        Err(Error::InvalidFileName { .. })
    ));
}

#[test]
fn load_reports_a_partly_listed_encoder() {
    let (_root, dir, _) = published_with_encoder(32);
    edit_manifest(&dir, |m| {
        m["files"]
            .as_object_mut()
            .unwrap()
            .remove("content_idf.npy");
    });
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::MissingManifestEntry { file }) if file == "content_idf.npy"
    ));
}

#[test]
fn load_reports_an_encoder_of_other_factors() {
    let (_root, dir, _) = published_with_encoder(33);
    let meta_path = dir.join(CONTENT_META_FILE);
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["factors"] = (FACTORS + 1).into();
    replace_file(&dir, CONTENT_META_FILE, &serde_json::to_vec(&meta).unwrap());
    let err = Artifact::load(&dir).unwrap_err();
    assert!(
        matches!(
            err,
            Error::DimensionMismatch {
                what: "content encoder factors",
                expected: FACTORS,
                got
            } if got == FACTORS + 1
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "dimension mismatch for content encoder factors: expected 6, got 7"
    );
}

#[test]
fn load_reports_encoder_weights_of_the_wrong_shape() {
    let (_root, dir, _) = published_with_encoder(34);
    let weights = Array2::<f32>::zeros((10, FACTORS - 2));
    replace_file(
        &dir,
        CONTENT_WEIGHTS_FILE,
        &npy::encode_f32_matrix(weights.view()),
    );
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::DimensionMismatch {
            what: "content_weights columns",
            expected: FACTORS,
            got
        }) if got == FACTORS - 2
    ));
    let weights = Array2::<f32>::zeros((10, FACTORS));
    replace_file(
        &dir,
        CONTENT_WEIGHTS_FILE,
        &npy::encode_f32_matrix(weights.view()),
    );
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::DimensionMismatch {
            what: "content_weights rows",
            got: 10,
            ..
        })
    ));
}

#[test]
fn load_rejects_an_encoder_with_other_feature_rules_or_bad_json() {
    let (_root, dir, _) = published_with_encoder(35);
    let meta_path = dir.join(CONTENT_META_FILE);
    let good = std::fs::read(&meta_path).unwrap();
    let mut meta: serde_json::Value = serde_json::from_slice(&good).unwrap();
    meta["tokenizer"] = "whitespace".into();
    replace_file(&dir, CONTENT_META_FILE, &serde_json::to_vec(&meta).unwrap());
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::MalformedContentEncoder { reason, .. }) if reason.contains("tokenizer")
    ));
    replace_file(&dir, CONTENT_META_FILE, b"{\"format_version\": 1}");
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::MalformedContentEncoder { path, .. }) if path == meta_path
    ));
    let mut meta: serde_json::Value = serde_json::from_slice(&good).unwrap();
    meta["topics"] = serde_json::json!(["t2", "t1", "t0"]);
    replace_file(&dir, CONTENT_META_FILE, &serde_json::to_vec(&meta).unwrap());
    assert!(matches!(
        Artifact::load(&dir),
        Err(Error::MalformedContentEncoder { reason, .. }) if reason.contains("sorted")
    ));
}

// Kept versions: keep, set_current, pins, retention and the fallback choice.

fn flip_last_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

fn gate(accepted: bool) -> GateDecision {
    GateDecision {
        accepted,
        reason: if accepted { "better" } else { "worse" }.to_owned(),
        current_version: Some("v1".to_owned()),
        candidate_ndcg: Some(0.1),
        current_ndcg: Some(0.2),
        ndcg_tolerance: 0.02,
        index_recall: 0.99,
        min_index_recall: 0.95,
        holdout: None,
        enforced: true,
    }
}

/// Keeps `version` (not current) with a gate record.
fn keep(root: &Path, seed: u64, version: &str, decision: Option<GateDecision>) {
    let f = fixture(seed);
    let extra: Vec<(String, Vec<u8>)> = decision
        .map(|g| vec![(GATE_FILE.to_owned(), serde_json::to_vec(&g).unwrap())])
        .unwrap_or_default();
    keep_with(
        root,
        f.manifest(version),
        &f.contents(),
        OptionalContents::default(),
        &extra,
    )
    .unwrap();
}

#[test]
fn a_kept_version_is_not_current_until_set() {
    let root = tempfile::tempdir().unwrap();
    fixture(30).publish(root.path(), "v1").unwrap();
    keep(root.path(), 31, "v2", Some(gate(false)));
    assert_eq!(current_version(root.path()).unwrap().as_deref(), Some("v1"));
    let listed = versions(root.path()).unwrap();
    let names: Vec<_> = listed.iter().map(|e| e.version.as_str()).collect();
    assert_eq!(names, ["v2", "v1"]);
    assert!(listed[0].rejected() && !listed[0].current);
    assert_eq!(listed[0].gate.as_ref().unwrap().reason, "worse");
    assert!(listed[1].current && listed[1].gate.is_none());
    assert_eq!(
        listed[1].manifest.as_ref().unwrap().metrics["ndcg@10"],
        0.25
    );

    set_current(root.path(), "v2").unwrap();
    assert_eq!(current_version(root.path()).unwrap().as_deref(), Some("v2"));
    set_current(root.path(), "v1").unwrap();
    assert_eq!(current_version(root.path()).unwrap().as_deref(), Some("v1"));
    assert!(matches!(
        set_current(root.path(), "v9"),
        Err(Error::UnknownVersion { version }) if version == "v9"
    ));
    assert!(matches!(
        set_current(root.path(), "../v1"),
        Err(Error::InvalidVersionName { .. })
    ));
    assert!(matches!(
        set_current(root.path(), "pinned"),
        Err(Error::InvalidVersionName { .. })
    ));
}

#[test]
fn retention_keeps_the_newest_the_current_and_the_pinned() {
    let root = tempfile::tempdir().unwrap();
    for (i, v) in ["v1", "v2", "v3", "v4", "v5"].iter().enumerate() {
        keep(root.path(), 40 + i as u64, v, None);
    }
    set_current(root.path(), "v1").unwrap();
    assert!(set_pinned(root.path(), "v2", true).unwrap());
    assert!(!set_pinned(root.path(), "v2", true).unwrap());
    assert!(matches!(
        set_pinned(root.path(), "v7", true),
        Err(Error::UnknownVersion { .. })
    ));
    let removed = prune(root.path(), 2).unwrap();
    assert_eq!(removed, ["v3"]);
    let names: Vec<_> = versions(root.path())
        .unwrap()
        .into_iter()
        .map(|e| (e.version, e.current, e.pinned))
        .collect();
    assert_eq!(
        names,
        [
            ("v5".to_owned(), false, false),
            ("v4".to_owned(), false, false),
            ("v2".to_owned(), false, true),
            ("v1".to_owned(), true, false),
        ]
    );
    assert!(set_pinned(root.path(), "v2", false).unwrap());
    assert_eq!(prune(root.path(), 1).unwrap(), ["v4", "v2"]);
    assert_eq!(current_version(root.path()).unwrap().as_deref(), Some("v1"));
    assert!(Artifact::load_current(root.path()).is_ok());
    // Nothing left behind but the kept versions and the files of the models directory.
    let mut left: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["current", "pinned", "v1", "v5"]);
}

#[test]
fn a_damaged_current_version_falls_back_to_the_newest_valid_older_one() {
    let root = tempfile::tempdir().unwrap();
    fixture(50).publish(root.path(), "v1").unwrap();
    fixture(51).publish(root.path(), "v2").unwrap();
    keep(root.path(), 52, "v3", Some(gate(false)));
    fixture(53).publish(root.path(), "v4").unwrap();
    keep(root.path(), 54, "v5", None);

    // Intact: the current one.
    let choice = load_servable(root.path(), None).unwrap();
    assert_eq!(choice.artifact.as_ref().unwrap().manifest.version, "v4");
    assert!(!choice.is_fallback() && choice.problems.is_empty());

    // One flipped byte in the current version: the newest valid older one that the gate did
    // not reject (v3 was rejected), with the reason in file names only.
    assert_eq!(
        Artifact::verify(&root.path().join("v4")).unwrap().version,
        "v4"
    );
    flip_last_byte(&root.path().join("v4").join(ITEM_FACTORS_FILE));
    assert!(matches!(
        Artifact::verify(&root.path().join("v4")),
        Err(Error::ChecksumMismatch { file, .. }) if file == ITEM_FACTORS_FILE
    ));
    let choice = load_servable(root.path(), None).unwrap();
    assert_eq!(choice.artifact.as_ref().unwrap().manifest.version, "v2");
    assert!(choice.is_fallback());
    assert_eq!(
        choice.problems,
        [(
            "v4".to_owned(),
            "item_factors.npy fails its checksum".to_owned()
        )]
    );
    // A caller already serving v2 is told so without loading it again.
    let choice = load_servable(root.path(), Some("v2")).unwrap();
    assert!(choice.artifact.is_none() && choice.problems.len() == 1);

    // Older ones damaged too: a newer, unrejected one is better than nothing.
    std::fs::remove_file(root.path().join("v2").join(USER_IDS_FILE)).unwrap();
    assert!(matches!(
        Artifact::verify(&root.path().join("v2")),
        Err(Error::MissingFile { path }) if path.ends_with(USER_IDS_FILE)
    ));
    flip_last_byte(&root.path().join("v1").join(ITEM_FACTORS_FILE));
    let choice = load_servable(root.path(), None).unwrap();
    assert_eq!(choice.artifact.as_ref().unwrap().manifest.version, "v5");
    assert_eq!(choice.problems[1].1, "user_ids.txt is missing");

    // The current version's directory gone entirely.
    std::fs::remove_dir_all(root.path().join("v4")).unwrap();
    let choice = load_servable(root.path(), None).unwrap();
    assert_eq!(choice.artifact.as_ref().unwrap().manifest.version, "v5");
    assert_eq!(
        choice.problems[0],
        ("v4".to_owned(), "is missing".to_owned())
    );
    assert!(
        choice
            .problems
            .iter()
            .all(|(_, why)| !why.contains('/') && !why.contains(&"0".repeat(8)))
    );

    // A damaged pointer: the newest valid version.
    std::fs::write(root.path().join(CURRENT_FILE), "../etc\n").unwrap();
    let choice = load_servable(root.path(), None).unwrap();
    assert_eq!(choice.artifact.as_ref().unwrap().manifest.version, "v5");
    assert_eq!(choice.wanted, None);

    // Nothing published: nothing to serve, no problem.
    let empty = tempfile::tempdir().unwrap();
    let choice = load_servable(&empty.path().join("models"), None).unwrap();
    assert!(choice.artifact.is_none() && choice.problems.is_empty() && !choice.is_fallback());
}
