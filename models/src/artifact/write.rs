//! Writing and atomically publishing a model version.
//!
//! A version is written into `<models_dir>/.staging-<version>/` with every file and the
//! directory fsynced, renamed to `<models_dir>/<version>/` (atomic on one file system:
//! [`keep_with`]), and only then is `<models_dir>/current` replaced, by writing a temporary file,
//! fsyncing it and renaming it over the pointer ([`set_current`]). A crash at any point leaves
//! `current` naming a complete version; a leftover staging directory is removed by the next
//! publish of that version.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ndarray::ArrayView2;
use sha2::{Digest, Sha256};

use super::manifest::{
    CHECKSUMMED_FILES, CONTENT_FILES, CURRENT_FILE, FileEntry, INDEX_BASENAME, ITEM_FACTORS_FILE,
    ITEM_IDS_FILE, MANIFEST_FILE, Manifest, POPULARITY_FILE, SCHEMA_VERSION, USER_FACTORS_FILE,
    USER_IDS_FILE, check_version_name, is_plain_file_name,
};
use super::{content, ids, npy};
use crate::ann::AnnIndex;
use crate::content::ContentEncoder;
use crate::error::{Error, Result};

/// What the pipeline hands to [`publish`].
#[derive(Clone, Copy, Debug)]
pub struct ArtifactContents<'a> {
    /// Raw user ids, in user-index order.
    pub user_ids: &'a [String],
    /// Raw item ids, in item-index order.
    pub item_ids: &'a [String],
    /// `users x factors`.
    pub user_factors: ArrayView2<'a, f32>,
    /// `items x factors`.
    pub item_factors: ArrayView2<'a, f32>,
    /// Training interactions per item (the MostPopular ranking).
    pub popularity: &'a [u32],
    /// The index over `item_factors`.
    pub index: &'a AnnIndex,
}

/// The optional parts of a version: artifacts without them load as well (`None` in
/// [`Artifact`](super::Artifact)). `Default` gives none.
#[derive(Clone, Copy, Debug, Default)]
pub struct OptionalContents<'a> {
    /// The content encoder (its factors must be the model's).
    pub content_encoder: Option<&'a ContentEncoder>,
}

/// Writes a new model version without optional parts and makes it current: [`publish_with`]
/// with [`OptionalContents::default`].
///
/// # Errors
///
/// As [`publish_with`].
pub fn publish(
    models_dir: &Path,
    manifest: Manifest,
    contents: &ArtifactContents<'_>,
    extra_files: &[(String, Vec<u8>)],
) -> Result<PathBuf> {
    publish_with(
        models_dir,
        manifest,
        contents,
        OptionalContents::default(),
        extra_files,
    )
}

/// Writes a new model version, with its optional parts, and makes it current: [`keep_with`]
/// then [`set_current`].
///
/// # Errors
///
/// As [`keep_with`] and [`set_current`].
pub fn publish_with(
    models_dir: &Path,
    manifest: Manifest,
    contents: &ArtifactContents<'_>,
    optional: OptionalContents<'_>,
    extra_files: &[(String, Vec<u8>)],
) -> Result<PathBuf> {
    let version = manifest.version.clone();
    let dir = keep_with(models_dir, manifest, contents, optional, extra_files)?;
    set_current(models_dir, &version)?;
    tracing::info!(version, dir = %dir.display(), "published model");
    Ok(dir)
}

