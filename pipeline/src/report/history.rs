//! The run history of a models directory: every run's test metrics and gate decision over time,
//! carried from report to report so that it outlives retention.
//!
//! A run's history is, oldest first: the points of the newest kept version's `report.json` (its
//! own history, hence every run before it that reached a report), every kept version's manifest
//! and gate record (a version kept by retention or pinned, whose report may be older), and the run
//! itself; one point per version name, the kept version's own record winning. At most
//! [`MAX_POINTS`] are kept, the newest. A run that failed before its report is not in it (the
//! scheduler's database history lists those); a damaged version is skipped with a warning.

use std::collections::BTreeMap;
use std::path::Path;

use models::artifact::VersionEntry;
use serde::{Deserialize, Serialize};

use super::JSON_FILE;

/// The most runs a history keeps (a year of nightly runs, and a few weeks more).
pub const MAX_POINTS: usize = 400;

/// One run of the history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    /// The version it wrote.
    pub version: String,
    /// When it started (RFC 3339, UTC).
    pub created_at: String,
    /// The cut-off of the metrics.
    pub k: usize,
    /// The model's NDCG@K on its test split.
    pub ndcg: f64,
    /// The model's Recall@K on its test split.
    pub recall: f64,
    /// MostPopular's NDCG@K on the same split.
    pub most_popular_ndcg: f64,
    /// Whether the promotion gate let it be published (an unenforced decision counts as accepted).
    pub accepted: bool,
}

impl HistoryPoint {
    /// The point of a kept version, from its manifest's metrics and its gate record; `None` when
    /// the manifest is missing or has no test metrics.
    pub fn of_version(entry: &VersionEntry) -> Option<Self> {
        let manifest = entry.manifest.as_ref()?;
        let test = manifest.metrics.get("test")?;
        let metric = |model: &str, name: &str| test.get(model)?.get(name)?.as_f64();
        Some(Self {
            version: entry.version.clone(),
            created_at: manifest.created_at.clone(),
            k: usize::try_from(manifest.metrics.get("k")?.as_u64()?).ok()?,
            ndcg: metric("model", "ndcg")?,
            recall: metric("model", "recall")?,
            most_popular_ndcg: metric("most_popular", "ndcg")?,
            accepted: !entry.rejected(),
        })
    }
}

/// Only the history of a `report.json` (older reports have none: an empty list).
#[derive(Deserialize)]
struct Carried {
    #[serde(default)]
    history: Vec<HistoryPoint>,
}

