//! `/v1/admin/model`: the served model, its health, and the kept versions (admins).
//!
//! The models directory is shared by every replica (the pipeline publishes into it). Moving
//! `current` (a rollback or roll forward) rewrites its pointer atomically and appends a
//! `model_current` change in the same request, so every replica reloads as soon as it applies
//! that change (within a second), and at its next poll (`--model-poll-secs`) at the latest.

use std::path::Path as FsPath;
use std::time::SystemTime;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use models::artifact::{self, Artifact, GateDecision, VersionEntry};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path, Query};
use super::moderation::REASON_MAX;
use super::pagination::{Page, PageParams, decode_key, encode_key};
use super::validate;
use crate::auth::extract::AdminUser;
use crate::error::{ApiError, ErrorBody, Result};
use crate::state::AppState;
use crate::store::moderation::Audit;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(model_status))
        .routes(routes!(reload_model))
        .routes(routes!(list_versions))
        .routes(routes!(set_current))
        .routes(routes!(pin_version, unpin_version))
        .routes(routes!(report_file))
}

/// The cursor kind of the version list.
const CURSOR: &str = "model-versions";

/// A version the engine refused to load, and why (file names only).
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelProblem {
    pub version: String,
    pub problem: String,
}

/// The serving model, what is published, and the engine's running totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelStatus {
    /// Empty when no model is served (feeds come from follows, trending and new posts).
    pub model_version: String,
    pub has_model: bool,
    /// The version `current` names; absent when nothing is published or the pointer is
    /// damaged.
    pub wanted_version: Option<String>,
    /// Whether the served version is not the one `current` names (it could not be loaded).
    pub fallback: bool,
    /// The versions refused at the last check, with why.
    pub problems: Vec<ModelProblem>,
    /// When the served model was trained (RFC 3339), absent without a model.
    pub model_created_at: Option<String>,
    /// Seconds since then.
    pub model_age_secs: Option<i64>,
    /// The served version's run report (Markdown; its plots are beside it), when it has one.
    pub report: Option<String>,
    /// The served version's plot of every run's metrics over time (SVG), when it has one.
    pub history_plot: Option<String>,
    pub pages_served: u64,
    pub cache_hits: u64,
    pub rankings_built: u64,
    /// Cached rankings into which new posts were merged instead of ranking again.
    pub new_post_merges: u64,
    /// Deleted posts the engine filters out.
    pub tombstones: usize,
}

/// What the engine serves and what it found about the published versions.
#[derive(Debug)]
pub struct Served {
    pub version: String,
    pub wanted: Option<String>,
    pub fallback: bool,
    pub problems: Vec<ModelProblem>,
    pub created_at: Option<String>,
    pub age_secs: Option<i64>,
}

/// The served model's health (for `/readyz`, metrics and the admin answers).
pub fn served(state: &AppState) -> Served {
    let version = state.engine.model_version();
    let health = state.engine.model_health();
    let created_at = Some(state.engine.model_created_at()).filter(|c| !c.is_empty());
    let age_secs = created_at.as_deref().and_then(|at| {
        let at = OffsetDateTime::parse(at, &Rfc3339).ok()?;
        Some((OffsetDateTime::from(SystemTime::now()) - at).whole_seconds())
    });
    Served {
        fallback: health.is_fallback(&version),
        wanted: health.wanted,
        problems: health
            .problems
            .into_iter()
            .map(|(version, problem)| ModelProblem { version, problem })
            .collect(),
        version,
        created_at,
        age_secs,
    }
}

fn status(state: &AppState) -> ModelStatus {
    let stats = state.engine.stats();
    let served = served(state);
    let links = ReportLinks::of(&state.models_dir, &served.version);
    ModelStatus {
        report: links.report,
        history_plot: links.history_plot,
        model_version: served.version,
        has_model: state.engine.has_model(),
        wanted_version: served.wanted,
        fallback: served.fallback,
        problems: served.problems,
        model_created_at: served.created_at,
        model_age_secs: served.age_secs,
        pages_served: stats.pages,
        cache_hits: stats.cache_hits,
        rankings_built: stats.builds,
        new_post_merges: stats.merges,
        tombstones: state.engine.tombstones(),
    }
}

