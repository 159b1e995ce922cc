//! Reports: users report posts and users; moderators see the open ones grouped by target and
//! close every open report on a target at once, resolved (with the action taken, in the same
//! transaction, and its audit entry) or dismissed. Reporters read the outcome of theirs.

use std::collections::HashMap;

use sqlx::FromRow;

use super::changes::Position;
use super::moderation::{Acted, Audit, PostAction, Standing, StandingChange, audit};
use super::posts::placeholders;
use super::{Store, now};

/// What a report is about: a user, or one of their posts (`user` is then its author).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub user: i64,
    pub post: Option<i64>,
}

/// A row of `reports`.
#[derive(Clone, Debug, FromRow)]
pub struct ReportRow {
    pub id: i64,
    pub reporter_id: i64,
    pub target_user: i64,
    pub target_post: Option<i64>,
    pub category: String,
    pub text: String,
    pub status: String,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub outcome: String,
}

impl ReportRow {
    pub fn target(&self) -> Target {
        Target {
            user: self.target_user,
            post: self.target_post,
        }
    }
}

const REPORT_COLUMNS: &str = "id, reporter_id, target_user, target_post, category, text, status, \
                              created_at, closed_at, outcome";

/// The open (or closed) reports on one target, as the queue shows them.
#[derive(Clone, Debug)]
pub struct QueueEntry {
    pub target: Target,
    /// Reports matching the filter.
    pub reports: i64,
    /// Of those, how many per category.
    pub categories: Vec<(String, i64)>,
    pub first_at: i64,
    pub last_at: i64,
    /// The newest report's id: the queue's order and cursor.
    pub last_id: i64,
    /// The newest few reports (at most [`QUEUE_SAMPLE`]).
    pub latest: Vec<ReportRow>,
}

/// How many of a target's reports the queue shows with it.
pub const QUEUE_SAMPLE: i64 = 3;

/// Which reports the queue groups.
#[derive(Clone, Debug)]
pub struct QueueFilter {
    /// `open` (the default), `resolved` or `dismissed`.
    pub status: String,
    pub category: Option<String>,
}

/// How a moderator closes the open reports on a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to act on.
    Dismiss,
    /// Act on the reported post.
    Post(PostAction),
    /// Suspend or ban the reported user (or the reported post's author).
    Account(Standing),
}

/// What [`Store::close_reports`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    /// How many reports it closed, and the position of the action's change record (none for a
    /// dismissal).
    Done {
        reports: u64,
        position: Option<Position>,
    },
    /// No open report on the target.
    NothingOpen,
    /// The action does not apply (a post action on a user report, a post already hidden or
    /// gone).
    NotApplicable,
    /// The action was refused (the target is the last admin).
    Refused(StandingChange),
}