/// Writes a new model version, with its optional parts, into place **without** making it
/// current (a candidate the promotion gate rejected is kept for inspection this way; a
/// scheduler that must check its lease first points `current` itself).
///
/// Writes into `<models_dir>/.staging-<version>/`, fsyncs every file and the directory, and
/// renames it to `<models_dir>/<version>/` (fsyncing `models_dir`). `manifest.files` is filled
/// in here with the size and SHA-256 of every checksummed file, the optional parts' files
/// included; `extra_files` (`report.json`, `report.md`, plots, `gate.json`) are written too but
/// not checksummed. Identical inputs give byte-identical checksummed files. Returns the version
/// directory.
///
/// # Errors
///
/// [`Error::InvalidVersionName`]; [`Error::SchemaVersion`] if `manifest.schema_version` is not
/// [`SCHEMA_VERSION`]; [`Error::DimensionMismatch`] if the contents disagree with each other or
/// with the manifest; [`Error::IndexMismatch`] if the index was not built over `item_factors`
/// with `manifest.ann`; [`Error::DimensionMismatch`] (`content encoder factors`) if the content
/// encoder's factors are not `manifest.factors`; [`Error::InvalidId`];
/// [`Error::InvalidFileName`] for an extra file that is not a plain name or collides with an
/// artifact file; [`Error::VersionExists`]; [`Error::Io`] and index dump errors.
pub fn keep_with(
    models_dir: &Path,
    manifest: Manifest,
    contents: &ArtifactContents<'_>,
    optional: OptionalContents<'_>,
    extra_files: &[(String, Vec<u8>)],
) -> Result<PathBuf> {
    let version = manifest.version.clone();
    let staging = stage(models_dir, manifest, contents, optional, extra_files)?;
    keep_staged(models_dir, &staging, &version)
}

