//! The kept versions of a models directory: listing them, the promotion gate's record, pins,
//! retention, and choosing what to serve when the current version is damaged.
//!
//! Every version directory stays until retention removes it ([`prune`]), so rolling back or
//! forward is moving the `current` pointer ([`set_current`](super::set_current)). A version the
//! promotion gate rejected is kept too, with its [`GateDecision`] in `gate.json`, and is never
//! chosen as a fallback. Pins live in `<models_dir>/pinned` (one version a line, replaced
//! atomically): a pinned version is never pruned.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::manifest::{GATE_FILE, MANIFEST_FILE, Manifest, PINNED_FILE, check_version_name};
use super::read::{Artifact, current_version, parse_manifest, read};
use super::write::replace_file;
use crate::error::{Error, Result};

/// What the promotion gate decided about a candidate version (`gate.json`), written by the
/// pipeline beside the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateDecision {
    /// Whether the candidate may become current.
    pub accepted: bool,
    /// Why, in a sentence with the figures.
    pub reason: String,
    /// The version it was compared with (`None`: nothing was published, or it could not load).
    pub current_version: Option<String>,
    /// The candidate's NDCG@K on the holdout.
    pub candidate_ndcg: Option<f64>,
    /// The current version's NDCG@K on the same holdout.
    pub current_ndcg: Option<f64>,
    /// The relative drop of NDCG allowed (0.02: the candidate needs at least 98 % of it).
    pub ndcg_tolerance: f64,
    /// The candidate index's recall@K against exact search.
    pub index_recall: f64,
    /// The recall the index needs.
    pub min_index_recall: f64,
    /// The holdout both were scored on.
    pub holdout: Option<GateHoldout>,
    /// Whether the decision was enforced (`false`: the gate was switched off and the version was
    /// published whatever it says).
    pub enforced: bool,
}

/// The recent holdout of a [`GateDecision`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateHoldout {
    /// The window before the newest interaction.
    pub window_secs: u64,
    /// The first timestamp in the holdout.
    pub from_timestamp: i64,
    /// Users scored.
    pub users: usize,
    /// Held-out interactions.
    pub interactions: usize,
    /// `true` when the window held too few users and the whole test split was used.
    pub whole_test_split: bool,
    /// When only a sample of the holdout's users was scored: how many users it held
    /// (`users` of them were scored). `None`: every one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_from: Option<usize>,
}

/// One kept version, as [`versions`] lists it (from its manifest and gate record; its files are
/// not verified here).
#[derive(Clone, Debug)]
pub struct VersionEntry {
    /// The version name.
    pub version: String,
    /// Its manifest, when it parses.
    pub manifest: Option<Manifest>,
    /// The gate's decision, when the pipeline recorded one.
    pub gate: Option<GateDecision>,
    /// Why the manifest or the gate record cannot be read, if so.
    pub problem: Option<String>,
    /// Whether `current` names it.
    pub current: bool,
    /// Whether it is pinned.
    pub pinned: bool,
}

impl VersionEntry {
    /// Whether the gate rejected it (an enforced, refused decision).
    pub fn rejected(&self) -> bool {
        self.gate
            .as_ref()
            .is_some_and(|g| g.enforced && !g.accepted)
    }
}

