//! Loading and validating a published model version.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use sha2::{Digest, Sha256};

use super::manifest::{
    CHECKSUMMED_FILES, CONTENT_FILES, CURRENT_FILE, INDEX_BASENAME, ITEM_FACTORS_FILE,
    ITEM_IDS_FILE, MANIFEST_FILE, Manifest, POPULARITY_FILE, SCHEMA_VERSION, USER_FACTORS_FILE,
    USER_IDS_FILE, check_version_name, is_plain_file_name,
};
use super::{content, ids, npy};
use crate::ann::AnnIndex;
use crate::content::ContentEncoder;
use crate::error::{Error, Result};

/// A loaded, verified model version.
#[derive(Debug)]
pub struct Artifact {
    /// The manifest.
    pub manifest: Manifest,
    /// The version directory it was loaded from.
    pub dir: PathBuf,
    /// Raw user ids, in user-index order.
    pub user_ids: Vec<String>,
    /// Raw item ids, in item-index order.
    pub item_ids: Vec<String>,
    /// `users x factors`.
    pub user_factors: Array2<f32>,
    /// `items x factors`.
    pub item_factors: Array2<f32>,
    /// Training interactions per item.
    pub popularity: Vec<u32>,
    /// The item index, over `item_factors`.
    pub index: AnnIndex,
    /// The content encoder, when the version has one (it is optional: older versions and runs
    /// without post features have none).
    pub content_encoder: Option<ContentEncoder>,
}

impl Artifact {
    /// Loads the version in `dir`, verifying it completely: the manifest's schema version, the
    /// size and SHA-256 of every checksummed file, and that all parts agree on the numbers of
    /// users, items and factors. The content encoder is loaded when the manifest lists its
    /// files, and its shapes are checked against the model's factors.
    ///
    /// # Errors
    ///
    /// [`Error::MissingFile`] for a missing manifest or file; [`Error::MalformedManifest`];
    /// [`Error::SchemaVersion`]; [`Error::MissingManifestEntry`] if the manifest omits a
    /// required file, or lists some of the content encoder's files but not all;
    /// [`Error::InvalidFileName`] for an entry that is not a plain file name;
    /// [`Error::ChecksumMismatch`]; [`Error::Npy`]; [`Error::MalformedIds`];
    /// [`Error::DimensionMismatch`] (for the content encoder: `content encoder factors`,
    /// `content_weights columns`, `content_weights rows`, `content_idf`, `content_offset`);
    /// [`Error::MalformedContentEncoder`]; index errors from [`AnnIndex::load`]; [`Error::Io`].
    pub fn load(dir: &Path) -> Result<Self> {
        let manifest = read_listed_manifest(dir)?;
        let has_content = CONTENT_FILES
            .iter()
            .any(|name| manifest.files.contains_key(*name));
        // Verify every listed file, then parse the verified bytes (not a second read).
        let mut verified = std::collections::BTreeMap::new();
        for (name, entry) in &manifest.files {
            if !is_plain_file_name(name) {
                return Err(Error::InvalidFileName { name: name.clone() });
            }
            let bytes = read(&dir.join(name))?;
            let got = hex::encode(Sha256::digest(&bytes));
            if got != entry.sha256 || bytes.len() as u64 != entry.bytes {
                return Err(Error::ChecksumMismatch {
                    file: name.clone(),
                    expected: entry.sha256.clone(),
                    got,
                });
            }
            verified.insert(name.as_str(), bytes);
        }
        let path = |name: &str| dir.join(name);
        let file = |name: &str| verified[name].as_slice();

        let user_factors =
            npy::decode_f32_matrix(file(USER_FACTORS_FILE), &path(USER_FACTORS_FILE))?;
        let item_factors =
            npy::decode_f32_matrix(file(ITEM_FACTORS_FILE), &path(ITEM_FACTORS_FILE))?;
        let popularity =
            npy::decode_u32_vector(file(POPULARITY_FILE), &path(POPULARITY_FILE))?.to_vec();
        let user_ids = ids::decode(file(USER_IDS_FILE), &path(USER_IDS_FILE))?;
        let item_ids = ids::decode(file(ITEM_IDS_FILE), &path(ITEM_IDS_FILE))?;

        let (n_users, n_items) = (user_factors.nrows(), item_factors.nrows());
        let checks = [
            (
                "user_factors columns",
                manifest.factors,
                user_factors.ncols(),
            ),
            (
                "item_factors columns",
                manifest.factors,
                item_factors.ncols(),
            ),
            ("user_ids", n_users, user_ids.len()),
            ("item_ids", n_items, item_ids.len()),
            ("popularity", n_items, popularity.len()),
            ("counts.users", n_users, manifest.counts.users),
            ("counts.items", n_items, manifest.counts.items),
        ];
        for (what, expected, got) in checks {
            if expected != got {
                return Err(Error::DimensionMismatch {
                    what,
                    expected,
                    got,
                });
            }
        }
        let content_encoder = if has_content {
            Some(content::decode(file, dir, manifest.factors)?)
        } else {
            None
        };
        let index = AnnIndex::load(dir, INDEX_BASENAME, item_factors.view(), &manifest.ann)?;
        tracing::debug!(version = %manifest.version, dir = %dir.display(), "loaded model");
        Ok(Self {
            manifest,
            dir: dir.to_path_buf(),
            user_ids,
            item_ids,
            user_factors,
            item_factors,
            popularity,
            index,
            content_encoder,
        })
    }

