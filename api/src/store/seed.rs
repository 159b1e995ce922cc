//! Fills an empty database with a generated social network (the quickstart's demo data).

use std::collections::HashMap;

use datasets::synthetic::{EventKind, SocialNetwork};

use super::posts::placeholders;
use super::{Store, now};

/// Rows per multi-row `INSERT` (4 columns × 500 stays far below both backends' bind limits).
const BATCH: usize = 500;

/// What [`Store::seed`] inserted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeedCounts {
    pub users: usize,
    pub follows: usize,
    pub posts: usize,
    pub likes: usize,
    pub comments: usize,
    pub views: usize,
}

impl Store {
    /// Whether the database has no users yet.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn is_empty(&self) -> sqlx::Result<bool> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(n == 0)
    }

    /// Inserts `net` in one transaction. Generated users get no password (password login is
    /// disabled for them), except user 0, who becomes `demo_handle` with `demo_password_hash`
    /// and role `creator`. Times are shifted so that the network's last event is now.
    ///
    /// # Errors
    ///
    /// The database error; nothing is inserted then.
    pub async fn seed(
        &self,
        net: &SocialNetwork,
        demo_handle: &str,
        demo_password_hash: &str,
    ) -> Result<SeedCounts, crate::Error> {
        let shift = now() - net.config.end_timestamp;
        let mut counts = SeedCounts::default();
        let mut tx = self.pool.begin().await?;
        let mut user_ids: HashMap<u32, i64> = HashMap::with_capacity(net.users.len());
        for user in &net.users {
            let (handle, hash, role) = if user.id == 0 {
                (demo_handle.to_owned(), demo_password_hash, "creator")
            } else {
                (user.handle.to_lowercase(), "", "user")
            };
            let at = user.joined_at + shift;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO users (handle, display_name, password_hash, role, created_at, \
                 updated_at, handle_skeleton) VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id",
            )
            .bind(&handle)
            .bind(&user.handle)
            .bind(hash)
            .bind(role)
            .bind(at)
            .bind(super::users::skeleton(&handle))
            .fetch_one(&mut *tx)
            .await?;
            user_ids.insert(user.id, id);
            counts.users += 1;
        }
        let uid = |u: u32| {
            user_ids
                .get(&u)
                .copied()
                .ok_or(crate::Error::SeedReference("user"))
        };
        let mut post_ids: HashMap<u32, i64> = HashMap::with_capacity(net.posts.len());
        for post in &net.posts {
            let topics: Vec<&str> = post
                .topics
                .iter()
                .filter_map(|&t| net.topic_names.get(t as usize).map(String::as_str))
                .collect();
            let at = post.created_at + shift;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO posts (author_id, text, topics, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) RETURNING id",
            )
            .bind(uid(post.author)?)
            .bind(&post.text)
            .bind(topics.join(" ").to_lowercase())
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            post_ids.insert(post.id, id);
            counts.posts += 1;
        }
        let pid = |p: u32| {
            post_ids
                .get(&p)
                .copied()
                .ok_or(crate::Error::SeedReference("post"))
        };

        let mut follows = Vec::with_capacity(net.follows.len());
        for f in &net.follows {
            follows.push([uid(f.follower)?, uid(f.followee)?, now()]);
        }
        counts.follows = insert_rows(
            &mut tx,
            "follows (follower_id, followee_id, created_at)",
            &follows,
        )
        .await?;

        let (mut views, mut likes, mut comments) = (HashMap::new(), HashMap::new(), Vec::new());
        for event in &net.interactions {
            let key = (uid(event.user)?, pid(event.post)?);
            let at = event.timestamp + shift;
            match event.kind {
                EventKind::View => {
                    views.entry(key).or_insert(at);
                }
                EventKind::Like => {
                    likes.entry(key).or_insert(at);
                }
                EventKind::Comment => comments.push([key.1, key.0, at]),
            }
        }
        let mut views: Vec<[i64; 3]> = views.into_iter().map(|((u, p), at)| [u, p, at]).collect();
        views.sort_unstable();
        let mut likes: Vec<[i64; 3]> = likes.into_iter().map(|((u, p), at)| [u, p, at]).collect();
        likes.sort_unstable();
        counts.views = insert_rows(&mut tx, "views (user_id, post_id, created_at)", &views).await?;
        counts.likes = insert_rows(&mut tx, "likes (user_id, post_id, created_at)", &likes).await?;
        // Comment texts are not generated; a short fixed line keeps the demo readable.
        for chunk in comments.chunks(BATCH) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("({}, 'Nice one!')", placeholders(i * 3 + 1, 3)))
                .collect();
            let sql = format!(
                "INSERT INTO comments (post_id, author_id, created_at, text) VALUES {}",
                values.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                query = query.bind(row[0]).bind(row[1]).bind(row[2]);
            }
            query.execute(&mut *tx).await?;
            counts.comments += chunk.len();
        }
        tx.commit().await?;
        // What autovacuum would do some time after a bulk load, at once: planner statistics
        // (without them PostgreSQL estimates every full-text match at a couple of rows and
        // seq-scans) and the visibility map (like and comment counts become index-only
        // scans: a page of 20 posts took 0.8 ms instead of 2.9). SQLite's plans for these
        // statements are the same with or without `ANALYZE`.
        if self.backend == super::Backend::Postgres {
            sqlx::query("VACUUM ANALYZE").execute(&self.pool).await?;
        }
        Ok(counts)
    }
}

/// Inserts `rows` of three BIGINT columns into `table (columns)`, ignoring duplicates.
async fn insert_rows(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: &str,
    rows: &[[i64; 3]],
) -> sqlx::Result<usize> {
    let mut inserted = 0;
    for chunk in rows.chunks(BATCH) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", placeholders(i * 3 + 1, 3)))
            .collect();
        let sql = format!(
            "INSERT INTO {table} VALUES {} ON CONFLICT DO NOTHING",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            query = query.bind(row[0]).bind(row[1]).bind(row[2]);
        }
        inserted += query.execute(&mut **tx).await?.rows_affected() as usize;
    }
    Ok(inserted)
}
