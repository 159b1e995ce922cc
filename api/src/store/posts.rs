//! Posts, likes, comments and views.

use std::collections::HashMap;

use sqlx::FromRow;

use super::changes::Position;
use super::social::Across;
use super::{Store, now};
use crate::changes::record::{Change, PostRecord};

/// A post with its author's handle and its counters.
#[derive(Clone, Debug, FromRow)]
pub struct PostRow {
    pub id: i64,
    pub author_id: i64,
    pub author_handle: String,
    pub text: String,
    pub topics: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    /// When a moderator hid it (it is then out of every list until restored).
    pub hidden_at: Option<i64>,
    pub hidden_reason: String,
    pub like_count: i64,
    pub comment_count: i64,
}

impl PostRow {
    /// The topic labels.
    pub fn topic_list(&self) -> Vec<String> {
        self.topics.split_whitespace().map(str::to_owned).collect()
    }
}

/// A comment with its author's handle.
#[derive(Clone, Debug, FromRow)]
pub struct CommentRow {
    pub id: i64,
    pub post_id: i64,
    pub author_id: i64,
    pub author_handle: String,
    pub text: String,
    pub created_at: i64,
}

/// The columns of a [`PostRow`] over `posts p`. The author's handle and the counts are
/// correlated subqueries, so every statement reads them for its result rows only, whatever
/// plan the database picks for the rest (PostgreSQL, with statistics, hash-joined all of
/// `users` to fetch 20 handles: 2.9 ms instead of well under one).
macro_rules! post_columns {
    () => {
        "p.id, p.author_id, \
         (SELECT u.handle FROM users u WHERE u.id = p.author_id) AS author_handle, \
         p.text, p.topics, \
         p.created_at, p.updated_at, p.deleted_at, p.hidden_at, p.hidden_reason, \
         (SELECT COUNT(*) FROM likes l WHERE l.post_id = p.id) AS like_count, \
         (SELECT COUNT(*) FROM comments c WHERE c.post_id = p.id) AS comment_count"
    };
}
pub(crate) use post_columns;

const POST_SELECT: &str = concat!("SELECT ", post_columns!(), " FROM posts p");

