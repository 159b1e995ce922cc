//! Follows, blocks and mutes.

use super::users::{USER_COLUMNS_U, UserRow};
use super::{Store, now};

/// How a user hides another's posts from their feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HideKind {
    /// Hides their posts and removes the follows between the two; they cannot follow back.
    Block,
    /// Hides their posts only.
    Mute,
}

impl HideKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Mute => "mute",
        }
    }
}

impl Store {
    /// `follower` follows `followee`; `false` when it already did.
    pub async fn follow(&self, follower: i64, followee: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (follower_id, followee_id) DO NOTHING",
        )
        .bind(follower)
        .bind(followee)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `follower` stops following `followee`; `false` when it did not.
    pub async fn unfollow(&self, follower: i64, followee: i64) -> sqlx::Result<bool> {
        let done = sqlx::query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2")
            .bind(follower)
            .bind(followee)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `user` blocks or mutes `target`. A block also removes the follows both ways, in the
    /// same transaction. Returns the follows it removed as `(follower, followee)` pairs.
    pub async fn hide(
        &self,
        user: i64,
        target: i64,
        kind: HideKind,
    ) -> sqlx::Result<Vec<(i64, i64)>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO hides (user_id, target_id, kind, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, target_id, kind) DO NOTHING",
        )
        .bind(user)
        .bind(target)
        .bind(kind.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        let mut removed = Vec::new();
        if kind == HideKind::Block {
            for (a, b) in [(user, target), (target, user)] {
                let done =
                    sqlx::query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2")
                        .bind(a)
                        .bind(b)
                        .execute(&mut *tx)
                        .await?;
                if done.rows_affected() == 1 {
                    removed.push((a, b));
                }
            }
        }
        tx.commit().await?;
        Ok(removed)
    }

    /// `user` lifts a block or mute of `target`; `false` when there was none.
    pub async fn unhide(&self, user: i64, target: i64, kind: HideKind) -> sqlx::Result<bool> {
        let done =
            sqlx::query("DELETE FROM hides WHERE user_id = $1 AND target_id = $2 AND kind = $3")
                .bind(user)
                .bind(target)
                .bind(kind.as_str())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether `user` still hides `target` in any way (a block or a mute).
    pub async fn hides(&self, user: i64, target: i64) -> sqlx::Result<bool> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT user_id FROM hides WHERE user_id = $1 AND target_id = $2 LIMIT 1",
        )
        .bind(user)
        .bind(target)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Whether `user` blocked `target`.
    pub async fn blocked(&self, user: i64, target: i64) -> sqlx::Result<bool> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT user_id FROM hides WHERE user_id = $1 AND target_id = $2 AND kind = 'block'",
        )
        .bind(user)
        .bind(target)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Followers of `user` with id below `before`, highest id first, at most `limit`.
    pub async fn followers(
        &self,
        user: i64,
        before: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<UserRow>> {
        sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS_U} FROM follows f JOIN users u ON u.id = f.follower_id \
             WHERE f.followee_id = $1 AND f.follower_id < $2 ORDER BY f.follower_id DESC LIMIT $3"
        )))
        .bind(user)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Users `user` follows with id below `before`, highest id first, at most `limit`.
    pub async fn following(
        &self,
        user: i64,
        before: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<UserRow>> {
        sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS_U} FROM follows f JOIN users u ON u.id = f.followee_id \
             WHERE f.follower_id = $1 AND f.followee_id < $2 ORDER BY f.followee_id DESC LIMIT $3"
        )))
        .bind(user)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }
}
