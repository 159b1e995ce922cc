//! The artifact manifest (`manifest.json`) and the names of the files it describes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::als::AlsParams;
use crate::ann::AnnConfig;
use crate::error::{Error, Result};

/// Version of the artifact layout written by [`publish`](super::publish) and read by
/// [`Artifact::load`](super::Artifact::load).
pub const SCHEMA_VERSION: u32 = 1;

/// The manifest file of a version directory (not checksummed: it holds the checksums).
pub const MANIFEST_FILE: &str = "manifest.json";
/// The pointer file in the models directory naming the current version.
pub const CURRENT_FILE: &str = "current";
/// The file in the models directory listing pinned versions, one a line.
pub const PINNED_FILE: &str = "pinned";
/// The promotion gate's decision in a version directory (not checksummed, like the report).
pub const GATE_FILE: &str = "gate.json";

pub(crate) const USER_FACTORS_FILE: &str = "user_factors.npy";
pub(crate) const ITEM_FACTORS_FILE: &str = "item_factors.npy";
pub(crate) const USER_IDS_FILE: &str = "user_ids.txt";
pub(crate) const ITEM_IDS_FILE: &str = "item_ids.txt";
pub(crate) const POPULARITY_FILE: &str = "popularity.npy";
/// Basename of the hnsw_rs dump: `index.hnsw.graph` and `index.hnsw.data`.
pub(crate) const INDEX_BASENAME: &str = "index";
pub(crate) const INDEX_GRAPH_FILE: &str = "index.hnsw.graph";
pub(crate) const INDEX_DATA_FILE: &str = "index.hnsw.data";

/// The content encoder's description: feature rules, topic vocabulary, penalty (optional part).
pub(crate) const CONTENT_META_FILE: &str = "content_encoder.json";
/// The content encoder's weights, `f32 (topics + buckets) x factors` (optional part).
pub(crate) const CONTENT_WEIGHTS_FILE: &str = "content_weights.npy";
/// The content encoder's IDF per bucket, `f32 buckets` (optional part).
pub(crate) const CONTENT_IDF_FILE: &str = "content_idf.npy";
/// The content encoder's intercept, `f32 factors` (optional part).
pub(crate) const CONTENT_OFFSET_FILE: &str = "content_offset.npy";

/// The files of the optional content encoder: all of them or none are in a version.
pub(crate) const CONTENT_FILES: [&str; 4] = [
    CONTENT_META_FILE,
    CONTENT_WEIGHTS_FILE,
    CONTENT_IDF_FILE,
    CONTENT_OFFSET_FILE,
];

/// Every checksummed file a version must have (optional parts, when present, are checksummed
/// too).
pub(crate) const CHECKSUMMED_FILES: [&str; 7] = [
    USER_FACTORS_FILE,
    ITEM_FACTORS_FILE,
    USER_IDS_FILE,
    ITEM_IDS_FILE,
    POPULARITY_FILE,
    INDEX_GRAPH_FILE,
    INDEX_DATA_FILE,
];

/// Sizes of the training data.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    /// Users (rows of `user_factors`).
    pub users: usize,
    /// Items (rows of `item_factors`).
    pub items: usize,
    /// Training interactions.
    pub interactions: usize,
}

/// Size and SHA-256 of one checksummed file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// File size in bytes.
    pub bytes: u64,
}

/// What a published model is: how it was trained, on what, how well it did, and the checksum
/// of every file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// [`SCHEMA_VERSION`] of the layout.
    pub schema_version: u32,
    /// The version name, also the directory name.
    pub version: String,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// ALS parameters of the model.
    pub model: AlsParams,
    /// Parameters of the item index.
    pub ann: AnnConfig,
    /// SHA-256 hex of the canonical training data.
    pub data_fingerprint: String,
    /// Sizes of the training data.
    pub counts: Counts,
    /// Dimension of the user and item vectors.
    pub factors: usize,
    /// Evaluation results, in whatever shape the pipeline reports them.
    pub metrics: serde_json::Value,
    /// Every checksummed file (all files except `manifest.json` and the reports, the optional
    /// content encoder's included when it is published), filled in by
    /// [`publish`](super::publish).
    pub files: BTreeMap<String, FileEntry>,
}

/// Checks that `version` is a safe directory name: `[A-Za-z0-9._-]+`, not starting with `.`,
/// and not the pointer's name.
///
/// # Errors
///
/// [`Error::InvalidVersionName`].
pub fn check_version_name(version: &str) -> Result<()> {
    let valid = !version.is_empty()
        && version.len() <= 255
        && !version.starts_with('.')
        && version != CURRENT_FILE
        && version != PINNED_FILE
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidVersionName {
            version: version.to_owned(),
        })
    }
}

/// Whether `name` names a file directly inside a directory (no separators, not `.`/`..`, not
/// hidden).
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names() {
        for good in ["v1", "2024-05-01T12-00-00Z", "model_3.1"] {
            assert!(check_version_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".hidden",
            "..",
            "a/b",
            "current",
            "sp ace",
            "ü",
            &"x".repeat(256),
        ] {
            assert!(
                matches!(
                    check_version_name(bad),
                    Err(Error::InvalidVersionName { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn plain_file_names() {
        assert!(is_plain_file_name("report.json"));
        for bad in ["", ".x", "a/b", "..", "a\\b"] {
            assert!(!is_plain_file_name(bad), "{bad}");
        }
    }
}
