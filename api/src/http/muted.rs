//! `/v1/me/muted-words`: my muted words and phrases, each for good or for a time. A post whose
//! text holds a muted phrase (whole words, in a row, whatever the case and punctuation) or whose
//! topic is a muted word leaves my feed, search results and trending list (see `crate::muted`),
//! on every replica within a second.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path};
use super::validate;
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ErrorBody, Result};
use crate::muted::{PHRASE_MAX, PHRASE_WORDS, normalise};
use crate::state::AppState;
use crate::store::muted::{MUTED_MAX, Muted, MutedRow};
use crate::store::now;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, mute))
        .routes(routes!(unmute))
}

/// The longest mute: a year (longer is for good: leave `duration_secs` out).
pub const MUTE_MAX_SECS: i64 = 365 * 86_400;

/// A muted word or phrase.
#[derive(Debug, Serialize, ToSchema)]
pub struct MutedWordDto {
    pub id: i64,
    /// As matched: its words, lowercased, separated by single spaces.
    pub phrase: String,
    /// Unix seconds.
    pub created_at: i64,
    /// When it stops applying, Unix seconds; absent for good.
    pub expires_at: Option<i64>,
}

impl From<MutedRow> for MutedWordDto {
    fn from(row: MutedRow) -> Self {
        Self {
            id: row.id,
            phrase: row.phrase,
            created_at: row.created_at,
            expires_at: row.expires_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MutedWordsDto {
    /// In force now, oldest first (at most 200).
    pub items: Vec<MutedWordDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MuteRequest {
    /// A word, a `#topic` or a phrase: 1 to 100 characters, at most 8 words.
    #[schema(min_length = 1, max_length = 100, pattern = "[A-Za-z0-9]")]
    pub phrase: String,
    /// For how long, 60 to 31,536,000 seconds (a year); absent for good.
    #[schema(minimum = 60, maximum = 31_536_000)]
    pub duration_secs: Option<i64>,
}

/// My muted words and phrases in force.
#[utoipa::path(get, path = "/v1/me/muted-words", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = MutedWordsDto), (status = 401, body = ErrorBody)))]
async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<MutedWordsDto>> {
    let rows = state.store.muted_phrases(user.id, now()).await?;
    Ok(Json(MutedWordsDto {
        items: rows.into_iter().map(MutedWordDto::from).collect(),
    }))
}

/// Mute a word or phrase, for good or for a time. Muting it again replaces its expiry.
#[utoipa::path(post, path = "/v1/me/muted-words", tag = "users", security(("bearer" = [])), request_body = MuteRequest,
    responses((status = 201, body = MutedWordDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 409, description = "`too_many_muted_words` (200 already)", body = ErrorBody),
              (status = 422, description = "`required`, `too_long`, `no_words`, `too_many_words`, `invalid_characters` (`phrase`), `out_of_range` (`duration_secs`)", body = ErrorBody)))]
async fn mute(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<MuteRequest>,
) -> Result<(StatusCode, Json<MutedWordDto>)> {
    validate::text("phrase", &req.phrase, PHRASE_MAX, true)?;
    let phrase = normalise(&req.phrase).ok_or_else(|| {
        ApiError::invalid("phrase", "no_words", "the phrase has no letters or digits")
    })?;
    if phrase.split(' ').count() > PHRASE_WORDS {
        return Err(ApiError::invalid(
            "phrase",
            "too_many_words",
            format!("a phrase has at most {PHRASE_WORDS} words"),
        ));
    }
    let expires_at = match req.duration_secs {
        None => None,
        Some(secs) if (60..=MUTE_MAX_SECS).contains(&secs) => Some(now() + secs),
        Some(_) => {
            return Err(ApiError::invalid(
                "duration_secs",
                "out_of_range",
                format!("must be between 60 and {MUTE_MAX_SECS} seconds"),
            ));
        }
    };
    match state
        .store
        .mute_phrase(user.id, &phrase, expires_at)
        .await?
    {
        Muted::Done(row, position) => {
            state.applied(Some(position)).await;
            Ok((StatusCode::CREATED, Json(MutedWordDto::from(row))))
        }
        Muted::Full => Err(ApiError::conflict(
            "too_many_muted_words",
            format!("at most {MUTED_MAX} muted words: unmute some first"),
        )),
    }
}

/// Unmute a word or phrase.
#[utoipa::path(delete, path = "/v1/me/muted-words/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, description = "`muted_word_not_found`", body = ErrorBody)))]
async fn unmute(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    match state.store.unmute_phrase(user.id, id).await? {
        Some(position) => {
            state.applied(Some(position)).await;
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::not_found(
            "muted_word_not_found",
            format!("you have no muted word {id}"),
        )),
    }
}
