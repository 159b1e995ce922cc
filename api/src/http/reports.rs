//! Reports: `POST /v1/reports` (any user reports a post or a user; its own rate limit class),
//! `GET /v1/reports` (my reports and their outcome), and the moderators' queue:
//! `GET /v1/moderation/reports` (grouped by target, with counts per category) and
//! `POST /v1/moderation/reports/close` (resolve every open report on a target with an action,
//! taken in the same transaction and linked from the reports, or dismiss them).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Query};
use super::moderation::{REASON_MAX, SUSPENSION_MAX_SECS, moderator_may_act_on};
use super::pagination::{Page, encode, keyset, page};
use super::posts::PostDto;
use super::users::existing_user;
use super::validate;
use crate::auth::Role;
use crate::auth::extract::{AuthUser, ModeratorUser};
use crate::error::{ApiError, ErrorBody, Result};
use crate::state::AppState;
use crate::store::moderation::{PostAction, Standing, StandingChange};
use crate::store::now;
use crate::store::reports::{Closed, Decision, QueueEntry, QueueFilter, ReportRow, Target};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(file_report, my_reports))
        .routes(routes!(queue))
        .routes(routes!(close))
}

/// Longest report text, in characters.
pub const REPORT_TEXT_MAX: usize = 1000;

/// Why something is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Spam,
    Harassment,
    Hate,
    Violence,
    Sexual,
    SelfHarm,
    Misinformation,
    Impersonation,
    Illegal,
    Other,
}

impl Category {
    fn as_str(self) -> &'static str {
        match self {
            Self::Spam => "spam",
            Self::Harassment => "harassment",
            Self::Hate => "hate",
            Self::Violence => "violence",
            Self::Sexual => "sexual",
            Self::SelfHarm => "self_harm",
            Self::Misinformation => "misinformation",
            Self::Impersonation => "impersonation",
            Self::Illegal => "illegal",
            Self::Other => "other",
        }
    }
}

/// What is reported: exactly one of a post and a user.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
pub struct TargetDto {
    /// A post (its author is the reported user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_id: Option<i64>,
    /// A user; with `post_id`, the post's author (filled in by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
}

impl From<Target> for TargetDto {
    fn from(t: Target) -> Self {
        Self {
            post_id: t.post,
            user_id: Some(t.user),
        }
    }
}

/// Resolves a request's target: a live post (and its author) or an existing user.
async fn target_of(state: &AppState, dto: TargetDto) -> Result<Target> {
    match (dto.post_id, dto.user_id) {
        (Some(post), None) => Ok(Target {
            user: live_or_hidden_post_author(state, post).await?,
            post: Some(post),
        }),
        (None, Some(user)) => Ok(Target {
            user: existing_user(state, user).await?.id,
            post: None,
        }),
        _ => Err(ApiError::invalid(
            "target",
            "invalid_target",
            "give exactly one of `post_id` and `user_id`",
        )),
    }
}

/// The author of a post that is not deleted (hidden ones included: reports on them can still
/// be closed), or 404.
async fn live_or_hidden_post_author(state: &AppState, post: i64) -> Result<i64> {
    state
        .store
        .post(post)
        .await?
        .filter(|p| p.deleted_at.is_none())
        .map(|p| p.author_id)
        .ok_or_else(|| ApiError::not_found("post_not_found", format!("no post {post}")))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewReport {
    #[serde(flatten)]
    pub target: TargetDto,
    pub category: Category,
    /// What happened, 0 to 1000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub text: String,
}

/// A report as its reporter sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportDto {
    pub id: i64,
    pub target: TargetDto,
    pub category: String,
    pub text: String,
    /// `open`, `resolved` or `dismissed`.
    pub status: String,
    /// Unix seconds.
    pub created_at: i64,
    /// When a moderator closed it.
    pub closed_at: Option<i64>,
    /// What was done, once closed: `post_hidden`, `post_removed`, `suspended`, `banned`, or
    /// `no_action` (dismissed).
    pub outcome: Option<String>,
}

impl From<ReportRow> for ReportDto {
    fn from(row: ReportRow) -> Self {
        Self {
            id: row.id,
            target: row.target().into(),
            category: row.category,
            text: row.text,
            outcome: (row.status != "open").then_some(row.outcome),
            status: row.status,
            created_at: row.created_at,
            closed_at: row.closed_at,
        }
    }
}

/// Report a post or a user to the moderators. One open report per reporter and target;
/// limited to 20 an hour per user by default (the `report` rate limit class).
#[utoipa::path(post, path = "/v1/reports", tag = "moderation", security(("bearer" = [])), request_body = NewReport,
    responses((status = 201, body = ReportDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, description = "`post_not_found`, `user_not_found`", body = ErrorBody),
              (status = 409, description = "`already_reported`, `self_report`", body = ErrorBody),
              (status = 422, description = "`invalid_target`, `too_long`, `invalid_characters` (`text`)", body = ErrorBody)))]
