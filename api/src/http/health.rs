//! `/healthz`, `/readyz` and `/metrics`.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Json;
use crate::error::{ApiError, ErrorBody, Result};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_text))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub database: &'static str,
    /// The serving model version; empty while feeds come from the fallback sources.
    pub model_version: String,
    /// The version the models directory's `current` names (absent: nothing published, or a
    /// damaged pointer).
    pub model_wanted: Option<String>,
    /// Whether the served version is not the wanted one because that cannot be loaded (the
    /// service is still ready: it serves the newest valid kept version, or no model).
    pub model_fallback: bool,
    /// The versions refused at the last check, with why (file names only).
    pub model_problems: Vec<super::models::ModelProblem>,
    /// Seconds since the served model was trained.
    pub model_age_secs: Option<i64>,
    /// The change-log position this replica has applied.
    pub change_log_position: i64,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The service can answer: the database is reachable and the feed has a source (a model, or the
/// fallback of follows, trending and new posts, which is always ready).
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, description = "`database_unavailable`", body = ErrorBody)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness: database unreachable");
        ApiError::Unavailable {
            code: "database_unavailable",
            message: "the database is unreachable".into(),
        }
    })?;
    let served = super::models::served(&state);
    Ok(Json(Readiness {
        status: "ready",
        database: "ok",
        model_version: served.version,
        model_wanted: served.wanted,
        model_fallback: served.fallback,
        model_problems: served.problems,
        model_age_secs: served.age_secs,
        change_log_position: state.changes.position(),
    }))
}

/// The process-wide Prometheus recorder (installed once, shared by every app in the process).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (tests): then only this handle is unused.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text format", body = String)))]
async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    // This replica's lag behind the change log, in changes and in seconds (the age of the
    // oldest change it has not applied).
    let applied = state.changes.position();
    metrics::gauge!("social_live_changes_applied_position").set(applied as f64);
    match state.store.log_head(applied).await {
        Ok((head, oldest)) => {
            metrics::gauge!("social_live_changes_head_position").set(head as f64);
            metrics::gauge!("social_live_changes_lag").set((head - applied).max(0) as f64);
            let behind = oldest.map_or(0, |at| (crate::store::changes::now_ms() - at).max(0));
            metrics::gauge!("social_live_changes_lag_seconds").set(behind as f64 / 1000.0);
        }
        Err(err) => tracing::warn!(error = %err, "metrics: cannot read the change log head"),
    }
    metrics::gauge!("social_live_changes_reloads").set(state.changes.reloads() as f64);
    metrics::gauge!("social_live_user_contexts_cached").set(state.contexts.len() as f64);
    metrics::gauge!("social_live_user_contexts_bytes").set(state.contexts.weighted_bytes() as f64);
    metrics::gauge!("social_live_post_rows_cached").set(state.post_rows.len() as f64);
    metrics::gauge!("social_live_engine_catalog_posts").set(state.engine.catalog_len() as f64);
    let stats = state.engine.stats();
    metrics::gauge!("social_live_feed_pages_total").set(stats.pages as f64);
    metrics::gauge!("social_live_feed_cache_hits_total").set(stats.cache_hits as f64);
    metrics::gauge!("social_live_feed_rankings_built_total").set(stats.builds as f64);
    metrics::gauge!("social_live_feed_new_post_merges_total").set(stats.merges as f64);
    metrics::gauge!("social_live_engine_tombstones").set(state.engine.tombstones() as f64);
    metrics::gauge!("social_live_cpu_workers_idle").set(state.cpu.idle() as f64);
    metrics::gauge!("social_live_model_loaded").set(if state.engine.has_model() {
        1.0
    } else {
        0.0
    });
    let served = super::models::served(&state);
    metrics::gauge!("social_live_model_fallback").set(if served.fallback { 1.0 } else { 0.0 });
    metrics::gauge!("social_live_model_problems").set(served.problems.len() as f64);
    if let Some(age) = served.age_secs {
        metrics::gauge!("social_live_model_age_seconds").set(age as f64);
    }
    // The served version as a label, at 1; the series of the version it replaced stays in the
    // exporter, set to 0 (filter on `== 1`).
    static LAST: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
    {
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        if *last != served.version {
            if !last.is_empty() {
                metrics::gauge!("social_live_model_info", "version" => last.clone()).set(0.0);
            }
            last.clone_from(&served.version);
        }
    }
    if !served.version.is_empty() {
        metrics::gauge!("social_live_model_info", "version" => served.version).set(1.0);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus().render(),
    )
}
