//! Sessions (sign-ins) and their refresh tokens: tokens stored hashed, consumed on use, one
//! family per session. Every write that starts or ends a session appends `account_changed`, so
//! every replica's principal cache (`principals.rs`) learns it.

use sqlx::FromRow;

use super::changes::{Position, Tx};
use super::moderation::Standing;
use super::{Backend, Store, now};
use crate::changes::record::Change;
use crate::principals::{MAX_SESSIONS, Principal};

/// A row of `refresh_tokens`.
#[derive(Clone, Debug, FromRow)]
struct RefreshRow {
    id: i64,
    user_id: i64,
    family: String,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// A row of `sessions`, as `GET /v1/me/sessions` lists it.
#[derive(Clone, Debug, FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub device: String,
    pub ip: String,
    pub created_at: i64,
    pub last_used_at: i64,
}

/// Where a sign-in came from (shown to its owner).
#[derive(Clone, Debug, Default)]
pub struct SignIn {
    pub device: String,
    pub ip: String,
}

/// What consuming a refresh token found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consumed {
    /// The token was live; it is now used, and the caller issues the next of `family`.
    Fresh {
        user_id: i64,
        session: i64,
        family: String,
    },
    /// The token was already used: it was stolen or replayed, so its session is now ended.
    Reused { position: Option<Position> },
    /// Its session ended before (logout, password change, ended by its owner, a reuse).
    Ended,
    /// Expired.
    Expired,
    /// The account is suspended or banned: the token is left unspent (it works again once
    /// the restriction ends).
    Restricted { standing: Standing },
    /// No such token.
    Unknown,
}

impl Store {
    /// Starts a session for `user` with its first refresh token (`family`, `token_hash`) and
    /// returns its id. Past [`MAX_SESSIONS`] live sessions the oldest end.
    ///
    /// # Errors
    ///
    /// The database error (a foreign-key violation for a user that does not exist).
    pub async fn start_session(
        &self,
        user: i64,
        sign_in: &SignIn,
        family: &str,
        token_hash: &str,
        ttl_secs: i64,
    ) -> sqlx::Result<(i64, Position)> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let (session,): (i64,) = sqlx::query_as(
            "INSERT INTO sessions (user_id, family, device, ip, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(user)
        .bind(family)
        .bind(&sign_in.device)
        .bind(&sign_in.ip)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        insert_token(&mut tx, user, family, token_hash, at, ttl_secs).await?;
        let oldest: Vec<(String,)> = sqlx::query_as(
            "SELECT family FROM sessions WHERE user_id = $1 AND ended_at IS NULL AND id NOT IN \
             (SELECT id FROM sessions WHERE user_id = $1 AND ended_at IS NULL \
              ORDER BY id DESC LIMIT $2)",
        )
        .bind(user)
        .bind(MAX_SESSIONS)
        .fetch_all(&mut *tx)
        .await?;
        for (family,) in oldest {
            end_family(&mut tx, &family, at).await?;
        }
        let position = self
            .commit_with(tx, &Change::AccountChanged { user })
            .await?;
        Ok((session, position))
    }

    /// Consumes the token with `token_hash`, atomically: of two concurrent refreshes with the
    /// same token exactly one gets [`Consumed::Fresh`] and the other ends the session.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn consume_refresh_token(&self, token_hash: &str) -> sqlx::Result<Consumed> {
        let at = now();
        // A write transaction from the start: on SQLite a read that upgrades to a write could
        // fail with "database is locked" under concurrent refreshes.
        let mut tx = self.begin_write().await?;
        let row = sqlx::query_as::<_, RefreshRow>(
            "SELECT id, user_id, family, expires_at, used_at, revoked_at \
             FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(Consumed::Unknown);
        };
        if row.used_at.is_some() {
            return self.end_reused(tx, &row, at).await;
        }
        if row.revoked_at.is_some() {
            tx.rollback().await?;
            return Ok(Consumed::Ended);
        }
        if row.expires_at <= at {
            tx.rollback().await?;
            return Ok(Consumed::Expired);
        }
        // Read in the transaction that would spend the token, so a restriction committed
        // before is always seen (SQLite: one writer; PostgreSQL: the row lock of the status
        // change is waited for by `FOR UPDATE`).
        let (status, until): (String, Option<i64>) = sqlx::query_as(match self.backend {
            Backend::Sqlite => "SELECT status, suspended_until FROM users WHERE id = $1",
            Backend::Postgres => {
                "SELECT status, suspended_until FROM users WHERE id = $1 FOR SHARE"
            }
        })
        .bind(row.user_id)
        .fetch_one(&mut *tx)
        .await?;
        let standing = Standing::parse(&status, until).at(at);
        if standing != Standing::Active {
            tx.rollback().await?;
            return Ok(Consumed::Restricted { standing });
        }
        // The guard on `used_at` makes the consumption a compare-and-set.
        let done =
            sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(at)
                .bind(row.id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() != 1 {
            return self.end_reused(tx, &row, at).await;
        }
        let session: Option<(i64,)> = sqlx::query_as(
            "UPDATE sessions SET last_used_at = $1 WHERE family = $2 AND ended_at IS NULL \
             RETURNING id",
        )
        .bind(at)
        .bind(&row.family)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((session,)) = session else {
            tx.rollback().await?;
            return Ok(Consumed::Ended);
        };
        tx.commit().await?;
        Ok(Consumed::Fresh {
            user_id: row.user_id,
            session,
            family: row.family,
        })
    }

