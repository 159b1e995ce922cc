//! The change log's SQL: appending a record inside a write's transaction, reading in order,
//! retention.
//!
//! **Invariant:** a record is appended in the same transaction as the write it describes, as the
//! transaction's last statement, so no write commits without its record and no record exists
//! without its write.
//!
//! **No skipped positions.** Ids are assigned at insert and become visible at commit; if two
//! writers could commit out of id order, a reader could see id 11, move its position past it and
//! never see 10. SQLite has a single writer, so ids are assigned in commit order. On PostgreSQL
//! the appending transaction first takes the log's transaction-level advisory lock, held until
//! its commit or rollback: appends are serialised from the insert to the commit, so a record
//! becomes visible only after every lower id is visible or rolled back. The lock is taken last
//! in the transaction, so it is held for the insert and the commit only.

use sqlx::{Any, Transaction};

use super::{Backend, Store};
use crate::changes::record::Change;

/// A write transaction.
pub type Tx = Transaction<'static, Any>;

/// A position in the change log (a record's id). 0 is before the first record.
pub type Position = i64;

/// The key of the PostgreSQL advisory lock that orders appends (`"sl-chng"` in ASCII).
const APPEND_LOCK: i64 = 0x0073_6c2d_6368_6e67;

/// The PostgreSQL channel on which an append wakes the consumers (a wake-up only: they read the
/// table).
pub const WAKE_CHANNEL: &str = "social_live_changes";

/// One stored record, not yet decoded.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StoredChange {
    pub id: Position,
    pub created_at_ms: i64,
    pub kind: String,
    pub payload: String,
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Store {
    /// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken
    /// at once (waiting up to the busy timeout), so a transaction that reads before it writes
    /// never fails to upgrade its lock with "database is locked".
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn begin_write(&self) -> sqlx::Result<Tx> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Appends `change` to the log inside `tx` and returns its position. Call it as the last
    /// statement of the write's transaction, then commit.
    ///
    /// # Errors
    ///
    /// The database error (the caller's transaction then rolls back with its write).
    pub async fn append(&self, tx: &mut Tx, change: &Change) -> sqlx::Result<Position> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT 1 FROM pg_advisory_xact_lock($1)")
                .bind(APPEND_LOCK)
                .execute(&mut **tx)
                .await?;
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO changes (created_at_ms, kind, payload) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(now_ms())
        .bind(change.kind())
        .bind(change.payload())
        .fetch_one(&mut **tx)
        .await?;
        if self.backend == Backend::Postgres {
            // Delivered at commit, to every listening replica; lost notifications are harmless
            // (consumers also poll), so the payload is informational.
            sqlx::query("SELECT 1 FROM pg_notify($1, $2)")
                .bind(WAKE_CHANNEL)
                .bind(id.to_string())
                .execute(&mut **tx)
                .await?;
        }
        Ok(id)
    }

    /// Appends `change` as the last statement of `tx` and commits: the write and its record
    /// together. Returns the record's position.
    ///
    /// # Errors
    ///
    /// The database error (nothing is committed then).
    pub async fn commit_with(&self, mut tx: Tx, change: &Change) -> sqlx::Result<Position> {
        let position = self.append(&mut tx, change).await?;
        tx.commit().await?;
        Ok(position)
    }

    /// Up to `limit` records after `position`, in order.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn changes_after(
        &self,
        position: Position,
        limit: i64,
    ) -> sqlx::Result<Vec<StoredChange>> {
        sqlx::query_as::<_, StoredChange>(
            "SELECT id, created_at_ms, kind, payload FROM changes WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(position)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// The newest committed position (0 for an empty log), and the time of the oldest record
    /// after `applied` (`None` when there is none): a consumer's lag in changes and in time.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn log_head(&self, applied: Position) -> sqlx::Result<(Position, Option<i64>)> {
        let (head,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM changes")
            .fetch_one(&self.pool)
            .await?;
        let oldest: Option<(i64,)> =
            sqlx::query_as("SELECT created_at_ms FROM changes WHERE id > $1 ORDER BY id LIMIT 1")
                .bind(applied)
                .fetch_optional(&self.pool)
                .await?;
        let pruned = self.pruned_through().await?;
        Ok((head.unwrap_or(0).max(pruned), oldest.map(|(at,)| at)))
    }

    /// The highest position retention deleted (0 when nothing was pruned).
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn pruned_through(&self) -> sqlx::Result<Position> {
        let (pruned,): (i64,) =
            sqlx::query_as("SELECT pruned_through FROM change_log WHERE singleton = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(pruned)
    }

    /// Deletes the records older than `before_ms` (Unix milliseconds) and raises the pruned
    /// mark to the highest position deleted, in one transaction. Returns how many were deleted.
    /// Any replica may run it; concurrent runs delete nothing twice.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn prune_changes(&self, before_ms: i64) -> sqlx::Result<u64> {
        let mut tx = self.begin_write().await?;
        let (through,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(id) FROM changes WHERE created_at_ms < $1")
                .bind(before_ms)
                .fetch_one(&mut *tx)
                .await?;
        let Some(through) = through else {
            tx.rollback().await?;
            return Ok(0);
        };
        let done = sqlx::query("DELETE FROM changes WHERE id <= $1")
            .bind(through)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE change_log SET pruned_through = $1 WHERE singleton = 1 AND pruned_through < $1",
        )
        .bind(through)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