/// Writes the complete version into its staging directory and returns that directory.
pub(crate) fn stage(
    models_dir: &Path,
    mut manifest: Manifest,
    contents: &ArtifactContents<'_>,
    optional: OptionalContents<'_>,
    extra_files: &[(String, Vec<u8>)],
) -> Result<PathBuf> {
    check_version_name(&manifest.version)?;
    if manifest.schema_version != SCHEMA_VERSION {
        return Err(Error::SchemaVersion {
            expected: SCHEMA_VERSION,
            got: manifest.schema_version,
        });
    }
    check_contents(&manifest, contents)?;
    if let Some(encoder) = optional.content_encoder
        && encoder.factors() != manifest.factors
    {
        return Err(Error::DimensionMismatch {
            what: "content encoder factors",
            expected: manifest.factors,
            got: encoder.factors(),
        });
    }
    for (name, _) in extra_files {
        if !is_plain_file_name(name)
            || name == MANIFEST_FILE
            || CHECKSUMMED_FILES.contains(&&**name)
            || CONTENT_FILES.contains(&&**name)
        {
            return Err(Error::InvalidFileName { name: name.clone() });
        }
    }
    let user_ids = ids::encode(contents.user_ids, "user")?;
    let item_ids = ids::encode(contents.item_ids, "item")?;

    if !models_dir.is_dir() {
        fs::create_dir_all(models_dir).map_err(|e| Error::io(models_dir, e))?;
        if let Some(parent) = models_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    let final_dir = models_dir.join(&manifest.version);
    if final_dir.exists() {
        return Err(Error::VersionExists {
            version: manifest.version,
        });
    }
    let staging = models_dir.join(format!(".staging-{}", manifest.version));
    if staging.exists() {
        // Left behind by a publish of this version that did not finish.
        tracing::warn!(path = %staging.display(), "removing stale staging directory");
        fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;

    write_new(
        &staging.join(USER_FACTORS_FILE),
        &npy::encode_f32_matrix(contents.user_factors),
    )?;
    write_new(
        &staging.join(ITEM_FACTORS_FILE),
        &npy::encode_f32_matrix(contents.item_factors),
    )?;
    write_new(&staging.join(USER_IDS_FILE), &user_ids)?;
    write_new(&staging.join(ITEM_IDS_FILE), &item_ids)?;
    write_new(
        &staging.join(POPULARITY_FILE),
        &npy::encode_u32_vector(contents.popularity),
    )?;
    for path in contents.index.dump(&staging, INDEX_BASENAME)? {
        sync_file(&path)?;
    }
    let mut checksummed = CHECKSUMMED_FILES.to_vec();
    if let Some(encoder) = optional.content_encoder {
        for (name, bytes) in content::encode(encoder) {
            write_new(&staging.join(name), &bytes)?;
            checksummed.push(name);
        }
    }

    manifest.files = checksummed
        .iter()
        .map(|&name| Ok((name.to_owned(), file_entry(&staging.join(name))?)))
        .collect::<Result<_>>()?;
    let mut json = serde_json::to_vec_pretty(&manifest).expect("a manifest always serialises");
    json.push(b'\n');
    write_new(&staging.join(MANIFEST_FILE), &json)?;
    for (name, bytes) in extra_files {
        write_new(&staging.join(name), bytes)?;
    }
    sync_dir(&staging)?;
    Ok(staging)
}

/// Moves a staged version into place.
fn keep_staged(models_dir: &Path, staging: &Path, version: &str) -> Result<PathBuf> {
    let final_dir = models_dir.join(version);
    if final_dir.exists() {
        return Err(Error::VersionExists {
            version: version.to_owned(),
        });
    }
    fs::rename(staging, &final_dir).map_err(|e| Error::io(&final_dir, e))?;
    sync_dir(models_dir)?;
    Ok(final_dir)
}

/// Points `<models_dir>/current` at a kept version, atomically (a temporary file, fsync,
/// rename over the pointer, fsync of `models_dir`): a reader sees the old name or the new one.
/// Used to publish, roll back and roll forward. The version's manifest must be readable; its
/// files are not verified here (every loader does that).
///
/// # Errors
///
/// [`Error::InvalidVersionName`]; [`Error::UnknownVersion`] if `<models_dir>/<version>/` has no
/// manifest; [`Error::Io`].
pub fn set_current(models_dir: &Path, version: &str) -> Result<()> {
    check_version_name(version)?;
    if !models_dir.join(version).join(MANIFEST_FILE).is_file() {
        return Err(Error::UnknownVersion {
            version: version.to_owned(),
        });
    }
    replace_file(
        models_dir,
        CURRENT_FILE,
        format!("{version}\n").as_bytes(),
        version,
    )
}

/// Replaces `<dir>/<name>` atomically with `bytes` (`tag` keeps concurrent temporaries apart).
pub(crate) fn replace_file(dir: &Path, name: &str, bytes: &[u8], tag: &str) -> Result<()> {
    let target = dir.join(name);
    let temporary = dir.join(format!(".{name}.tmp-{tag}-{}", std::process::id()));
    let _ = fs::remove_file(&temporary);
    write_new(&temporary, bytes)?;
    fs::rename(&temporary, &target).map_err(|e| Error::io(&target, e))?;
    sync_dir(dir)
}

/// Checks the contents against each other and the manifest before anything is written.
fn check_contents(manifest: &Manifest, c: &ArtifactContents<'_>) -> Result<()> {
    let checks = [
        (
            "user_factors columns",
            manifest.factors,
            c.user_factors.ncols(),
        ),
        (
            "item_factors columns",
            manifest.factors,
            c.item_factors.ncols(),
        ),
        ("index dimension", manifest.factors, c.index.dim()),
        (
            "user_factors rows",
            manifest.counts.users,
            c.user_factors.nrows(),
        ),
        ("user_ids", manifest.counts.users, c.user_ids.len()),
        (
            "item_factors rows",
            manifest.counts.items,
            c.item_factors.nrows(),
        ),
        ("item_ids", manifest.counts.items, c.item_ids.len()),
        ("popularity", manifest.counts.items, c.popularity.len()),
        ("index items", manifest.counts.items, c.index.len()),
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
    // Checked here because the loader checks them: an artifact that fails them is unloadable.
    let config = c.index.config();
    for (what, expected, got) in [
        (
            "max_connections",
            manifest.ann.max_connections,
            config.max_connections,
        ),
        (
            "ef_construction",
            manifest.ann.ef_construction,
            config.ef_construction,
        ),
    ] {
        if expected != got {
            return Err(Error::IndexMismatch {
                what,
                expected: expected.to_string(),
                got: got.to_string(),
            });
        }
    }
    if c.index.items() != c.item_factors {
        return Err(Error::IndexMismatch {
            what: "item vectors",
            expected: "item_factors".to_owned(),
            got: "an index over other vectors".to_owned(),
        });
    }
    Ok(())
}

/// Creates `path` (which must not exist), writes `bytes` and fsyncs it.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))
}

fn sync_file(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Fsyncs a directory, making the creations and renames inside it durable.
fn sync_dir(dir: &Path) -> Result<()> {
    sync_file(dir)
}

/// Size and SHA-256 of a file, read back from disk.
pub(crate) fn file_entry(path: &Path) -> Result<FileEntry> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok(FileEntry {
        sha256: hex::encode(hasher.finalize()),
        bytes,
    })
}