    /// Verifies the version in `dir` on disk without loading it: the manifest's schema version
    /// and the size and SHA-256 of every file it lists (one streaming read each, nothing kept).
    /// What a server serving this version from memory runs to learn whether the files under it
    /// are still intact (a restart would load them).
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load) for the manifest and the checksums.
    pub fn verify(dir: &Path) -> Result<Manifest> {
        let manifest = read_listed_manifest(dir)?;
        for (name, entry) in &manifest.files {
            if !is_plain_file_name(name) {
                return Err(Error::InvalidFileName { name: name.clone() });
            }
            let path = dir.join(name);
            let got = super::write::file_entry(&path).map_err(|e| match e {
                Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                    Error::MissingFile { path: path.clone() }
                }
                other => other,
            })?;
            if got.sha256 != entry.sha256 || got.bytes != entry.bytes {
                return Err(Error::ChecksumMismatch {
                    file: name.clone(),
                    expected: entry.sha256.clone(),
                    got: got.sha256,
                });
            }
        }
        Ok(manifest)
    }

    /// Loads the version that `<models_dir>/current` names.
    ///
    /// # Errors
    ///
    /// [`Error::NoCurrentVersion`] if nothing was published, [`Error::InvalidPointer`], and
    /// everything [`load`](Self::load) reports.
    pub fn load_current(models_dir: &Path) -> Result<Self> {
        let version = current_version(models_dir)?.ok_or_else(|| Error::NoCurrentVersion {
            models_dir: models_dir.to_path_buf(),
        })?;
        Self::load(&models_dir.join(version))
    }
}

/// The manifest of the version in `dir`, checked to list every required file, and either all
/// of the content encoder's files or none.
fn read_listed_manifest(dir: &Path) -> Result<Manifest> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest = parse_manifest(&read(&manifest_path)?, &manifest_path)?;
    for required in CHECKSUMMED_FILES {
        if !manifest.files.contains_key(required) {
            return Err(Error::MissingManifestEntry {
                file: required.to_owned(),
            });
        }
    }
    if CONTENT_FILES
        .iter()
        .any(|name| manifest.files.contains_key(*name))
        && let Some(missing) = CONTENT_FILES
            .iter()
            .find(|name| !manifest.files.contains_key(**name))
    {
        return Err(Error::MissingManifestEntry {
            file: (*missing).to_owned(),
        });
    }
    Ok(manifest)
}

/// Same as [`Artifact::load`].
///
/// # Errors
///
/// As [`Artifact::load`].
pub fn load(dir: &Path) -> Result<Artifact> {
    Artifact::load(dir)
}

/// The version `<models_dir>/current` names, or `None` if there is no pointer yet.
///
/// # Errors
///
/// [`Error::InvalidPointer`] if the pointer does not hold a valid version name; [`Error::Io`].
pub fn current_version(models_dir: &Path) -> Result<Option<String>> {
    let pointer = models_dir.join(CURRENT_FILE);
    let bytes = match std::fs::read(&pointer) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(pointer, e)),
    };
    let content = String::from_utf8_lossy(&bytes).into_owned();
    let version = content.strip_suffix('\n').unwrap_or(&content);
    match check_version_name(version) {
        Ok(()) => Ok(Some(version.to_owned())),
        Err(_) => Err(Error::InvalidPointer {
            path: pointer,
            content,
        }),
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::MissingFile {
            path: path.to_path_buf(),
        },
        _ => Error::io(path, e),
    })
}

/// Parses the manifest, checking the schema version before the shape, so a manifest from a
/// different schema is reported as such rather than as malformed.
pub(crate) fn parse_manifest(bytes: &[u8], path: &Path) -> Result<Manifest> {
    let malformed = |source| Error::MalformedManifest {
        path: path.to_path_buf(),
        source,
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(malformed)?;
    if let Some(got) = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
        && got != u64::from(SCHEMA_VERSION)
    {
        return Err(Error::SchemaVersion {
            expected: SCHEMA_VERSION,
            got: u32::try_from(got).unwrap_or(u32::MAX),
        });
    }
    serde_json::from_value(value).map_err(malformed)
}
