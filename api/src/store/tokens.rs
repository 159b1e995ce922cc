//! Refresh tokens: stored hashed, consumed on use, revoked by family.

use sqlx::FromRow;

use super::{Store, now};

/// A row of `refresh_tokens`.
#[derive(Clone, Debug, FromRow)]
pub struct RefreshRow {
    pub id: i64,
    pub user_id: i64,
    pub family: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What consuming a refresh token found.
#[derive(Clone, Debug)]
pub enum Consumed {
    /// The token was live; it is now used, and the caller issues the next of `family`.
    Fresh { user_id: i64, family: String },
    /// The token was already used or revoked: its family is now revoked.
    Reused,
    /// Expired.
    Expired,
    /// No such token.
    Unknown,
}

impl Store {
    pub async fn insert_refresh_token(
        &self,
        user_id: i64,
        family: &str,
        token_hash: &str,
        ttl_secs: i64,
    ) -> sqlx::Result<()> {
        let at = now();
        sqlx::query(
            "INSERT INTO refresh_tokens (user_id, family, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user_id)
        .bind(family)
        .bind(token_hash)
        .bind(at)
        .bind(at + ttl_secs)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Consumes the token with `token_hash`, atomically: of two concurrent refreshes with the
    /// same token exactly one gets [`Consumed::Fresh`].
    pub async fn consume_refresh_token(&self, token_hash: &str) -> sqlx::Result<Consumed> {
        let at = now();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query_as::<_, RefreshRow>(
            "SELECT id, user_id, family, expires_at, used_at, revoked_at \
             FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Consumed::Unknown);
        };
        if row.used_at.is_some() || row.revoked_at.is_some() {
            revoke_family(&mut tx, &row.family, at).await?;
            tx.commit().await?;
            return Ok(Consumed::Reused);
        }
        if row.expires_at <= at {
            return Ok(Consumed::Expired);
        }
        // The guard on `used_at` makes the consumption a compare-and-set.
        let done =
            sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(at)
                .bind(row.id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() != 1 {
            revoke_family(&mut tx, &row.family, at).await?;
            tx.commit().await?;
            return Ok(Consumed::Reused);
        }
        tx.commit().await?;
        Ok(Consumed::Fresh {
            user_id: row.user_id,
            family: row.family,
        })
    }

    /// Revokes the family of the token with `token_hash` (logout); `false` if unknown.
    pub async fn revoke_by_token(&self, token_hash: &str) -> sqlx::Result<bool> {
        let family: Option<(String,)> =
            sqlx::query_as("SELECT family FROM refresh_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        let Some((family,)) = family else {
            return Ok(false);
        };
        let mut tx = self.pool.begin().await?;
        revoke_family(&mut tx, &family, now()).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Revokes every refresh token of a user (password change, role change).
    pub async fn revoke_user_tokens(&self, user_id: i64) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now())
        .bind(user_id)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }
}

async fn revoke_family(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    family: &str,
    at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL",
    )
    .bind(at)
    .bind(family)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}