async fn file_report(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<NewReport>,
) -> Result<(StatusCode, Json<ReportDto>)> {
    validate::text("text", &req.text, REPORT_TEXT_MAX, false)?;
    let target = target_of(&state, req.target).await?;
    if target.user == user.id {
        return Err(ApiError::conflict(
            "self_report",
            "you cannot report yourself or your own posts",
        ));
    }
    match state
        .store
        .file_report(user.id, target, req.category.as_str(), req.text.trim())
        .await?
    {
        Some(row) => Ok((StatusCode::CREATED, Json(ReportDto::from(row)))),
        None => Err(ApiError::conflict(
            "already_reported",
            "you have an open report on this already",
        )),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListParams {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$", max_length = 200)]
    pub cursor: Option<String>,
}

/// My reports, newest first, with their status and outcome.
#[utoipa::path(get, path = "/v1/reports", tag = "moderation", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = Page<ReportDto>), (status = 400, description = "`invalid_cursor`", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, description = "`out_of_range` (`limit`)", body = ErrorBody)))]
async fn my_reports(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<ReportDto>>> {
    let (limit, before) = keyset(params.limit, params.cursor, "reports")?;
    let rows = state.store.reports_by(user.id, before, limit + 1).await?;
    Ok(Json(page(
        rows,
        limit,
        "reports",
        |r| r.id,
        ReportDto::from,
    )))
}

/// Report statuses the queue filters by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    #[default]
    Open,
    Resolved,
    Dismissed,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct QueueParams {
    /// `open` (default), `resolved` or `dismissed`.
    pub status: Option<ReportStatus>,
    pub category: Option<Category>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$", max_length = 200)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryCount {
    pub category: String,
    pub count: i64,
}

/// A report in the queue (the reporter's id included).
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedReportDto {
    pub reporter_id: i64,
    #[serde(flatten)]
    pub report: ReportDto,
}

/// Every report (matching the filter) on one target.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueEntryDto {
    pub target: TargetDto,
    /// The reported user's handle.
    pub handle: Option<String>,
    /// The reported post as it is now (hidden ones included; absent once deleted).
    pub post: Option<PostDto>,
    pub reports: i64,
    /// Most reported first.
    pub categories: Vec<CategoryCount>,
    pub first_at: i64,
    pub last_at: i64,
    /// The newest three.
    pub latest: Vec<QueuedReportDto>,
}

async fn entry_dto(state: &AppState, entry: QueueEntry) -> Result<QueueEntryDto> {
    let handle = state
        .store
        .user_by_id(entry.target.user)
        .await?
        .map(|u| u.handle);
    let post = match entry.target.post {
        Some(id) => state
            .store
            .post(id)
            .await?
            .filter(|p| p.deleted_at.is_none())
            .map(|p| PostDto::from(&p)),
        None => None,
    };
    Ok(QueueEntryDto {
        target: entry.target.into(),
        handle,
        post,
        reports: entry.reports,
        categories: entry
            .categories
            .into_iter()
            .map(|(category, count)| CategoryCount { category, count })
            .collect(),
        first_at: entry.first_at,
        last_at: entry.last_at,
        latest: entry
            .latest
            .into_iter()
            .map(|r| QueuedReportDto {
                reporter_id: r.reporter_id,
                report: ReportDto::from(r),
            })
            .collect(),
    })
}

/// The report queue: reports grouped by target, the target reported most recently first.
#[utoipa::path(get, path = "/v1/moderation/reports", tag = "moderation", security(("bearer" = [])), params(QueueParams),
    responses((status = 200, body = Page<QueueEntryDto>),
              (status = 400, description = "`invalid_cursor`, `invalid_query` (an unknown status or category)", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, description = "`insufficient_role`", body = ErrorBody),
              (status = 422, description = "`out_of_range` (`limit`)", body = ErrorBody)))]
async fn queue(
    State(state): State<AppState>,
    _moderator: ModeratorUser,
    Query(params): Query<QueueParams>,
) -> Result<Json<Page<QueueEntryDto>>> {
    let (limit, before) = keyset(params.limit, params.cursor, "report-queue")?;
    let filter = QueueFilter {
        status: match params.status.unwrap_or_default() {
            ReportStatus::Open => "open",
            ReportStatus::Resolved => "resolved",
            ReportStatus::Dismissed => "dismissed",
        }
        .to_owned(),
        category: params.category.map(|c| c.as_str().to_owned()),
    };
    let mut entries = state.store.report_queue(&filter, before, limit + 1).await?;
    let more = entries.len() > limit;
    entries.truncate(limit);
    let next_cursor = more
        .then(|| entries.last().map(|e| encode("report-queue", e.last_id)))
        .flatten();
    let mut items = Vec::with_capacity(entries.len());
    for entry in entries {
        items.push(entry_dto(&state, entry).await?);
    }
    Ok(Json(Page { items, next_cursor }))
}

