//! Follows, blocks and mutes.

use super::changes::Position;
use super::users::{USER_COLUMNS_U, UserRow};
use super::{Store, now};
use crate::changes::record::{Change, HideKindRecord};

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

    fn record(self) -> HideKindRecord {
        match self {
            Self::Block => HideKindRecord::Block,
            Self::Mute => HideKindRecord::Mute,
        }
    }
}

impl Store {
    /// `follower` follows `followee`; `None` when it already did.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn follow(&self, follower: i64, followee: i64) -> sqlx::Result<Option<Position>> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (follower_id, followee_id) DO NOTHING",
        )
        .bind(follower)
        .bind(followee)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let change = Change::Followed {
            user: follower,
            author: followee,
        };
        let position = self.commit_with(tx, &change).await?;
        Ok(Some(position))
    }

    /// `follower` stops following `followee`; `None` when it did not.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn unfollow(&self, follower: i64, followee: i64) -> sqlx::Result<Option<Position>> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2")
            .bind(follower)
            .bind(followee)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let change = Change::Unfollowed {
            user: follower,
            author: followee,
        };
        let position = self.commit_with(tx, &change).await?;
        Ok(Some(position))
    }

    /// `user` blocks or mutes `target`. A block also removes the follows both ways, in the
    /// same transaction. `None` when nothing changed (already hidden that way).
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn hide(
        &self,
        user: i64,
        target: i64,
        kind: HideKind,
    ) -> sqlx::Result<Option<Position>> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO hides (user_id, target_id, kind, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, target_id, kind) DO NOTHING",
        )
        .bind(user)
        .bind(target)
        .bind(kind.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
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
        if !inserted && removed.is_empty() {
            tx.rollback().await?;
            return Ok(None);
        }
        let change = Change::Hidden {
            user,
            target,
            kind: kind.record(),
            removed,
        };
        let position = self.commit_with(tx, &change).await?;
        Ok(Some(position))
    }

    /// `user` lifts a block or mute of `target`; `None` when there was none.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn unhide(
        &self,
        user: i64,
        target: i64,
        kind: HideKind,
    ) -> sqlx::Result<Option<Position>> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("DELETE FROM hides WHERE user_id = $1 AND target_id = $2 AND kind = $3")
                .bind(user)
                .bind(target)
                .bind(kind.as_str())
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let change = Change::Unhidden {
            user,
            target,
            kind: kind.record(),
        };
        let position = self.commit_with(tx, &change).await?;
        Ok(Some(position))
    }

    /// Who blocked whom between `a` and `b`: the blocker (`a` first when both did), `None`
    /// when neither did.
    pub async fn blocker_between(&self, a: i64, b: i64) -> sqlx::Result<Option<i64>> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT user_id FROM hides WHERE kind = 'block' \
             AND ((user_id = $1 AND target_id = $2) OR (user_id = $2 AND target_id = $1)) \
             ORDER BY user_id = $1 DESC LIMIT 1",
        )
        .bind(a)
        .bind(b)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.map(|(blocker,)| blocker))
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