/// The serving model and its health.
#[utoipa::path(get, path = "/v1/admin/model", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ModelStatus), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody)))]
async fn model_status(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> Result<Json<ModelStatus>> {
    Ok(Json(status(&state)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadResult {
    /// Whether another version was swapped in.
    pub changed: bool,
    #[serde(flatten)]
    pub status: ModelStatus,
}

/// 503 `model_unavailable`: the models directory cannot be read (the log says why).
fn unavailable(error: impl std::fmt::Display) -> ApiError {
    // The details (paths) are for the operator's log, not for the client.
    tracing::warn!(%error, "the models directory cannot be read");
    ApiError::Unavailable {
        code: "model_unavailable",
        message: "the models directory cannot be read; the server log says why".into(),
    }
}

/// Runs blocking file work off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(crate::Error::Task(e)))
}

/// Check the published model now: the pointer, and the served version's files on disk (every
/// checksum). A damaged current version is replaced by the newest valid kept one, said in
/// `fallback` and `problems` (the service also polls the pointer every `--model-poll-secs`).
#[utoipa::path(post, path = "/v1/admin/model/reload", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ReloadResult), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 503, description = "`model_unavailable`: the models directory cannot be read", body = ErrorBody)))]
async fn reload_model(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<Json<ReloadResult>> {
    let engine = state.engine.clone();
    let dir = state.models_dir.clone();
    let done = blocking(move || engine.reload(&dir, engine::ReloadCheck::Files))
        .await?
        .map_err(unavailable)?;
    if let Some(version) = &done.changed {
        state
            .store
            .record_audit(&Audit {
                actor: Some(admin.id),
                action: "model_reloaded",
                target_user: None,
                target_post: None,
                reason: "",
                details: serde_json::json!({ "version": version }),
            })
            .await?;
    }
    Ok(Json(ReloadResult {
        changed: done.changed.is_some(),
        status: status(&state),
    }))
}

/// One kept model version.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDto {
    pub version: String,
    /// When it was trained (RFC 3339), absent when its manifest cannot be read.
    pub created_at: Option<String>,
    /// Whether `current` names it.
    pub current: bool,
    /// Whether this replica serves it.
    pub served: bool,
    /// Whether retention keeps it whatever its age.
    pub pinned: bool,
    /// The data's sizes (users, items, interactions).
    #[schema(value_type = Option<Object>)]
    pub counts: Option<serde_json::Value>,
    /// Its metrics on the run's test split (as in its manifest).
    #[schema(value_type = Option<Object>)]
    pub metrics: Option<serde_json::Value>,
    /// The promotion gate's decision (absent for versions published without one).
    #[schema(value_type = Option<Object>)]
    pub gate: Option<serde_json::Value>,
    /// Whether the gate refused it (it is never served as a fallback).
    pub rejected: bool,
    /// Why its manifest or gate record cannot be read, if so.
    pub problem: Option<String>,
    /// Its run report (Markdown; its plots are beside it), when it has one.
    pub report: Option<String>,
    /// Its plot of every run's metrics over time up to it (SVG), when it has one.
    pub history_plot: Option<String>,
}

/// The run report's file name in a version directory (the pipeline writes it).
const REPORT_FILE: &str = "report.md";
/// The run-history plot's file name in a version directory.
const HISTORY_PLOT: &str = "history.svg";

/// Where a version's report and history plot are served, for the files it has.
struct ReportLinks {
    report: Option<String>,
    history_plot: Option<String>,
}

impl ReportLinks {
    fn of(models_dir: &FsPath, version: &str) -> Self {
        let link = |file: &str| {
            (!version.is_empty() && models_dir.join(version).join(file).is_file())
                .then(|| format!("/v1/admin/model/versions/{version}/report/{file}"))
        };
        Self {
            report: link(REPORT_FILE),
            history_plot: link(HISTORY_PLOT),
        }
    }
}

fn version_dto(models_dir: &FsPath, entry: VersionEntry, served: &str) -> VersionDto {
    let gate = entry.gate.as_ref().map(gate_json);
    let links = ReportLinks::of(models_dir, &entry.version);
    VersionDto {
        report: links.report,
        history_plot: links.history_plot,
        served: entry.version == served,
        rejected: entry.rejected(),
        created_at: entry.manifest.as_ref().map(|m| m.created_at.clone()),
        counts: entry
            .manifest
            .as_ref()
            .and_then(|m| serde_json::to_value(&m.counts).ok()),
        metrics: entry.manifest.as_ref().map(|m| m.metrics.clone()),
        gate,
        current: entry.current,
        pinned: entry.pinned,
        problem: entry.problem,
        version: entry.version,
    }
}

fn gate_json(gate: &GateDecision) -> serde_json::Value {
    serde_json::to_value(gate).unwrap_or(serde_json::Value::Null)
}

/// The kept model versions, newest first, with their metrics, gate decisions and pins.
#[utoipa::path(get, path = "/v1/admin/model/versions", tag = "admin", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, body = Page<VersionDto>), (status = 401, body = ErrorBody),
              (status = 400, description = "`invalid_cursor`", body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 422, description = "`out_of_range` (`limit`)", body = ErrorBody),
              (status = 503, description = "`model_unavailable`", body = ErrorBody)))]
