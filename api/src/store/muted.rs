//! Muted words and phrases: a user's own list, each entry for good or until a time. Writes
//! append `muted_words_changed` so every replica drops its cached copy (`crate::muted`).

use sqlx::FromRow;

use super::changes::Position;
use super::{Store, now};
use crate::changes::record::Change;

/// The most muted words a user keeps.
pub const MUTED_MAX: i64 = 200;

/// A row of `muted_words`.
#[derive(Clone, Debug, FromRow, PartialEq, Eq)]
pub struct MutedRow {
    pub id: i64,
    pub phrase: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// What [`Store::mute_phrase`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Muted {
    /// Muted (or its expiry replaced, when it was muted already).
    Done(MutedRow, Position),
    /// The user keeps [`MUTED_MAX`] already.
    Full,
}

impl Store {
    /// `user`'s muted phrases in force at `at`, oldest first.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn muted_phrases(&self, user: i64, at: i64) -> sqlx::Result<Vec<MutedRow>> {
        sqlx::query_as::<_, MutedRow>(
            "SELECT id, phrase, created_at, expires_at FROM muted_words \
             WHERE user_id = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY id",
        )
        .bind(user)
        .bind(at)
        .fetch_all(&self.pool)
        .await
    }

    /// Mutes `phrase` (normalised by the caller) for `user` until `expires_at` (`None`: for
    /// good); muting a phrase again replaces its expiry. Expired entries are dropped first.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn mute_phrase(
        &self,
        user: i64,
        phrase: &str,
        expires_at: Option<i64>,
    ) -> sqlx::Result<Muted> {
        let at = now();
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM muted_words WHERE user_id = $1 AND expires_at <= $2")
            .bind(user)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM muted_words WHERE user_id = $1 AND phrase <> $2")
                .bind(user)
                .bind(phrase)
                .fetch_one(&mut *tx)
                .await?;
        if count >= MUTED_MAX {
            tx.rollback().await?;
            return Ok(Muted::Full);
        }
        let row = sqlx::query_as::<_, MutedRow>(
            "INSERT INTO muted_words (user_id, phrase, created_at, expires_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, phrase) \
             DO UPDATE SET expires_at = excluded.expires_at \
             RETURNING id, phrase, created_at, expires_at",
        )
        .bind(user)
        .bind(phrase)
        .bind(at)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
        let position = self
            .commit_with(tx, &Change::MutedWordsChanged { user })
            .await?;
        Ok(Muted::Done(row, position))
    }

    /// Unmutes `user`'s entry `id`; `None` when they have no such entry.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn unmute_phrase(&self, user: i64, id: i64) -> sqlx::Result<Option<Position>> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM muted_words WHERE user_id = $1 AND id = $2")
            .bind(user)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        Ok(Some(
            self.commit_with(tx, &Change::MutedWordsChanged { user })
                .await?,
        ))
    }
}
