//! The pipeline's run history and its lease: one run at a time across every process that
//! shares the database.
//!
//! **The lease** is one row of `pipeline_lease`: a holder (`host:pid:random`), a fencing token
//! and an expiry in Unix milliseconds. A process takes it when it is free, expired or already
//! its own, renews it while it lives, and releases it when it stops; a process that dies stops
//! renewing, and after the time-to-live another takes it over. Every change of hands adds one to
//! the fence, so a runner that lost the lease (paused, cut off, presumed dead) holds a stale fence
//! and can no longer claim or finish a run: [`Store::claim_next`] and [`Store::finish_run`] check
//! the fence in the same transaction as their write, after locking the lease row (an `UPDATE` of
//! it: a row lock on PostgreSQL, the one writer on SQLite), so a take-over is ordered before or
//! after them, never in between. Expiry is judged by the callers' clocks: the time-to-live must
//! be much longer than the skew between the machines' clocks.
//!
//! **Runs** are rows of `pipeline_runs`, one per attempt: queued by a cron tick
//! ([`Store::enqueue_tick`]: the tick is unique, so every scheduler firing on it queues the same
//! run), by an admin ([`Store::request_run`]) or as a retry; claimed oldest first by the lease
//! holder; finished as published, rejected by the gate, or failed (with a retry queued after a
//! backoff when attempts remain). A run still `running` under an older fence when the holder
//! claims is abandoned ("runner lost") and queued again as a retry.

use std::time::Duration;

use sqlx::FromRow;

use super::changes::{Tx, now_ms};
use super::moderation::{Audit, audit};
use super::{Backend, Store, now};

/// The name of the pipeline's lease row.
pub const LEASE: &str = "pipeline";

/// The error of a run its new lease holder found still running under an older fence.
pub const RUNNER_LOST: &str = "runner lost";

/// The key of the PostgreSQL advisory lock that serialises run requests (`"sl-runs"` in ASCII),
/// so that two concurrent requests cannot both queue a run.
const REQUEST_LOCK: i64 = 0x0073_6c2d_7275_6e73;

/// A run's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, sqlx::Type)]
#[sqlx(transparent)]
pub struct RunId(pub i64);

/// A lease's fencing token: it grows by one whenever the lease changes hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, sqlx::Type)]
#[sqlx(transparent)]
pub struct Fence(pub i64);

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What queued a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// A cron tick (`scheduled_for`).
    Schedule,
    /// An admin (`requested_by`), or `scheduler --run-now` (no one).
    Admin,
    /// A failed or abandoned attempt, run again (`retry_of`).
    Retry,
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Queued,
    Running,
    /// Its model is the current one (or was made current when it finished).
    Published,
    /// The promotion gate refused its model: kept for inspection, not current.
    Rejected,
    Failed,
    /// Its runner lost the lease mid-run (died, paused or cut off).
    Abandoned,
}

macro_rules! stored_enum {
    ($name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $name {
            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }

            /// The value of stored text, `None` for unknown text.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)* _ => None }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(text: String) -> Result<Self, String> {
                Self::parse(&text).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($name), " {:?}"), text)
                })
            }
        }
    };
}

stored_enum!(Trigger { Schedule => "schedule", Admin => "admin", Retry => "retry" });
stored_enum!(RunStatus {
    Queued => "queued",
    Running => "running",
    Published => "published",
    Rejected => "rejected",
    Failed => "failed",
    Abandoned => "abandoned",
});

/// A row of `pipeline_runs`.
#[derive(Clone, Debug, FromRow)]
pub struct RunRow {
    pub id: RunId,
    #[sqlx(try_from = "String")]
    pub trigger: Trigger,
    /// The cron tick, Unix seconds.
    pub scheduled_for: Option<i64>,
    /// The admin who asked for it.
    pub requested_by: Option<i64>,
    /// 1 for a first attempt.
    pub attempt: i64,
    /// The attempt this one retries.
    pub retry_of: Option<RunId>,
    #[sqlx(try_from = "String")]
    pub status: RunStatus,
    /// The lease holder that claimed it.
    pub runner: Option<String>,
    /// The lease's fence when it was claimed.
    pub fence: Option<Fence>,
    /// Claimed from this time on, Unix seconds.
    pub not_before: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The model version it wrote.
    pub version: Option<String>,
    /// JSON text: the data's sizes.
    pub counts: Option<String>,
    /// JSON text: the model's metrics.
    pub metrics: Option<String>,
    /// JSON text: the promotion gate's decision.
    pub gate: Option<String>,
    pub error: Option<String>,
}