/// The history of a run writing `this` into `models_dir` (see the module docs). Never fails: what
/// cannot be read is logged and left out.
pub fn collect(models_dir: &Path, this: HistoryPoint) -> Vec<HistoryPoint> {
    let entries = models::artifact::versions(models_dir).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the run history cannot list the kept versions");
        Vec::new()
    });
    let mut by_version: BTreeMap<String, HistoryPoint> = BTreeMap::new();
    // The newest report that can be read carries the runs before it.
    if let Some(carried) = entries.iter().find_map(|e| {
        let bytes = std::fs::read(models_dir.join(&e.version).join(JSON_FILE)).ok()?;
        match serde_json::from_slice::<Carried>(&bytes) {
            Ok(c) => Some(c.history),
            Err(error) => {
                tracing::warn!(version = e.version, %error, "a report's history cannot be read");
                None
            }
        }
    }) {
        by_version.extend(carried.into_iter().map(|p| (p.version.clone(), p)));
    }
    by_version.extend(
        entries
            .iter()
            .filter_map(HistoryPoint::of_version)
            .map(|p| (p.version.clone(), p)),
    );
    by_version.insert(this.version.clone(), this);
    // Version names start with their UTC start time: name order is time order.
    let mut points: Vec<HistoryPoint> = by_version.into_values().collect();
    let excess = points.len().saturating_sub(MAX_POINTS);
    points.drain(..excess);
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(version: &str, ndcg: f64, accepted: bool) -> HistoryPoint {
        HistoryPoint {
            version: version.to_owned(),
            created_at: format!("created {version}"),
            k: 10,
            ndcg,
            recall: ndcg * 2.0,
            most_popular_ndcg: ndcg / 2.0,
            accepted,
        }
    }

    /// A kept version with a manifest carrying `ndcg`, a gate record, and a report carrying
    /// `history`.
    fn keep(models: &Path, version: &str, ndcg: f64, rejected: bool, history: &[HistoryPoint]) {
        let dir = models.join(version);
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = serde_json::json!({
            "schema_version": models::artifact::SCHEMA_VERSION,
            "version": version,
            "created_at": format!("created {version}"),
            "model": models::als::AlsParams::default(),
            "ann": models::ann::AnnConfig::default(),
            "data_fingerprint": "f",
            "counts": {"users": 1, "items": 1, "interactions": 1},
            "factors": 1,
            "metrics": {"k": 10, "test": {
                "model": {"ndcg": ndcg, "recall": ndcg * 2.0},
                "most_popular": {"ndcg": ndcg / 2.0},
            }},
            "files": {},
        });
        std::fs::write(
            dir.join(models::artifact::MANIFEST_FILE),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        let gate = serde_json::json!({
            "accepted": !rejected, "reason": "r", "current_version": null,
            "candidate_ndcg": ndcg, "current_ndcg": null, "ndcg_tolerance": 0.02,
            "index_recall": 0.99, "min_index_recall": 0.95, "holdout": null, "enforced": true,
        });
        std::fs::write(
            dir.join(models::artifact::GATE_FILE),
            serde_json::to_vec(&gate).unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.join(JSON_FILE),
            serde_json::to_vec(&serde_json::json!({ "history": history })).unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn a_first_run_is_its_own_history() {
        let dir = tempfile::tempdir().unwrap();
        let this = point("20260101T000000Z-a", 0.3, true);
        assert_eq!(
            collect(&dir.path().join("absent"), this.clone()),
            vec![this]
        );
    }

    #[test]
    fn runs_removed_by_retention_stay_through_the_newest_report() {
        let dir = tempfile::tempdir().unwrap();
        let gone = point("20260101T000000Z-a", 0.1, true);
        let rejected_gone = point("20260102T000000Z-b", 0.05, false);
        // The newest kept version's report carries two runs retention removed, and a stale
        // record of a kept version (its manifest wins).
        let stale = point("20260103T000000Z-c", 0.99, true);
        keep(
            dir.path(),
            "20260103T000000Z-c",
            0.2,
            true,
            &[gone.clone(), rejected_gone.clone()],
        );
        keep(
            dir.path(),
            "20260104T000000Z-d",
            0.25,
            false,
            &[gone.clone(), rejected_gone.clone(), stale],
        );
        let this = point("20260105T000000Z-e", 0.3, true);
        let history = collect(dir.path(), this.clone());
        assert_eq!(
            history,
            vec![
                gone,
                rejected_gone,
                point("20260103T000000Z-c", 0.2, false),
                point("20260104T000000Z-d", 0.25, true),
                this,
            ]
        );
    }

    #[test]
    fn keeps_the_newest_points_and_skips_an_unreadable_report() {
        let dir = tempfile::tempdir().unwrap();
        let long: Vec<HistoryPoint> = (0..MAX_POINTS + 5)
            .map(|i| point(&format!("2025{i:04}T000000Z-a"), 0.1, true))
            .collect();
        keep(dir.path(), "20260101T000000Z-a", 0.2, false, &long);
        // A newer version whose report is damaged: the older report's history is used.
        keep(dir.path(), "20260102T000000Z-b", 0.2, false, &[]);
        std::fs::write(dir.path().join("20260102T000000Z-b").join(JSON_FILE), b"{").unwrap();
        let history = collect(dir.path(), point("20260103T000000Z-c", 0.3, true));
        assert_eq!(history.len(), MAX_POINTS);
        assert_eq!(history.last().unwrap().version, "20260103T000000Z-c");
        // The oldest 8 (MAX + 5 carried + 3 new − MAX) fell off.
        assert_eq!(history[0].version, long[8].version);
    }
}
