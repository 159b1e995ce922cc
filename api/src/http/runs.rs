//! `/v1/admin/pipeline/runs`: the pipeline's run history and "run it now" (admins).
//!
//! Runs are executed by whichever scheduler holds the pipeline's lease (`social-live scheduler`,
//! or `social-live serve --pipeline-schedule`); a run queued here waits for one. Every attempt
//! is a row: a failed run's retries and a run abandoned by a runner that died are listed
//! beside it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Query};
use super::pagination::{Page, PageParams, page};
use crate::auth::extract::AdminUser;
use crate::error::{ErrorBody, ErrorDetail, Result};
use crate::state::AppState;
use crate::store::runs::{RunId, RunRequest, RunRow, RunStatus, Trigger};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_runs, request_run))
}

/// The cursor kind of the run list.
const CURSOR: &str = "pipeline-runs";

/// What queued a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerDto {
    /// A cron tick (`scheduled_for`).
    Schedule,
    /// An admin (`requested_by`) or `social-live scheduler --run-now`.
    Admin,
    /// The retry of a failed or abandoned attempt (`retry_of`).
    Retry,
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatusDto {
    Queued,
    Running,
    /// The gate accepted its model and it was made current.
    Published,
    /// The promotion gate refused its model (kept for inspection, not current).
    Rejected,
    Failed,
    /// Its runner lost the lease mid-run (died or was cut off); a retry is queued while
    /// attempts remain.
    Abandoned,
}

/// One attempt of a pipeline run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDto {
    pub id: i64,
    pub trigger: TriggerDto,
    /// The cron tick, Unix seconds (`schedule` runs).
    pub scheduled_for: Option<i64>,
    /// The admin who asked for it (`admin` runs; absent for the command line).
    pub requested_by: Option<i64>,
    /// 1 for a first attempt.
    pub attempt: i64,
    /// The attempt this one retries.
    pub retry_of: Option<i64>,
    pub status: RunStatusDto,
    /// The scheduler process that ran it (`host:pid:random`).
    pub runner: Option<String>,
    /// The lease's fencing token when it was claimed.
    pub fence: Option<i64>,
    /// Not started before this time, Unix seconds (a retry's backoff).
    pub not_before: i64,
    /// Unix seconds.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The model version it wrote.
    pub version: Option<String>,
    /// The data's sizes (users, items, interactions, train and test interactions, evaluated
    /// users).
    #[schema(value_type = Option<Object>)]
    pub counts: Option<serde_json::Value>,
    /// The model's metrics on test (NDCG, recall, coverage at K; the index's recall).
    #[schema(value_type = Option<Object>)]
    pub metrics: Option<serde_json::Value>,
    /// The promotion gate's decision.
    #[schema(value_type = Option<Object>)]
    pub gate: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
}

fn json(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

impl From<RunRow> for RunDto {
    fn from(row: RunRow) -> Self {
        Self {
            id: row.id.0,
            trigger: match row.trigger {
                Trigger::Schedule => TriggerDto::Schedule,
                Trigger::Admin => TriggerDto::Admin,
                Trigger::Retry => TriggerDto::Retry,
            },
            scheduled_for: row.scheduled_for,
            requested_by: row.requested_by,
            attempt: row.attempt,
            retry_of: row.retry_of.map(|id| id.0),
            status: match row.status {
                RunStatus::Queued => RunStatusDto::Queued,
                RunStatus::Running => RunStatusDto::Running,
                RunStatus::Published => RunStatusDto::Published,
                RunStatus::Rejected => RunStatusDto::Rejected,
                RunStatus::Failed => RunStatusDto::Failed,
                RunStatus::Abandoned => RunStatusDto::Abandoned,
            },
            runner: row.runner,
            fence: row.fence.map(|f| f.0),
            not_before: row.not_before,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            version: row.version,
            counts: json(row.counts),
            metrics: json(row.metrics),
            gate: json(row.gate),
            error: row.error,
        }
    }
}

/// 409 `run_pending`: the error body, and the id of the run queued or running already.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunPendingBody {
    pub error: ErrorDetail,
    /// The run queued or running already.
    pub run_id: i64,
}

/// The pipeline's runs, newest first: every attempt with its trigger, times, runner, counts,
/// metrics, gate decision and error.
#[utoipa::path(get, path = "/v1/admin/pipeline/runs", tag = "admin", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, body = Page<RunDto>),
              (status = 400, description = "`invalid_cursor`", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 422, description = "`out_of_range` (`limit`)", body = ErrorBody)))]
async fn list_runs(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<RunDto>>> {
    let limit = params.limit()?;
    let before = params.position(CURSOR)?.map(RunId);
    let rows = state.store.list_runs(before, limit + 1).await?;
    Ok(Json(page(rows, limit, CURSOR, |r| r.id.0, RunDto::from)))
}

/// Queue a pipeline run now. The scheduler holding the pipeline's lease starts it within its
/// poll interval (nothing runs it while no scheduler is up). One run at a time: while a run is
/// queued or running, the answer is 409 `run_pending` with its id. Recorded in the audit log
/// (`pipeline_run_requested`).
#[utoipa::path(post, path = "/v1/admin/pipeline/runs", tag = "admin", security(("bearer" = [])),
    responses((status = 202, description = "queued", body = RunDto),
              (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 409, description = "`run_pending`: a run is queued or running (`run_id`)", body = RunPendingBody)))]
async fn request_run(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<Response> {
    Ok(match state.store.request_run(Some(admin.id)).await? {
        RunRequest::Queued(run) => {
            tracing::info!(run = %run.id, admin = admin.id, "pipeline run requested");
            (StatusCode::ACCEPTED, Json(RunDto::from(run))).into_response()
        }
        RunRequest::Pending(run) => {
            let status = RunStatus::as_str(run.status);
            (
                StatusCode::CONFLICT,
                Json(RunPendingBody {
                    error: ErrorDetail {
                        code: "run_pending".to_owned(),
                        message: format!("run {} is {status} already", run.id),
                        field: None,
                    },
                    run_id: run.id.0,
                }),
            )
                .into_response()
        }
    })
}