const RUN_COLUMNS: &str = "id, trigger, scheduled_for, requested_by, attempt, retry_of, status, \
     runner, fence, not_before, created_at, started_at, finished_at, version, counts, metrics, \
     gate, error";

/// What a finished run produced (JSON values, stored as text).
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    pub version: String,
    pub counts: serde_json::Value,
    pub metrics: serde_json::Value,
    /// The promotion gate's decision, when the pipeline made one.
    pub gate: Option<serde_json::Value>,
}

/// How a run ended, for [`Store::finish_run`].
#[derive(Clone, Debug)]
pub enum Finish {
    /// The gate accepted the model (the caller then makes it current).
    Published(RunReport),
    /// The gate refused the model.
    Rejected(RunReport),
    /// The run failed with `error`; when `retry_at` (Unix seconds) is set, a retry is queued to
    /// start then, in the same transaction.
    Failed {
        error: String,
        retry_at: Option<i64>,
    },
}

/// What [`Store::claim_next`] did.
#[derive(Clone, Debug)]
pub enum Claim {
    /// The caller does not hold the lease with this fence (any more): nothing was written.
    LeaseLost,
    /// The caller holds the lease.
    Held {
        /// Runs found running under an older fence, now abandoned (and queued again while
        /// attempts remain).
        abandoned: Vec<RunId>,
        /// The run claimed, now `running` under the caller's fence; `None` when nothing was due.
        run: Option<Box<RunRow>>,
    },
}

/// What [`Store::request_run`] did.
#[derive(Clone, Debug)]
pub enum RunRequest {
    /// A new run was queued.
    Queued(RunRow),
    /// A run is queued or running already: nothing was queued.
    Pending(RunRow),
}

