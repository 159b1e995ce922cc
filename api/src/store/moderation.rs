//! Moderation: an account's standing (active, suspended until a time, banned), the admin's list
//! of accounts, and the append-only audit log every moderation and admin action writes in its
//! own transaction.

use sqlx::FromRow;

use super::changes::{Position, Tx};
use super::users::{USER_COLUMNS_U, UserRow};
use super::{Backend, Store, now};
use crate::changes::record::{Change, PostRecord};

/// An account's standing. A suspension ends at its time by itself (no write); a ban lasts
/// until lifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Active,
    /// Until `until`, Unix seconds (exclusive).
    Suspended {
        until: i64,
    },
    Banned,
}

impl Standing {
    /// Reads the stored `status` and `suspended_until`; unknown statuses are active (the
    /// column's check constraint allows none).
    pub fn parse(status: &str, suspended_until: Option<i64>) -> Self {
        match (status, suspended_until) {
            ("banned", _) => Self::Banned,
            ("suspended", Some(until)) => Self::Suspended { until },
            _ => Self::Active,
        }
    }

    /// The stored `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended { .. } => "suspended",
            Self::Banned => "banned",
        }
    }

    /// Until when the account is restricted (`i64::MAX` for a ban), `None` when active: what
    /// the change record `restricted` carries and the engine withholds the author's posts
    /// until.
    pub fn until(self) -> Option<i64> {
        match self {
            Self::Active => None,
            Self::Suspended { until } => Some(until),
            Self::Banned => Some(i64::MAX),
        }
    }

    /// The standing in force at `now`: a suspension whose time is up is active.
    pub fn at(self, now: i64) -> Self {
        match self {
            Self::Suspended { until } if until <= now => Self::Active,
            other => other,
        }
    }
}

/// One audit-log entry to write.
#[derive(Clone, Debug)]
pub struct Audit<'a> {
    /// `None`: the command line.
    pub actor: Option<i64>,
    /// What was done, snake_case (`role_changed`, `suspended`, `banned`, `reinstated`,
    /// `post_hidden`, `post_restored`, `post_removed`, `report_dismissed`, `model_reloaded`,
    /// `model_current_set`, `model_pinned`, `model_unpinned`, `admin_created`).
    pub action: &'static str,
    pub target_user: Option<i64>,
    pub target_post: Option<i64>,
    pub reason: &'a str,
    /// Action-specific facts (a JSON object: the role before and after, a suspension's end).
    pub details: serde_json::Value,
}

/// A row of `audit_log`.
#[derive(Clone, Debug, FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub action: String,
    pub target_user: Option<i64>,
    pub target_post: Option<i64>,
    pub reason: String,
    pub details: String,
}

/// Which accounts [`Store::list_users`] lists.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    /// Handles starting with this (lowercase).
    pub handle_prefix: Option<String>,
    pub role: Option<String>,
    /// A stored status; `suspended` lists suspensions still in force only.
    pub status: Option<String>,
}

/// Which entries [`Store::audit_entries`] lists.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<i64>,
    pub target_user: Option<i64>,
    pub action: Option<String>,
}

/// What a moderator can do to a post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostAction {
    /// Out of every list and unreadable but to its author and moderators, until restored.
    Hide,
    Restore,
    /// Deleted for good (as by its author).
    Remove,
}

impl PostAction {
    /// The audit log's action.
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::Hide => "post_hidden",
            Self::Restore => "post_restored",
            Self::Remove => "post_removed",
        }
    }
}

/// A moderation action written inside a transaction, whose change record is still to append.
#[derive(Clone, Debug)]
pub struct Acted {
    /// Its audit entry.
    pub audit_id: i64,
    /// The audit log's action (`suspended`, `post_hidden`, ...).
    pub action: &'static str,
    pub change: Change,
}

/// What [`Store::set_standing`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StandingChange {
    Changed(Position),
    NoSuchUser,
    /// The user is the only admin in good standing: nobody would be left to lift it.
    LastAdmin,
}

/// Appends `entry` inside `tx`; returns its id.
pub(crate) async fn audit(tx: &mut Tx, entry: &Audit<'_>) -> sqlx::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO audit_log (at, actor_id, action, target_user, target_post, reason, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(now())
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.target_user)
    .bind(entry.target_post)
    .bind(entry.reason)
    .bind(entry.details.to_string())
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Whether an admin other than `user` is in good standing at `now`. On PostgreSQL every
/// admin's row is locked first, so two admins demoting or banning each other at once cannot
/// both succeed (SQLite's writer is alone already).
pub(crate) async fn another_admin(
    tx: &mut Tx,
    backend: Backend,
    user: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let sql = match backend {
        Backend::Postgres => {
            "SELECT id, status, suspended_until FROM users WHERE role = 'admin' FOR UPDATE"
        }
        Backend::Sqlite => "SELECT id, status, suspended_until FROM users WHERE role = 'admin'",
    };
    let admins: Vec<(i64, String, Option<i64>)> = sqlx::query_as(sql).fetch_all(&mut **tx).await?;
    Ok(admins.iter().any(|(id, status, until)| {
        *id != user && Standing::parse(status, *until).at(now) == Standing::Active
    }))
}