impl Store {
    /// Files a report by `reporter`; `None` when the reporter has an open report on that
    /// target already.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn file_report(
        &self,
        reporter: i64,
        target: Target,
        category: &str,
        text: &str,
    ) -> sqlx::Result<Option<ReportRow>> {
        let sql = format!(
            "INSERT INTO reports (reporter_id, target_user, target_post, category, text, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING {REPORT_COLUMNS}"
        );
        sqlx::query_as::<_, ReportRow>(sqlx::AssertSqlSafe(sql))
            .bind(reporter)
            .bind(target.user)
            .bind(target.post)
            .bind(category)
            .bind(text)
            .bind(now())
            .fetch_optional(&self.pool)
            .await
    }

    /// `reporter`'s reports, newest first, with ids below `before`.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn reports_by(
        &self,
        reporter: i64,
        before: Option<i64>,
        limit: usize,
    ) -> sqlx::Result<Vec<ReportRow>> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE reporter_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        );
        sqlx::query_as::<_, ReportRow>(sqlx::AssertSqlSafe(sql))
            .bind(reporter)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
    }

    /// The queue: reports matching `filter` grouped by target, the target with the newest
    /// report first, with newest report ids below `before`.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn report_queue(
        &self,
        filter: &QueueFilter,
        before: Option<i64>,
        limit: usize,
    ) -> sqlx::Result<Vec<QueueEntry>> {
        const MATCHING: &str = "status = $1 AND ($2 IS NULL OR category = $2)";
        let groups: Vec<(i64, Option<i64>, i64, i64, i64, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT target_user, target_post, COUNT(*), MIN(created_at), MAX(created_at), \
                 MAX(id) FROM reports WHERE {MATCHING} GROUP BY target_user, target_post \
                 HAVING MAX(id) < $3 ORDER BY MAX(id) DESC LIMIT $4"
            )))
            .bind(&filter.status)
            .bind(filter.category.as_deref())
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        // The categories and newest reports of the page's targets, by their users (a few
        // rows more than needed at most: a user's other reported posts).
        let mut users: Vec<i64> = groups.iter().map(|g| g.0).collect();
        users.sort_unstable();
        users.dedup();
        let in_users = placeholders(3, users.len());
        let mut counts =
            sqlx::query_as::<_, (i64, Option<i64>, String, i64)>(sqlx::AssertSqlSafe(format!(
                "SELECT target_user, target_post, category, COUNT(*) FROM reports \
                 WHERE {MATCHING} AND target_user IN ({in_users}) \
                 GROUP BY target_user, target_post, category ORDER BY COUNT(*) DESC, category"
            )))
            .bind(&filter.status)
            .bind(filter.category.as_deref());
        let sample_at = 3 + users.len();
        let mut latest = sqlx::query_as::<_, ReportRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {REPORT_COLUMNS} FROM (SELECT r.*, ROW_NUMBER() OVER \
             (PARTITION BY target_user, target_post ORDER BY id DESC) AS nth FROM reports r \
             WHERE {MATCHING} AND target_user IN ({in_users})) AS ranked \
             WHERE nth <= ${sample_at} ORDER BY id DESC"
        )))
        .bind(&filter.status)
        .bind(filter.category.as_deref());
        for &user in &users {
            counts = counts.bind(user);
            latest = latest.bind(user);
        }
        let mut categories: HashMap<Target, Vec<(String, i64)>> = HashMap::new();
        for (user, post, category, n) in counts.fetch_all(&self.pool).await? {
            categories
                .entry(Target { user, post })
                .or_default()
                .push((category, n));
        }
        let mut samples: HashMap<Target, Vec<ReportRow>> = HashMap::new();
        for row in latest.bind(QUEUE_SAMPLE).fetch_all(&self.pool).await? {
            samples.entry(row.target()).or_default().push(row);
        }
        Ok(groups
            .into_iter()
            .map(|(user, post, reports, first_at, last_at, last_id)| {
                let target = Target { user, post };
                QueueEntry {
                    target,
                    reports,
                    categories: categories.remove(&target).unwrap_or_default(),
                    first_at,
                    last_at,
                    last_id,
                    latest: samples.remove(&target).unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Closes every open report on `target` with `decision`, taken by `actor` with `reason`:
    /// the action (hiding or removing the post, suspending or banning the account), its audit
    /// entry, the reports' new status and their link to that entry, and the action's change
    /// record, in one transaction. A dismissal writes an audit entry too.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn close_reports(
        &self,
        actor: i64,
        target: Target,
        decision: Decision,
        reason: &str,
    ) -> sqlx::Result<Closed> {
        let mut tx = self.begin_write().await?;
        let open: (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM reports WHERE status = 'open' AND target_user = $1 \
             AND COALESCE(target_post, 0) = $2",
        )
        .bind(target.user)
        .bind(target.post.unwrap_or(0))
        .fetch_one(&mut *tx)
        .await?;
        if open.0 == 0 {
            tx.rollback().await?;
            return Ok(Closed::NothingOpen);
        }
        let acted: Option<Acted> = match decision {
            Decision::Dismiss => None,
            Decision::Post(action) => {
                let Some(post) = target.post else {
                    tx.rollback().await?;
                    return Ok(Closed::NotApplicable);
                };
                match self
                    .post_action_in(&mut tx, actor, post, action, reason)
                    .await?
                {
                    Some(done) => Some(done),
                    None => {
                        tx.rollback().await?;
                        return Ok(Closed::NotApplicable);
                    }
                }
            }
            Decision::Account(standing) => {
                match self
                    .standing_in(&mut tx, Some(actor), target.user, standing, reason)
                    .await?
                {
                    Ok(done) => Some(done),
                    Err(refused) => {
                        tx.rollback().await?;
                        return Ok(Closed::Refused(refused));
                    }
                }
            }
        };
        let (status, outcome, audit_id) = match &acted {
            Some(done) => ("resolved", done.action, done.audit_id),
            None => {
                let id = audit(
                    &mut tx,
                    &Audit {
                        actor: Some(actor),
                        action: "reports_dismissed",
                        target_user: Some(target.user),
                        target_post: target.post,
                        reason,
                        details: serde_json::json!({ "reports": open.0 }),
                    },
                )
                .await?;
                ("dismissed", "no_action", id)
            }
        };
        let closed = sqlx::query(
            "UPDATE reports SET status = $1, outcome = $2, audit_id = $3, closed_at = $4, \
             closed_by = $5 WHERE status = 'open' AND target_user = $6 \
             AND COALESCE(target_post, 0) = $7",
        )
        .bind(status)
        .bind(outcome)
        .bind(audit_id)
        .bind(now())
        .bind(actor)
        .bind(target.user)
        .bind(target.post.unwrap_or(0))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let position = match acted {
            Some(done) => Some(self.commit_with(tx, &done.change).await?),
            None => {
                tx.commit().await?;
                None
            }
        };
        Ok(Closed::Done {
            reports: closed,
            position,
        })
    }
}