/// Reads a version directory's gate record, `None` when it has none.
///
/// # Errors
///
/// [`Error::MalformedGate`]; [`Error::Io`].
pub fn read_gate(version_dir: &Path) -> Result<Option<GateDecision>> {
    let path = version_dir.join(GATE_FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| Error::MalformedGate { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Every kept version of `models_dir`, newest first (version names start with their UTC
/// creation time, so name order is time order). Staging directories and other files are not
/// versions. An absent directory has none.
///
/// # Errors
///
/// [`Error::Io`] if the directory or the pins cannot be read.
pub fn versions(models_dir: &Path) -> Result<Vec<VersionEntry>> {
    let entries = match fs::read_dir(models_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(models_dir, e)),
    };
    // A damaged pointer names nothing: every version is listed as not current.
    let current = current_version(models_dir).unwrap_or(None);
    let pinned = pinned(models_dir)?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(models_dir, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if check_version_name(&name).is_ok() && entry.path().join(MANIFEST_FILE).is_file() {
            names.push(name);
        }
    }
    names.sort_unstable_by(|a, b| b.cmp(a));
    Ok(names
        .into_iter()
        .map(|version| {
            let dir = models_dir.join(&version);
            let path = dir.join(MANIFEST_FILE);
            let mut problem = None;
            let manifest = read(&path)
                .and_then(|bytes| parse_manifest(&bytes, &path))
                .map_err(|e| problem = Some(describe(&e)))
                .ok();
            let gate = read_gate(&dir)
                .map_err(|e| problem = Some(describe(&e)))
                .ok()
                .flatten();
            VersionEntry {
                current: current.as_deref() == Some(version.as_str()),
                pinned: pinned.contains(&version),
                version,
                manifest,
                gate,
                problem,
            }
        })
        .collect())
}

/// The pinned versions (`<models_dir>/pinned`; none when the file is absent).
///
/// # Errors
///
/// [`Error::Io`].
pub fn pinned(models_dir: &Path) -> Result<BTreeSet<String>> {
    let path = models_dir.join(PINNED_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .filter(|line| check_version_name(line).is_ok())
            .map(str::to_owned)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Pins or unpins a kept version (so retention keeps it); returns whether anything changed.
///
/// # Errors
///
/// [`Error::InvalidVersionName`]; [`Error::UnknownVersion`] when pinning a version that is not
/// kept (unpinning one that is gone is allowed); [`Error::Io`].
pub fn set_pinned(models_dir: &Path, version: &str, pin: bool) -> Result<bool> {
    check_version_name(version)?;
    if pin && !models_dir.join(version).join(MANIFEST_FILE).is_file() {
        return Err(Error::UnknownVersion {
            version: version.to_owned(),
        });
    }
    let mut set = pinned(models_dir)?;
    let changed = if pin {
        set.insert(version.to_owned())
    } else {
        set.remove(version)
    };
    if changed {
        let mut text = String::new();
        for name in &set {
            text.push_str(name);
            text.push('\n');
        }
        replace_file(models_dir, PINNED_FILE, text.as_bytes(), version)?;
    }
    Ok(changed)
}

/// Retention: keeps the `keep` newest versions plus the current one and every pinned one
/// wherever they are, removes the others and returns their names, newest first. `keep` of 0
/// removes every version that is neither current nor pinned.
///
/// # Errors
///
/// [`Error::Io`]; [`Error::InvalidPointer`] (nothing is pruned while the pointer is damaged).
pub fn prune(models_dir: &Path, keep: usize) -> Result<Vec<String>> {
    current_version(models_dir)?;
    let mut removed = Vec::new();
    for entry in versions(models_dir)?.into_iter().skip(keep) {
        if entry.current || entry.pinned {
            continue;
        }
        let dir = models_dir.join(&entry.version);
        // Renamed out of the version namespace first, so a reader never sees half a version.
        let doomed = models_dir.join(format!(".removing-{}", entry.version));
        fs::rename(&dir, &doomed).map_err(|e| Error::io(&dir, e))?;
        fs::remove_dir_all(&doomed).map_err(|e| Error::io(&doomed, e))?;
        tracing::info!(version = entry.version, "pruned model version");
        removed.push(entry.version);
    }
    Ok(removed)
}

/// A loaded version chosen to serve, and what was wrong with the ones tried before it.
#[derive(Debug)]
pub struct Choice {
    /// The version loaded, `None` when none could be (or none is published).
    pub artifact: Option<Artifact>,
    /// The version `current` names, if any.
    pub wanted: Option<String>,
    /// Each version tried and refused, in the order tried, with a short reason (file names
    /// only: no paths, no checksums).
    pub problems: Vec<(String, String)>,
}

impl Choice {
    /// Whether what is served is not what `current` names.
    pub fn is_fallback(&self) -> bool {
        self.wanted.is_some()
            && self.artifact.as_ref().map(|a| &a.manifest.version) != self.wanted.as_ref()
    }
}

/// Loads what to serve: the version `current` names, verified completely; if it cannot be
/// loaded, the newest valid version older than it (then newer ones), never one the gate
/// rejected, and never one in `skip` (a caller already serving a version passes it: it need
/// not be loaded twice to be kept). Nothing published, or nothing valid: `artifact` is `None`.
/// Every refusal is logged with its full error and listed in [`Choice::problems`].
///
/// # Errors
///
/// [`Error::Io`] if the directory cannot be listed. A damaged pointer is not an error: it is
/// a problem, and the newest valid version is served.
pub fn load_servable(models_dir: &Path, skip: Option<&str>) -> Result<Choice> {
    let mut problems = Vec::new();
    let wanted = match current_version(models_dir) {
        Ok(wanted) => wanted,
        Err(e) => {
            tracing::error!(error = %e, "the current model pointer is damaged");
            problems.push((super::CURRENT_FILE.to_owned(), describe(&e)));
            None
        }
    };
    let kept = versions(models_dir)?;
    let mut order: Vec<&VersionEntry> = Vec::new();
    if let Some(w) = &wanted {
        order.extend(kept.iter().filter(|e| &e.version == w));
        order.extend(kept.iter().filter(|e| e.version < *w && !e.rejected()));
        order.extend(
            kept.iter()
                .filter(|e| e.version > *w && !e.rejected())
                .rev(),
        );
    } else if !problems.is_empty() {
        order.extend(kept.iter().filter(|e| !e.rejected()));
    }
    if let Some(w) = &wanted
        && order.first().is_none_or(|e| &e.version != w)
    {
        problems.push((w.clone(), "is missing".to_owned()));
    }
    for entry in order {
        if skip == Some(entry.version.as_str()) {
            return Ok(Choice {
                artifact: None,
                wanted,
                problems,
            });
        }
        match Artifact::load(&models_dir.join(&entry.version)) {
            Ok(artifact) => {
                if !problems.is_empty() {
                    tracing::warn!(
                        version = entry.version,
                        wanted = wanted.as_deref().unwrap_or(""),
                        "serving a fallback model version"
                    );
                }
                return Ok(Choice {
                    artifact: Some(artifact),
                    wanted,
                    problems,
                });
            }
            Err(e) => {
                tracing::error!(version = entry.version, error = %e, "model version cannot be loaded");
                problems.push((entry.version.clone(), describe(&e)));
            }
        }
    }
    Ok(Choice {
        artifact: None,
        wanted,
        problems,
    })
}

/// A short reason for a load failure that names files, never paths or checksums (it reaches
/// `/readyz` and admin answers; the log has the full error).
pub fn describe(error: &Error) -> String {
    let file = |path: &PathBuf| {
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    match error {
        Error::MissingFile { path } => format!("{} is missing", file(path)),
        Error::ChecksumMismatch { file, .. } => format!("{file} fails its checksum"),
        Error::MissingManifestEntry { file } => format!("the manifest does not list {file}"),
        Error::MalformedManifest { .. } => "the manifest is malformed".to_owned(),
        Error::SchemaVersion { expected, got } => {
            format!("schema version {got} (this build reads {expected})")
        }
        Error::MalformedGate { .. } => "gate.json is malformed".to_owned(),
        Error::InvalidPointer { .. } => "the current pointer names no valid version".to_owned(),
        Error::Npy { path, .. } => format!("{} is not a valid array", file(path)),
        Error::MalformedIds { path, .. } => format!("{} is malformed", file(path)),
        Error::DimensionMismatch { what, .. } => format!("its parts disagree ({what})"),
        Error::CorruptIndex { path, .. } => format!("{} is corrupt", file(path)),
        Error::Io { path, source } => format!("{} cannot be read ({})", file(path), source.kind()),
        _ => "it cannot be loaded (the server log says why)".to_owned(),
    }
}