impl Store {
    /// Suspends, bans or reinstates `user` with `reason`, in one transaction with its audit
    /// entry and its change record (`restricted`: every replica refuses the account's
    /// requests and withholds its posts, or lets them back). The last admin in good standing
    /// cannot be suspended or banned.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn set_standing(
        &self,
        actor: Option<i64>,
        user: i64,
        standing: Standing,
        reason: &str,
    ) -> sqlx::Result<StandingChange> {
        let mut tx = self.begin_write().await?;
        match self
            .standing_in(&mut tx, actor, user, standing, reason)
            .await?
        {
            Ok(done) => Ok(StandingChange::Changed(
                self.commit_with(tx, &done.change).await?,
            )),
            Err(refused) => {
                tx.rollback().await?;
                Ok(refused)
            }
        }
    }

    /// [`set_standing`](Self::set_standing) inside `tx`: the change record is the caller's
    /// to append. `Err` (never `Changed`) when refused; `tx` is then unchanged.
    pub(crate) async fn standing_in(
        &self,
        tx: &mut Tx,
        actor: Option<i64>,
        user: i64,
        standing: Standing,
        reason: &str,
    ) -> sqlx::Result<Result<Acted, StandingChange>> {
        let at = now();
        let row: Option<(String, String, Option<i64>)> =
            sqlx::query_as("SELECT role, status, suspended_until FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(&mut **tx)
                .await?;
        let Some((role, status, until)) = row else {
            return Ok(Err(StandingChange::NoSuchUser));
        };
        if standing != Standing::Active
            && role == "admin"
            && !another_admin(tx, self.backend, user, at).await?
        {
            return Ok(Err(StandingChange::LastAdmin));
        }
        sqlx::query(
            "UPDATE users SET status = $1, suspended_until = $2, status_reason = $3, \
             updated_at = $4 WHERE id = $5",
        )
        .bind(standing.as_str())
        .bind(match standing {
            Standing::Suspended { until } => Some(until),
            _ => None,
        })
        .bind(reason)
        .bind(at)
        .bind(user)
        .execute(&mut **tx)
        .await?;
        let before = Standing::parse(&status, until);
        let (action, details) = match standing {
            Standing::Active => (
                "reinstated",
                serde_json::json!({ "was": before.at(at).as_str() }),
            ),
            Standing::Suspended { until } => ("suspended", serde_json::json!({ "until": until })),
            Standing::Banned => ("banned", serde_json::json!({})),
        };
        let audit_id = audit(
            tx,
            &Audit {
                actor,
                action,
                target_user: Some(user),
                target_post: None,
                reason,
                details,
            },
        )
        .await?;
        Ok(Ok(Acted {
            audit_id,
            action,
            change: Change::Restricted {
                user,
                until: standing.until(),
            },
        }))
    }

    /// Hides, restores or removes `post` with `reason`, in one transaction with its audit
    /// entry and its change record (a hidden or removed post leaves every list on every
    /// replica; a restored one comes back). `None` when there is no such post, or it is
    /// deleted, or the action does not apply (hiding a hidden post, restoring a visible one).
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn moderate_post(
        &self,
        actor: i64,
        post: i64,
        action: PostAction,
        reason: &str,
    ) -> sqlx::Result<Option<Position>> {
        let mut tx = self.begin_write().await?;
        match self
            .post_action_in(&mut tx, actor, post, action, reason)
            .await?
        {
            Some(done) => Ok(Some(self.commit_with(tx, &done.change).await?)),
            None => {
                tx.rollback().await?;
                Ok(None)
            }
        }
    }

    /// [`moderate_post`](Self::moderate_post) inside `tx`: the change record is the caller's
    /// to append.
    pub(crate) async fn post_action_in(
        &self,
        tx: &mut Tx,
        actor: i64,
        post: i64,
        action: PostAction,
        reason: &str,
    ) -> sqlx::Result<Option<Acted>> {
        let at = now();
        let query = match action {
            PostAction::Hide => sqlx::query(
                "UPDATE posts SET hidden_at = $1, hidden_reason = $2 \
                 WHERE id = $3 AND deleted_at IS NULL AND hidden_at IS NULL",
            )
            .bind(at)
            .bind(reason),
            PostAction::Restore => sqlx::query(
                "UPDATE posts SET hidden_at = NULL, hidden_reason = '' \
                 WHERE id = $1 AND deleted_at IS NULL AND hidden_at IS NOT NULL",
            ),
            PostAction::Remove => {
                sqlx::query("UPDATE posts SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
                    .bind(at)
            }
        };
        let done = query.bind(post).execute(&mut **tx).await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let (author, created_at, text, topics): (i64, i64, String, String) =
            sqlx::query_as("SELECT author_id, created_at, text, topics FROM posts WHERE id = $1")
                .bind(post)
                .fetch_one(&mut **tx)
                .await?;
        let audit_id = audit(
            tx,
            &Audit {
                actor: Some(actor),
                action: action.audit_action(),
                target_user: Some(author),
                target_post: Some(post),
                reason,
                details: serde_json::json!({}),
            },
        )
        .await?;
        let change = match action {
            PostAction::Hide => Change::PostHidden { post, author },
            PostAction::Remove => Change::PostDeleted { post, author },
            PostAction::Restore => Change::PostRestored(PostRecord {
                post,
                author,
                created_at,
                topics: topics.split_whitespace().map(str::to_owned).collect(),
                text,
            }),
        };
        Ok(Some(Acted {
            audit_id,
            action: action.audit_action(),
            change,
        }))
    }

    /// Appends one audit entry on its own (an action with no other write, such as a model
    /// reload).
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn record_audit(&self, entry: &Audit<'_>) -> sqlx::Result<()> {
        let mut tx = self.pool.begin().await?;
        audit(&mut tx, entry).await?;
        tx.commit().await
    }

    /// Records that `actor` (`None`: the scheduler) pointed the models' `current` at `version`
    /// (audited, with the version it replaced) and appends the `model_current` change every
    /// replica reloads on, in one transaction; returns its position.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn record_model_current(
        &self,
        actor: Option<i64>,
        version: &str,
        previous: Option<&str>,
        reason: &str,
    ) -> sqlx::Result<Position> {
        let mut tx = self.begin_write().await?;
        audit(
            &mut tx,
            &Audit {
                actor,
                action: "model_current_set",
                target_user: None,
                target_post: None,
                reason,
                details: serde_json::json!({ "version": version, "previous": previous }),
            },
        )
        .await?;
        self.commit_with(
            tx,
            &Change::ModelCurrent {
                version: version.to_owned(),
            },
        )
        .await
    }

    /// Accounts matching `filter`, newest first, with ids below `before` (a keyset cursor).
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn list_users(
        &self,
        filter: &UserFilter,
        before: Option<i64>,
        limit: usize,
    ) -> sqlx::Result<Vec<UserRow>> {
        // One statement whatever the filter (an absent one is NULL); a suspension whose time
        // is up counts as active.
        let sql = format!(
            "SELECT {USER_COLUMNS_U} FROM users u WHERE u.id < $1 \
             AND ($2 IS NULL OR u.handle LIKE $2 ESCAPE '\\') \
             AND ($3 IS NULL OR u.role = $3) \
             AND ($4 IS NULL OR (CASE WHEN u.status = 'suspended' AND u.suspended_until <= $5 \
                                 THEN 'active' ELSE u.status END) = $4) \
             ORDER BY u.id DESC LIMIT $6"
        );
        let prefix = filter.handle_prefix.as_deref().map(|p| {
            let escaped: String = p
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            format!("{escaped}%")
        });
        sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql))
            .bind(before.unwrap_or(i64::MAX))
            .bind(prefix)
            .bind(filter.role.as_deref())
            .bind(filter.status.as_deref())
            .bind(now())
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
    }

    /// Audit entries matching `filter`, newest first, with ids below `before`.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn audit_entries(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: usize,
    ) -> sqlx::Result<Vec<AuditRow>> {
        let sql = "SELECT id, at, actor_id, action, target_user, target_post, reason, details \
                   FROM audit_log WHERE id < $1 AND ($2 IS NULL OR actor_id = $2) \
                   AND ($3 IS NULL OR target_user = $3) AND ($4 IS NULL OR action = $4) \
                   ORDER BY id DESC LIMIT $5";
        sqlx::query_as::<_, AuditRow>(sql)
            .bind(before.unwrap_or(i64::MAX))
            .bind(filter.actor)
            .bind(filter.target_user)
            .bind(filter.action.as_deref())
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
    }
}

impl Store {
    /// Creates an admin account (`social-live admin create`), with its audit entry (no actor:
    /// the command line) in the same transaction. `None` when the handle is taken.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn create_admin(
        &self,
        handle: &str,
        password_hash: &str,
    ) -> sqlx::Result<Option<UserRow>> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let created: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO users (handle, display_name, password_hash, role, created_at, updated_at, \
             handle_skeleton) VALUES ($1, $1, $2, 'admin', $3, $3, $4) \
             ON CONFLICT (handle) DO NOTHING RETURNING id",
        )
        .bind(handle)
        .bind(password_hash)
        .bind(at)
        .bind(super::users::skeleton(handle))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id,)) = created else {
            tx.rollback().await?;
            return Ok(None);
        };
        audit(
            &mut tx,
            &Audit {
                actor: None,
                action: "admin_created",
                target_user: Some(id),
                target_post: None,
                reason: "social-live admin create",
                details: serde_json::json!({ "handle": handle }),
            },
        )
        .await?;
        tx.commit().await?;
        self.user_by_id(id).await
    }
}