impl Store {
    /// Takes the lease for `holder` for `ttl` if it is free, expired or already `holder`'s;
    /// `None` when another holder's lease is live. Taking it from another holder (or after a
    /// release) adds one to the fence; `holder`'s own live lease keeps its fence.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn try_acquire_lease(
        &self,
        holder: &str,
        ttl: Duration,
    ) -> sqlx::Result<Option<Fence>> {
        let now = now_ms();
        let row: Option<(Fence,)> = sqlx::query_as(
            "INSERT INTO pipeline_lease (name, holder, fence, expires_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (name) DO UPDATE SET \
               fence = CASE WHEN pipeline_lease.holder = excluded.holder \
                            AND pipeline_lease.expires_at > $4 \
                       THEN pipeline_lease.fence ELSE pipeline_lease.fence + 1 END, \
               holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE pipeline_lease.holder = excluded.holder OR pipeline_lease.expires_at <= $4 \
             RETURNING fence",
        )
        .bind(LEASE)
        .bind(holder)
        .bind(now + ttl_ms(ttl))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(fence,)| fence))
    }

    /// Extends `holder`'s lease to `ttl` from now; `false` when it changed hands (its fence is
    /// stale) and the caller must stop acting as the holder.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn renew_lease(
        &self,
        holder: &str,
        fence: Fence,
        ttl: Duration,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE pipeline_lease SET expires_at = $1 \
             WHERE name = $2 AND holder = $3 AND fence = $4",
        )
        .bind(now_ms() + ttl_ms(ttl))
        .bind(LEASE)
        .bind(holder)
        .bind(fence)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives the lease up at once (the next taker's fence is one higher); nothing when it
    /// changed hands already.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn release_lease(&self, holder: &str, fence: Fence) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE pipeline_lease SET holder = '', expires_at = 0 \
             WHERE name = $1 AND holder = $2 AND fence = $3",
        )
        .bind(LEASE)
        .bind(holder)
        .bind(fence)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Queues the run of the cron tick `scheduled_for` (Unix seconds), unless a run of that
    /// tick exists: every scheduler that fires on the tick calls it, one run is queued. `None`
    /// when it existed.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn enqueue_tick(&self, scheduled_for: i64) -> sqlx::Result<Option<RunId>> {
        let at = now();
        let row: Option<(RunId,)> = sqlx::query_as(
            "INSERT INTO pipeline_runs (trigger, scheduled_for, not_before, created_at) \
             VALUES ('schedule', $1, $2, $2) ON CONFLICT (scheduled_for) DO NOTHING RETURNING id",
        )
        .bind(scheduled_for)
        .bind(at)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id,)| id))
    }

    /// Queues a run now, asked for by the admin `by` (`None`: the command line), unless one is
    /// queued or running already (then that one is returned and nothing is written). The
    /// request is recorded in the audit log (`pipeline_run_requested`) in the same transaction.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn request_run(&self, by: Option<i64>) -> sqlx::Result<RunRequest> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT 1 FROM pg_advisory_xact_lock($1)")
                .bind(REQUEST_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        let pending: Option<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM pipeline_runs WHERE status IN ('queued', 'running') \
             ORDER BY id LIMIT 1"
        )))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(pending) = pending {
            tx.rollback().await?;
            return Ok(RunRequest::Pending(pending));
        }
        let at = now();
        let run: RunRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO pipeline_runs (trigger, requested_by, not_before, created_at) \
             VALUES ('admin', $1, $2, $2) RETURNING {RUN_COLUMNS}"
        )))
        .bind(by)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        audit(
            &mut tx,
            &Audit {
                actor: by,
                action: "pipeline_run_requested",
                target_user: None,
                target_post: None,
                reason: "",
                details: serde_json::json!({ "run": run.id.0 }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(RunRequest::Queued(run))
    }

    /// For the lease holder `holder` with `fence`, in one transaction: abandons the runs still
    /// running under an older fence (error [`RUNNER_LOST`]; each queued again as a retry, to
    /// start at once, while its attempt is below `max_attempts`), then claims the oldest queued
    /// run whose `not_before` has passed (`running`, under `fence`). Call it only when the
    /// holder runs nothing.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn claim_next(
        &self,
        holder: &str,
        fence: Fence,
        max_attempts: i64,
    ) -> sqlx::Result<Claim> {
        let mut tx = self.begin_write().await?;
        if !lock_lease(&mut tx, holder, fence).await? {
            tx.rollback().await?;
            return Ok(Claim::LeaseLost);
        }
        let at = now();
        let stale: Vec<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM pipeline_runs WHERE status = 'running' AND fence < $1 \
             ORDER BY id"
        )))
        .bind(fence)
        .fetch_all(&mut *tx)
        .await?;
        let mut abandoned = Vec::with_capacity(stale.len());
        for run in stale {
            sqlx::query(
                "UPDATE pipeline_runs SET status = 'abandoned', error = $1, finished_at = $2 \
                 WHERE id = $3",
            )
            .bind(RUNNER_LOST)
            .bind(at)
            .bind(run.id)
            .execute(&mut *tx)
            .await?;
            if run.attempt < max_attempts {
                schedule_retry(&mut tx, &run, at).await?;
            }
            abandoned.push(run.id);
        }
        let next: Option<(RunId,)> = sqlx::query_as(
            "SELECT id FROM pipeline_runs WHERE status = 'queued' AND not_before <= $1 \
             ORDER BY id LIMIT 1",
        )
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        let run = match next {
            Some((id,)) => Some(Box::new(
                sqlx::query_as::<_, RunRow>(sqlx::AssertSqlSafe(format!(
                    "UPDATE pipeline_runs SET status = 'running', runner = $1, fence = $2, \
                     started_at = $3 WHERE id = $4 RETURNING {RUN_COLUMNS}"
                )))
                .bind(holder)
                .bind(fence)
                .bind(at)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?,
            )),
            None => None,
        };
        tx.commit().await?;
        Ok(Claim::Held { abandoned, run })
    }

    /// Records how run `id` ended, if `holder` still holds the lease with `fence` and the run
    /// is running under it; `false` (nothing written) when the fence is stale: the lease changed
    /// hands and the run is, or will be, abandoned by the new holder. A failure with `retry_at`
    /// queues its retry in the same transaction.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn finish_run(
        &self,
        id: RunId,
        holder: &str,
        fence: Fence,
        finish: &Finish,
    ) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        if !lock_lease(&mut tx, holder, fence).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let (status, report, error) = match finish {
            Finish::Published(report) => (RunStatus::Published, Some(report), None),
            Finish::Rejected(report) => (RunStatus::Rejected, Some(report), None),
            Finish::Failed { error, .. } => (RunStatus::Failed, None, Some(error.as_str())),
        };
        let run: Option<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE pipeline_runs SET status = $1, finished_at = $2, version = $3, counts = $4, \
             metrics = $5, gate = $6, error = $7 \
             WHERE id = $8 AND fence = $9 AND status = 'running' RETURNING {RUN_COLUMNS}"
        )))
        .bind(status.as_str())
        .bind(now())
        .bind(report.map(|r| r.version.as_str()))
        .bind(report.map(|r| r.counts.to_string()))
        .bind(report.map(|r| r.metrics.to_string()))
        .bind(report.and_then(|r| r.gate.as_ref()).map(|g| g.to_string()))
        .bind(error)
        .bind(id)
        .bind(fence)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(run) = run else {
            tx.rollback().await?;
            return Ok(false);
        };
        if let Finish::Failed {
            retry_at: Some(at), ..
        } = finish
        {
            schedule_retry(&mut tx, &run, *at).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Turns run `id`, published under `fence`, into a failure with `error`: its model could
    /// not be made current after all. `false` when it is not a published run of that fence.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn unpublish_run(&self, id: RunId, fence: Fence, error: &str) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE pipeline_runs SET status = 'failed', error = $1 \
             WHERE id = $2 AND fence = $3 AND status = 'published'",
        )
        .bind(error)
        .bind(id)
        .bind(fence)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Run `id`, if it exists.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn run(&self, id: RunId) -> sqlx::Result<Option<RunRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM pipeline_runs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Up to `limit` runs with ids below `before` (all when `None`), newest first.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn list_runs(
        &self,
        before: Option<RunId>,
        limit: usize,
    ) -> sqlx::Result<Vec<RunRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM pipeline_runs WHERE id < $1 ORDER BY id DESC LIMIT $2"
        )))
        .bind(before.map_or(i64::MAX, |id| id.0))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
    }
}