/// `$first, $first+1, …` for `n` values.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Creates a post; returns it and the position of its change record.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn create_post(
        &self,
        author: i64,
        text: &str,
        topics: &str,
    ) -> sqlx::Result<(PostRow, Position)> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO posts (author_id, text, topics, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(author)
        .bind(text)
        .bind(topics)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        let record = PostRecord {
            post: id,
            author,
            created_at: at,
            topics: topics.split_whitespace().map(str::to_owned).collect(),
            text: text.to_owned(),
        };
        let position = self.commit_with(tx, &Change::PostCreated(record)).await?;
        let row = self.post(id).await?.ok_or(sqlx::Error::RowNotFound)?;
        Ok((row, position))
    }

    /// A post, deleted or not (`None` when it never existed).
    pub async fn post(&self, id: i64) -> sqlx::Result<Option<PostRow>> {
        sqlx::query_as::<_, PostRow>(sqlx::AssertSqlSafe(format!(
            "{POST_SELECT} WHERE p.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    /// The live posts among `ids` (neither deleted nor hidden), by id.
    pub async fn posts_by_ids(&self, ids: &[i64]) -> sqlx::Result<HashMap<i64, PostRow>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "{POST_SELECT} WHERE p.deleted_at IS NULL AND p.hidden_at IS NULL AND p.id IN ({})",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query_as::<_, PostRow>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }

    /// Replaces a live post's text and topics; `None` when it is deleted, hidden or unknown.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn update_post(
        &self,
        id: i64,
        text: &str,
        topics: &str,
    ) -> sqlx::Result<Option<Position>> {
        let mut tx = self.begin_write().await?;
        let row: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE posts SET text = $1, topics = $2, updated_at = $3 \
             WHERE id = $4 AND deleted_at IS NULL AND hidden_at IS NULL \
             RETURNING author_id, created_at",
        )
        .bind(text)
        .bind(topics)
        .bind(now())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((author, created_at)) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let record = PostRecord {
            post: id,
            author,
            created_at,
            topics: topics.split_whitespace().map(str::to_owned).collect(),
            text: text.to_owned(),
        };
        let position = self.commit_with(tx, &Change::PostEdited(record)).await?;
        Ok(Some(position))
    }

    /// Soft-deletes a post (its rows stay for audit); `None` if it was already deleted.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn delete_post(&self, id: i64) -> sqlx::Result<Option<Position>> {
        let mut tx = self.begin_write().await?;
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE posts SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL \
             RETURNING author_id",
        )
        .bind(now())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((author,)) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let position = self
            .commit_with(tx, &Change::PostDeleted { post: id, author })
            .await?;
        Ok(Some(position))
    }

    /// Live posts of `author` (neither deleted nor hidden) with id below `before`, newest
    /// first.
    pub async fn posts_by_author(
        &self,
        author: i64,
        before: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<PostRow>> {
        sqlx::query_as::<_, PostRow>(sqlx::AssertSqlSafe(format!(
            "{POST_SELECT} WHERE p.author_id = $1 AND p.deleted_at IS NULL AND p.hidden_at IS NULL AND p.id < $2 \
             ORDER BY p.id DESC LIMIT $3"
        )))
        .bind(author)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// `user` likes `post`, written by `author`; `Done(None)` when it already did.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn like(
        &self,
        user: i64,
        post: i64,
        author: i64,
    ) -> sqlx::Result<Across<Option<Position>>> {
        let at = now();
        let mut tx = match self.begin_write_across(user, author).await? {
            Ok(tx) => tx,
            Err(blocker) => return Ok(Across::Blocked { blocker }),
        };
        let done = sqlx::query(
            "INSERT INTO likes (user_id, post_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, post_id) DO NOTHING",
        )
        .bind(user)
        .bind(post)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Across::Done(None));
        }
        let position = self
            .commit_with(tx, &Change::Liked { user, post, at })
            .await?;
        Ok(Across::Done(Some(position)))
    }

    /// `user` takes back a like; `None` when there was none.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn unlike(&self, user: i64, post: i64) -> sqlx::Result<Option<Position>> {
        let mut tx = self.begin_write().await?;
        let liked: Option<(i64,)> = sqlx::query_as(
            "DELETE FROM likes WHERE user_id = $1 AND post_id = $2 RETURNING created_at",
        )
        .bind(user)
        .bind(post)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((liked_at,)) = liked else {
            tx.rollback().await?;
            return Ok(None);
        };
        let position = self
            .commit_with(
                tx,
                &Change::Unliked {
                    user,
                    post,
                    liked_at,
                },
            )
            .await?;
        Ok(Some(position))
    }

    /// Adds `author`'s comment to `post`, written by `post_author`; returns it and the
    /// position of its change record.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn add_comment(
        &self,
        post: i64,
        post_author: i64,
        author: i64,
        text: &str,
    ) -> sqlx::Result<Across<(CommentRow, Position)>> {
        let at = now();
        let mut tx = match self.begin_write_across(author, post_author).await? {
            Ok(tx) => tx,
            Err(blocker) => return Ok(Across::Blocked { blocker }),
        };
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO comments (post_id, author_id, text, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(post)
        .bind(author)
        .bind(text)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        let change = Change::Commented {
            user: author,
            post,
            comment: id,
            at,
        };
        let position = self.commit_with(tx, &change).await?;
        let row = sqlx::query_as::<_, CommentRow>(
            "SELECT c.id, c.post_id, c.author_id, u.handle AS author_handle, c.text, c.created_at \
             FROM comments c JOIN users u ON u.id = c.author_id WHERE c.id = $1",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Across::Done((row, position)))
    }

    /// Comments of `post` with id above `after`, oldest first (conversation order).
    pub async fn comments(
        &self,
        post: i64,
        after: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<CommentRow>> {
        sqlx::query_as::<_, CommentRow>(
            "SELECT c.id, c.post_id, c.author_id, u.handle AS author_handle, c.text, c.created_at \
             FROM comments c JOIN users u ON u.id = c.author_id \
             WHERE c.post_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3",
        )
        .bind(post)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Records impressions of `posts` by `user` in one transaction; returns how many were
    /// recorded, the posts seen for the first time (repeats only bump the counter) and the
    /// position of the change record (`None` when nothing was seen for the first time). Unknown
    /// or deleted posts are skipped.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn record_views(
        &self,
        user: i64,
        posts: &[i64],
    ) -> sqlx::Result<(usize, Vec<i64>, Option<Position>)> {
        let live = self.posts_by_ids(posts).await?;
        let at = now();
        let mut first = Vec::new();
        let mut recorded = 0;
        let mut tx = self.begin_write().await?;
        for &post in posts {
            if !live.contains_key(&post) {
                continue;
            }
            recorded += 1;
            let done = sqlx::query(
                "INSERT INTO views (user_id, post_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, post_id) DO NOTHING",
            )
            .bind(user)
            .bind(post)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                first.push(post);
            } else {
                sqlx::query(
                    "UPDATE views SET views = views + 1 WHERE user_id = $1 AND post_id = $2",
                )
                .bind(user)
                .bind(post)
                .execute(&mut *tx)
                .await?;
            }
        }
        let position = if first.is_empty() {
            None
        } else {
            let change = Change::Viewed {
                user,
                posts: first.clone(),
                at,
            };
            Some(self.append(&mut tx, &change).await?)
        };
        tx.commit().await?;
        Ok((recorded, first, position))
    }
}