async fn list_versions(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(paging): Query<PageParams>,
) -> Result<Json<Page<VersionDto>>> {
    let limit = paging.limit()?;
    let after = paging
        .cursor
        .as_deref()
        .map(|c| decode_key(CURSOR, c))
        .transpose()?;
    let dir = state.models_dir.clone();
    let mut kept = blocking(move || artifact::versions(&dir))
        .await?
        .map_err(unavailable)?;
    let dir = state.models_dir.as_path();
    // Newest first, so a cursor names the last version listed and the next page is older.
    if let Some(after) = &after {
        kept.retain(|e| e.version < *after);
    }
    let more = kept.len() > limit;
    kept.truncate(limit);
    let next_cursor = more
        .then(|| kept.last().map(|e| encode_key(CURSOR, &e.version)))
        .flatten();
    let served = state.engine.model_version();
    Ok(Json(Page {
        items: kept
            .into_iter()
            .map(|e| version_dto(dir, e, &served))
            .collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetCurrent {
    /// A kept version (see `GET /v1/admin/model/versions`).
    pub version: String,
    /// Why, at most 500 characters (kept in the audit log).
    #[serde(default)]
    pub reason: String,
}

/// 404 `version_not_found`, or 422 for a name that cannot be a version.
fn version_error(version: &str, error: models::error::Error) -> ApiError {
    match error {
        models::error::Error::UnknownVersion { .. } => not_kept(version),
        models::error::Error::InvalidVersionName { .. } => ApiError::invalid(
            "version",
            "invalid_characters",
            "a version name is letters, digits, '.', '_' and '-'",
        ),
        other => unavailable(other),
    }
}

fn not_kept(version: &str) -> ApiError {
    ApiError::not_found("version_not_found", format!("no kept version {version:?}"))
}

/// Roll back or forward: point `current` at a kept version (its files are verified first).
/// Every replica swaps to it within a second. Works for a version the gate rejected too: an
/// operator's choice overrides the gate.
#[utoipa::path(put, path = "/v1/admin/model/current", tag = "admin", security(("bearer" = [])),
    request_body = SetCurrent,
    responses((status = 200, body = ModelStatus), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 404, description = "`version_not_found`", body = ErrorBody),
              (status = 409, description = "`version_damaged`: a file of that version fails its checksum or is missing", body = ErrorBody),
              (status = 422, description = "`invalid_characters` (`version`), `too_long` (`reason`)", body = ErrorBody),
              (status = 503, description = "`model_unavailable`", body = ErrorBody)))]
async fn set_current(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Json(req): Json<SetCurrent>,
) -> Result<Json<ModelStatus>> {
    validate::text("reason", &req.reason, REASON_MAX, false)?;
    let dir = state.models_dir.clone();
    let version = req.version.clone();
    let previous = blocking(move || -> Result<Option<String>> {
        let previous = artifact::current_version(&dir).ok().flatten();
        artifact::check_version_name(&version).map_err(|e| version_error(&version, e))?;
        if !dir.join(&version).join(artifact::MANIFEST_FILE).is_file() {
            return Err(not_kept(&version));
        }
        if let Err(error) = Artifact::verify(&dir.join(&version)) {
            tracing::warn!(version, %error, "refusing to make a damaged version current");
            return Err(ApiError::conflict(
                "version_damaged",
                format!(
                    "version {version} cannot be served: {}",
                    artifact::describe(&error)
                ),
            ));
        }
        artifact::set_current(&dir, &version).map_err(|e| version_error(&version, e))?;
        Ok(previous)
    })
    .await??;
    let position = state
        .store
        .record_model_current(
            Some(admin.id),
            &req.version,
            previous.as_deref(),
            &req.reason,
        )
        .await?;
    // This replica has loaded it once its own tailer applied the change.
    state.applied(Some(position)).await;
    Ok(Json(status(&state)))
}

/// Pin a kept version: retention keeps it whatever its age.
#[utoipa::path(put, path = "/v1/admin/model/versions/{version}/pin", tag = "admin", security(("bearer" = [])),
    params(("version" = String, Path)),
    responses((status = 200, body = VersionDto), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 404, description = "`version_not_found`", body = ErrorBody),
              (status = 422, description = "`invalid_characters` (`version`)", body = ErrorBody),
              (status = 503, description = "`model_unavailable`", body = ErrorBody)))]
async fn pin_version(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(version): Path<String>,
) -> Result<Json<VersionDto>> {
    pin(state, admin.id, version, true).await
}

/// Unpin a version: retention may remove it once it is older than the last N.
#[utoipa::path(delete, path = "/v1/admin/model/versions/{version}/pin", tag = "admin", security(("bearer" = [])),
    params(("version" = String, Path)),
    responses((status = 200, body = VersionDto), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 404, description = "`version_not_found`", body = ErrorBody),
              (status = 422, description = "`invalid_characters` (`version`)", body = ErrorBody),
              (status = 503, description = "`model_unavailable`", body = ErrorBody)))]