    async fn end_reused(&self, mut tx: Tx, row: &RefreshRow, at: i64) -> sqlx::Result<Consumed> {
        let position = if end_family(&mut tx, &row.family, at).await? {
            let change = Change::AccountChanged { user: row.user_id };
            Some(self.commit_with(tx, &change).await?)
        } else {
            tx.commit().await?;
            None
        };
        Ok(Consumed::Reused { position })
    }

    /// Stores the next refresh token of a live session's `family`.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn insert_refresh_token(
        &self,
        user_id: i64,
        family: &str,
        token_hash: &str,
        ttl_secs: i64,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        insert_token(&mut tx, user_id, family, token_hash, now(), ttl_secs).await?;
        tx.commit().await
    }

    /// Ends the session of the refresh token with `token_hash` (logout). `None` when the token
    /// is unknown or its session already ended.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn end_session_of_token(&self, token_hash: &str) -> sqlx::Result<Option<Position>> {
        let mut tx = self.begin_write().await?;
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT user_id, family FROM refresh_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((user, family)) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        if !end_family(&mut tx, &family, now()).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        Ok(Some(
            self.commit_with(tx, &Change::AccountChanged { user })
                .await?,
        ))
    }

    /// Ends `user`'s session `session`; `None` when it is not one of their live sessions.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn end_session(&self, user: i64, session: i64) -> sqlx::Result<Option<Position>> {
        let mut tx = self.begin_write().await?;
        let family: Option<(String,)> = sqlx::query_as(
            "SELECT family FROM sessions WHERE id = $1 AND user_id = $2 AND ended_at IS NULL",
        )
        .bind(session)
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((family,)) = family else {
            tx.rollback().await?;
            return Ok(None);
        };
        end_family(&mut tx, &family, now()).await?;
        Ok(Some(
            self.commit_with(tx, &Change::AccountChanged { user })
                .await?,
        ))
    }

    /// Sets `user`'s password hash and ends every session but `keep` (the one that changed
    /// it), in one transaction.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn change_password(
        &self,
        user: i64,
        hash: &str,
        keep: i64,
    ) -> sqlx::Result<Position> {
        let at = now();
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(at)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        let others: Vec<(String,)> = sqlx::query_as(
            "SELECT family FROM sessions WHERE user_id = $1 AND ended_at IS NULL AND id <> $2",
        )
        .bind(user)
        .bind(keep)
        .fetch_all(&mut *tx)
        .await?;
        for (family,) in others {
            end_family(&mut tx, &family, at).await?;
        }
        self.commit_with(tx, &Change::AccountChanged { user }).await
    }

    /// `user`'s live sessions, newest first.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn live_sessions(&self, user: i64) -> sqlx::Result<Vec<SessionRow>> {
        sqlx::query_as::<_, SessionRow>(
            "SELECT id, device, ip, created_at, last_used_at FROM sessions \
             WHERE user_id = $1 AND ended_at IS NULL ORDER BY id DESC",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await
    }

    /// What authenticates `user`'s requests (`None`: no such account): their role and live
    /// sessions, in one statement.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn principal(&self, user: i64) -> sqlx::Result<Option<Principal>> {
        let rows: Vec<(String, String, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT u.role, u.status, u.suspended_until, s.id FROM users u \
             LEFT JOIN sessions s ON s.user_id = u.id AND s.ended_at IS NULL \
             WHERE u.id = $1 ORDER BY s.id",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        let Some((role, status, until, _)) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(Principal {
            role: crate::auth::Role::parse(role),
            standing: Standing::parse(status, *until),
            sessions: rows.iter().filter_map(|&(_, _, _, s)| s).collect(),
        }))
    }
}

async fn insert_token(
    tx: &mut Tx,
    user: i64,
    family: &str,
    token_hash: &str,
    at: i64,
    ttl_secs: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (user_id, family, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user)
    .bind(family)
    .bind(token_hash)
    .bind(at)
    .bind(at + ttl_secs)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Ends the session of `family` and revokes its tokens; `false` when it had already ended.
async fn end_family(tx: &mut Tx, family: &str, at: i64) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL",
    )
    .bind(at)
    .bind(family)
    .execute(&mut **tx)
    .await?;
    let done =
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE family = $2 AND ended_at IS NULL")
            .bind(at)
            .bind(family)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}