/// What closing a target's reports does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionDto {
    /// Nothing to act on.
    Dismiss,
    /// Hide the reported post (reversible: `POST /v1/moderation/posts/{id}/restore`).
    HidePost,
    /// Delete the reported post for good.
    RemovePost,
    /// Suspend the reported user (or the post's author) for `duration_secs`.
    SuspendUser,
    /// Ban the reported user (or the post's author); admins only.
    BanUser,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CloseRequest {
    #[serde(flatten)]
    pub target: TargetDto,
    pub decision: DecisionDto,
    /// For `suspend_user`: 60 to 315,360,000 seconds.
    #[schema(minimum = 60, maximum = 315_360_000)]
    pub duration_secs: Option<i64>,
    /// Why, 1 to 500 characters (kept in the audit log; reporters see only the outcome).
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClosedDto {
    /// How many open reports were closed.
    pub closed: u64,
    /// `post_hidden`, `post_removed`, `suspended`, `banned` or `no_action`.
    pub outcome: &'static str,
}

/// Close every open report on a target: act on it (hide or remove the post, suspend or ban its
/// author or the reported user) and mark the reports resolved, linked to the action's audit
/// entry, in one transaction; or dismiss them.
#[utoipa::path(post, path = "/v1/moderation/reports/close", tag = "moderation", security(("bearer" = [])), request_body = CloseRequest,
    responses((status = 200, body = ClosedDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "`insufficient_role` (a ban, or an account at or above the moderator's role)", body = ErrorBody),
              (status = 404, description = "`post_not_found`, `user_not_found`, `no_open_reports`", body = ErrorBody),
              (status = 409, description = "`not_applicable` (a post action on a user report, a post hidden already), `last_admin`, `self_moderation`", body = ErrorBody),
              (status = 422, description = "`invalid_target`, `out_of_range` (`duration_secs`), `required`, `too_long` (`reason`)", body = ErrorBody)))]
async fn close(
    State(state): State<AppState>,
    moderator: ModeratorUser,
    Json(req): Json<CloseRequest>,
) -> Result<Json<ClosedDto>> {
    validate::text("reason", &req.reason, REASON_MAX, true)?;
    let target = target_of(&state, req.target).await?;
    let me = moderator.0;
    let decision = match req.decision {
        DecisionDto::Dismiss => Decision::Dismiss,
        DecisionDto::HidePost => Decision::Post(PostAction::Hide),
        DecisionDto::RemovePost => Decision::Post(PostAction::Remove),
        DecisionDto::SuspendUser | DecisionDto::BanUser => {
            let standing = if req.decision == DecisionDto::BanUser {
                if me.role < Role::Admin {
                    return Err(ApiError::forbidden(
                        "insufficient_role",
                        "a ban needs the admin role",
                    ));
                }
                Standing::Banned
            } else {
                let secs = req.duration_secs.unwrap_or(0);
                if !(60..=SUSPENSION_MAX_SECS).contains(&secs) {
                    return Err(ApiError::invalid(
                        "duration_secs",
                        "out_of_range",
                        format!("must be between 60 and {SUSPENSION_MAX_SECS} seconds"),
                    ));
                }
                Standing::Suspended {
                    until: now() + secs,
                }
            };
            moderator_may_act_on(&state, me, target.user).await?;
            Decision::Account(standing)
        }
    };
    let outcome = match decision {
        Decision::Dismiss => "no_action",
        Decision::Post(action) => action.audit_action(),
        Decision::Account(standing) => match standing {
            Standing::Banned => "banned",
            _ => "suspended",
        },
    };
    match state
        .store
        .close_reports(me.id, target, decision, req.reason.trim())
        .await?
    {
        Closed::Done { reports, position } => {
            state.applied(position).await;
            Ok(Json(ClosedDto {
                closed: reports,
                outcome,
            }))
        }
        Closed::NothingOpen => Err(ApiError::not_found(
            "no_open_reports",
            "there is no open report on this target",
        )),
        Closed::NotApplicable => Err(ApiError::conflict(
            "not_applicable",
            "this action does not apply to the target (a user report, or a post hidden already)",
        )),
        Closed::Refused(StandingChange::LastAdmin) => Err(ApiError::conflict(
            "last_admin",
            "this is the only admin in good standing: promote another user first",
        )),
        Closed::Refused(_) => Err(ApiError::not_found(
            "user_not_found",
            format!("no user {}", target.user),
        )),
    }
}