async fn unpin_version(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(version): Path<String>,
) -> Result<Json<VersionDto>> {
    pin(state, admin.id, version, false).await
}

async fn pin(state: AppState, admin: i64, version: String, on: bool) -> Result<Json<VersionDto>> {
    let dir = state.models_dir.clone();
    let name = version.clone();
    let (changed, entry) = blocking(move || -> Result<(bool, VersionEntry)> {
        let changed = artifact::set_pinned(&dir, &name, on).map_err(|e| version_error(&name, e))?;
        let entry = artifact::versions(&dir)
            .map_err(unavailable)?
            .into_iter()
            .find(|e| e.version == name)
            .ok_or_else(|| not_kept(&name))?;
        Ok((changed, entry))
    })
    .await??;
    if changed {
        state
            .store
            .record_audit(&Audit {
                actor: Some(admin),
                action: if on { "model_pinned" } else { "model_unpinned" },
                target_user: None,
                target_post: None,
                reason: "",
                details: serde_json::json!({ "version": version }),
            })
            .await?;
    }
    Ok(Json(version_dto(
        &state.models_dir,
        entry,
        &state.engine.model_version(),
    )))
}

/// The media type of a report file a version may hold, `None` for every other name: the
/// reports and plots the pipeline writes beside the model (`report.md`, `report.json`,
/// `gate.json`, `*.svg`), never the model's own files.
fn report_media_type(file: &str) -> Option<&'static str> {
    let (stem, extension) = file.rsplit_once('.')?;
    if stem.is_empty()
        || !stem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        || stem == "manifest"
    {
        return None;
    }
    match extension {
        "svg" => Some("image/svg+xml"),
        "md" => Some("text/markdown; charset=utf-8"),
        "json" => Some("application/json"),
        _ => None,
    }
}

/// A file of a version's run report: `report.md` (whose plots are linked relative to it),
/// `report.json`, `gate.json` or a plot such as `history.svg` (every run's metrics over time).
#[utoipa::path(get, path = "/v1/admin/model/versions/{version}/report/{file}", tag = "admin",
    security(("bearer" = [])),
    params(("version" = String, Path), ("file" = String, Path, description = "`report.md`, `report.json`, `gate.json`, `history.svg`, `recall_at_k.svg`, `objective.svg` or `ann_recall.svg`")),
    responses((status = 200, description = "The file (Markdown, JSON or SVG)", content((String = "text/markdown"), (String = "application/json"), (String = "image/svg+xml"))),
              (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 404, description = "`version_not_found`, `file_not_found`: not a report file, or the version has no such file", body = ErrorBody),
              (status = 422, description = "`invalid_characters` (`version`)", body = ErrorBody),
              (status = 503, description = "`model_unavailable`", body = ErrorBody)))]
async fn report_file(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path((version, file)): Path<(String, String)>,
) -> Result<Response> {
    artifact::check_version_name(&version).map_err(|e| version_error(&version, e))?;
    let dir = state.models_dir.join(&version);
    let no_file = || {
        ApiError::not_found(
            "file_not_found",
            format!("version {version} has no report file {file:?}"),
        )
    };
    let media_type = report_media_type(&file).ok_or_else(no_file)?;
    let path = dir.join(&file);
    let manifest = dir.join(artifact::MANIFEST_FILE);
    /// What the directory holds.
    enum Found {
        NoVersion,
        NoFile,
        File(Vec<u8>),
    }
    let found = blocking(move || -> std::io::Result<Found> {
        if !manifest.is_file() {
            return Ok(Found::NoVersion);
        }
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Found::File(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Found::NoFile),
            Err(e) => Err(e),
        }
    })
    .await?
    .map_err(unavailable)?;
    match found {
        Found::NoVersion => Err(not_kept(&version)),
        Found::NoFile => Err(no_file()),
        Found::File(bytes) => Ok(([(header::CONTENT_TYPE, media_type)], bytes).into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::report_media_type;

    #[test]
    fn only_report_files_are_served() {
        assert_eq!(report_media_type("history.svg"), Some("image/svg+xml"));
        assert_eq!(
            report_media_type("report.md"),
            Some("text/markdown; charset=utf-8")
        );
        assert_eq!(report_media_type("gate.json"), Some("application/json"));
        for refused in [
            "manifest.json",
            "item_factors.npy",
            "index.hnsw.data",
            "../current.json",
            "a/b.svg",
            ".svg",
            "Report.md",
            "report",
            "report.md.bak",
        ] {
            assert_eq!(report_media_type(refused), None, "{refused}");
        }
    }
}