/// Locks the lease row inside `tx` if `holder` holds it with `fence` (a no-op update: a row
/// lock until commit on PostgreSQL; SQLite's write transaction excludes every other writer);
/// `false` when the fence is stale.
async fn lock_lease(tx: &mut Tx, holder: &str, fence: Fence) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE pipeline_lease SET expires_at = expires_at \
         WHERE name = $1 AND holder = $2 AND fence = $3",
    )
    .bind(LEASE)
    .bind(holder)
    .bind(fence)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Queues the next attempt of `failed` inside `tx`, to be claimed from `not_before` (Unix
/// seconds) on: trigger `retry`, the attempt after it, the same requester.
async fn schedule_retry(tx: &mut Tx, failed: &RunRow, not_before: i64) -> sqlx::Result<RunId> {
    let (id,): (RunId,) = sqlx::query_as(
        "INSERT INTO pipeline_runs (trigger, requested_by, attempt, retry_of, not_before, created_at) \
         VALUES ('retry', $1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(failed.requested_by)
    .bind(failed.attempt + 1)
    .bind(failed.id)
    .bind(not_before)
    .bind(now())
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_enums_round_trip() {
        for status in [
            RunStatus::Queued,
            RunStatus::Running,
            RunStatus::Published,
            RunStatus::Rejected,
            RunStatus::Failed,
            RunStatus::Abandoned,
        ] {
            assert_eq!(RunStatus::parse(status.as_str()), Some(status));
        }
        for trigger in [Trigger::Schedule, Trigger::Admin, Trigger::Retry] {
            assert_eq!(Trigger::try_from(trigger.as_str().to_owned()), Ok(trigger));
        }
        assert_eq!(
            RunStatus::try_from("done".to_owned()),
            Err("unknown RunStatus \"done\"".to_owned())
        );
    }
}
