//! Follows, blocks and mutes.

use super::changes::{Position, Tx};
use super::users::{USER_COLUMNS_U, UserRow};
use super::{Backend, Store, now};
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

/// The outcome of a write from one user to another (a follow, a like of or a comment on their
/// post), which a block between them, either way, refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Across<T> {
    /// Written (or already there).
    Done(T),
    /// Refused: `blocker` blocked the other. Nothing was written.
    Blocked { blocker: i64 },
}

/// The PostgreSQL advisory lock class of a pair of users (`"sl-p"` in ASCII), in the two-key
/// space, which does not overlap the change log's one-key lock.
const PAIR_LOCK_CLASS: i32 = 0x736c_2d70;

/// Who blocked whom between `$1` and `$2` (`$1` first when both did).
const BLOCKER_BETWEEN: &str = "SELECT user_id FROM hides WHERE kind = 'block' \
     AND ((user_id = $1 AND target_id = $2) OR (user_id = $2 AND target_id = $1)) \
     ORDER BY user_id = $1 DESC LIMIT 1";

impl Store {
    /// Takes the lock of the unordered pair `a`, `b` in `tx` (PostgreSQL; SQLite's write
    /// transactions are serialised anyway), held until `tx` ends, so that a block and a write
    /// across it are never in flight together: a block's transaction and
    /// [`begin_write_across`](Self::begin_write_across) take it. Taken first, before any row
    /// lock, and one per transaction, it cannot close a deadlock; two pairs whose keys collide
    /// only wait for each other.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn lock_pair(&self, tx: &mut Tx, a: i64, b: i64) -> sqlx::Result<()> {
        if self.backend == Backend::Postgres {
            let (lo, hi) = (a.min(b) as u64, a.max(b) as u64);
            let mixed =
                lo.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ hi.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
            let key = (mixed ^ (mixed >> 32)) as u32 as i32;
            sqlx::query("SELECT 1 FROM pg_advisory_xact_lock($1, $2)")
                .bind(PAIR_LOCK_CLASS)
                .bind(key)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Begins a write from `user` to `other` and checks, inside it, that no block separates
    /// them: `Err(blocker)` (the transaction rolled back) when one does. The check and the
    /// write are atomic: on SQLite write transactions are serialised from their start; on
    /// PostgreSQL both this transaction and a block's take the pair's lock
    /// ([`lock_pair`](Self::lock_pair)) first, so a block being committed is waited for and
    /// seen, and one begun
    /// after waits for this write and removes (a follow) or hides (likes, comments) what it
    /// added.
    ///
    /// # Errors
    ///
    /// The database error.
    pub(crate) async fn begin_write_across(
        &self,
        user: i64,
        other: i64,
    ) -> sqlx::Result<Result<Tx, i64>> {
        let mut tx = self.begin_write().await?;
        self.lock_pair(&mut tx, user, other).await?;
        let found: Option<(i64,)> = sqlx::query_as(BLOCKER_BETWEEN)
            .bind(user)
            .bind(other)
            .fetch_optional(&mut *tx)
            .await?;
        match found {
            Some((blocker,)) => {
                tx.rollback().await?;
                Ok(Err(blocker))
            }
            None => Ok(Ok(tx)),
        }
    }

    /// `follower` follows `followee`; `Done(None)` when it already did.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn follow(
        &self,
        follower: i64,
        followee: i64,
    ) -> sqlx::Result<Across<Option<Position>>> {
        let mut tx = match self.begin_write_across(follower, followee).await? {
            Ok(tx) => tx,
            Err(blocker) => return Ok(Across::Blocked { blocker }),
        };
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
            return Ok(Across::Done(None));
        }
        let change = Change::Followed {
            user: follower,
            author: followee,
        };
        let position = self.commit_with(tx, &change).await?;
        Ok(Across::Done(Some(position)))
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
        if kind == HideKind::Block {
            self.lock_pair(&mut tx, user, target).await?;
        }
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
        let found: Option<(i64,)> = sqlx::query_as(BLOCKER_BETWEEN)
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
