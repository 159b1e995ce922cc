//! Accounts and profiles.

use sqlx::FromRow;

use super::changes::Position;
use super::moderation::{Audit, Standing, another_admin, audit};
use super::{Store, now};
use crate::changes::record::Change;

/// A row of `users`.
#[derive(Clone, Debug, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub status: String,
    pub suspended_until: Option<i64>,
    /// Why the account was last suspended, banned or reinstated.
    pub status_reason: String,
}

impl UserRow {
    /// The account's standing in force now.
    pub fn standing(&self) -> Standing {
        Standing::parse(&self.status, self.suspended_until).at(now())
    }
}

/// Follower, following and post counts of a profile.
#[derive(Clone, Copy, Debug, Default, FromRow)]
pub struct UserCounts {
    pub followers: i64,
    pub following: i64,
    pub posts: i64,
}

const COLUMNS: &str = "id, handle, display_name, bio, password_hash, role, created_at, updated_at, \
                       status, suspended_until, status_reason";
/// The columns of a [`UserRow`] over `users u`, for joins.
pub(crate) const USER_COLUMNS_U: &str = "u.id, u.handle, u.display_name, u.bio, u.password_hash, \
    u.role, u.created_at, u.updated_at, u.status, u.suspended_until, u.status_reason";

/// The TR39 confusable skeleton of a name, compared without case, spaces, punctuation and a
/// leading `@` ("Ａｄｍｉｎ", "@ad min", "аdmin" with a Cyrillic а all become the skeleton of
/// "admin"; "rnike" that of "mike"). Stored for handles (`users.handle_skeleton`), so that a
/// new handle cannot read like a taken one.
pub fn skeleton(raw: &str) -> String {
    let folded: String = raw.chars().flat_map(char::to_lowercase).collect();
    unicode_security::confusable_detection::skeleton(&folded)
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

impl Store {
    /// The handle of an account whose handle reads like `handle` (the same confusable
    /// skeleton), other than `handle` itself.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn lookalike_handle(&self, handle: &str) -> sqlx::Result<Option<String>> {
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT handle FROM users WHERE handle_skeleton = $1 AND handle <> $2 LIMIT 1",
        )
        .bind(skeleton(handle))
        .bind(handle)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.map(|(h,)| h))
    }

    /// Fills `handle_skeleton` for accounts written before it existed (or by a bulk load that
    /// left it out), a thousand per transaction. Returns how many it filled.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn backfill_skeletons(&self) -> sqlx::Result<u64> {
        let mut filled = 0;
        loop {
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, handle FROM users WHERE handle_skeleton IS NULL ORDER BY id LIMIT 1000",
            )
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(filled);
            }
            let mut tx = self.pool.begin().await?;
            for (id, handle) in &rows {
                sqlx::query("UPDATE users SET handle_skeleton = $1 WHERE id = $2")
                    .bind(skeleton(handle))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            filled += rows.len() as u64;
        }
    }

    /// Creates an account; `Err` with a unique violation when the handle is taken.
    pub async fn create_user(
        &self,
        handle: &str,
        display_name: &str,
        password_hash: &str,
        role: &str,
    ) -> sqlx::Result<UserRow> {
        let at = now();
        sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
            "INSERT INTO users (handle, display_name, password_hash, role, created_at, updated_at, \
             handle_skeleton) VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING {COLUMNS}"
        )))
        .bind(handle)
        .bind(display_name)
        .bind(password_hash)
        .bind(role)
        .bind(at)
        .bind(skeleton(handle))
        .fetch_one(&self.pool)
        .await
    }

    pub async fn user_by_id(&self, id: i64) -> sqlx::Result<Option<UserRow>> {
        sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM users WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn user_by_handle(&self, handle: &str) -> sqlx::Result<Option<UserRow>> {
        sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM users WHERE handle = $1"
        )))
        .bind(handle)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn user_exists(&self, id: i64) -> sqlx::Result<bool> {
        let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    pub async fn user_counts(&self, id: i64) -> sqlx::Result<UserCounts> {
        sqlx::query_as::<_, UserCounts>(
            "SELECT \
               (SELECT COUNT(*) FROM follows WHERE followee_id = $1) AS followers, \
               (SELECT COUNT(*) FROM follows WHERE follower_id = $1) AS following, \
               (SELECT COUNT(*) FROM posts WHERE author_id = $1 AND deleted_at IS NULL AND hidden_at IS NULL) AS posts",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await
    }

    /// Updates the fields given; returns the new row (`None` for an unknown user).
    pub async fn update_profile(
        &self,
        id: i64,
        display_name: Option<&str>,
        bio: Option<&str>,
    ) -> sqlx::Result<Option<UserRow>> {
        let mut tx = self.pool.begin().await?;
        if let Some(name) = display_name {
            sqlx::query("UPDATE users SET display_name = $1, updated_at = $2 WHERE id = $3")
                .bind(name)
                .bind(now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(bio) = bio {
            sqlx::query("UPDATE users SET bio = $1, updated_at = $2 WHERE id = $3")
                .bind(bio)
                .bind(now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.user_by_id(id).await
    }

    /// Sets a user's role, in one transaction with its audit entry (by `actor`, with
    /// `reason`) and its change record (so every replica's principal cache learns it). The
    /// last admin in good standing keeps theirs.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn set_role(
        &self,
        actor: Option<i64>,
        id: i64,
        role: &str,
        reason: &str,
    ) -> sqlx::Result<RoleChange> {
        let mut tx = self.begin_write().await?;
        let current: Option<(String,)> = sqlx::query_as("SELECT role FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((current,)) = current else {
            tx.rollback().await?;
            return Ok(RoleChange::NoSuchUser);
        };
        if current == role {
            tx.rollback().await?;
            return Ok(RoleChange::Unchanged);
        }
        if current == "admin" && !another_admin(&mut tx, self.backend, id, now()).await? {
            tx.rollback().await?;
            return Ok(RoleChange::LastAdmin);
        }
        sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
            .bind(role)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            &Audit {
                actor,
                action: "role_changed",
                target_user: Some(id),
                target_post: None,
                reason,
                details: serde_json::json!({ "from": current, "to": role }),
            },
        )
        .await?;
        let position = self
            .commit_with(tx, &Change::AccountChanged { user: id })
            .await?;
        Ok(RoleChange::Changed(position))
    }
}

/// What [`Store::set_role`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleChange {
    Changed(Position),
    /// The user already had the role.
    Unchanged,
    NoSuchUser,
    /// The user is the only admin in good standing: demoting them would leave nobody to
    /// administer.
    LastAdmin,
}

/// A creator's audience statistics.
#[derive(Clone, Copy, Debug, Default, FromRow)]
pub struct AudienceStats {
    pub followers: i64,
    pub posts: i64,
    pub likes_received: i64,
    pub comments_received: i64,
    pub views_received: i64,
}

impl Store {
    pub async fn audience_stats(&self, id: i64) -> sqlx::Result<AudienceStats> {
        sqlx::query_as::<_, AudienceStats>(
            "SELECT \
               (SELECT COUNT(*) FROM follows WHERE followee_id = $1) AS followers, \
               (SELECT COUNT(*) FROM posts WHERE author_id = $1 AND deleted_at IS NULL AND hidden_at IS NULL) AS posts, \
               (SELECT COUNT(*) FROM likes l JOIN posts p ON p.id = l.post_id \
                  WHERE p.author_id = $1 AND p.deleted_at IS NULL AND p.hidden_at IS NULL) AS likes_received, \
               (SELECT COUNT(*) FROM comments c JOIN posts p ON p.id = c.post_id \
                  WHERE p.author_id = $1 AND p.deleted_at IS NULL AND p.hidden_at IS NULL) AS comments_received, \
               (SELECT COUNT(*) FROM views v JOIN posts p ON p.id = v.post_id \
                  WHERE p.author_id = $1 AND p.deleted_at IS NULL AND p.hidden_at IS NULL) AS views_received",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await
    }
}
