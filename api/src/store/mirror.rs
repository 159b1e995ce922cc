//! Loads the social graph the engine reads ([`engine::InMemoryGraph`]) from the store.
//!
//! The engine asks its graph a few questions per feed request, so the API keeps the graph in
//! memory: loaded once here at start, then kept in step by every write handler (see
//! `crate::live`). The database stays the source of truth; this is a read model of it.

use engine::{InMemoryGraph, InteractionKind, PostMeta};
use futures_util::TryStreamExt as _;

use super::Store;

/// Counts of what was loaded, for the start-up log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MirrorCounts {
    pub posts: usize,
    pub follows: usize,
    pub hides: usize,
    pub interactions: usize,
}

/// `id, author_id, topics, text, created_at` of a live post: what the engine knows of it.
type MetaRow = (i64, i64, String, String, i64);

/// The columns of [`MetaRow`], from `posts`.
const META_SELECT: &str =
    "SELECT id, author_id, topics, text, created_at FROM posts WHERE deleted_at IS NULL";

fn live_meta((id, author, topics, text, created_at): MetaRow) -> PostMeta {
    PostMeta {
        id: id.to_string(),
        author: author.to_string(),
        created_at,
        deleted: false,
        topics: topics.split_whitespace().map(str::to_owned).collect(),
        text,
    }
}

impl Store {
    /// Reads follows, blocks and mutes, live posts, likes, comments and views into `graph`.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn load_graph(&self, graph: &InMemoryGraph) -> sqlx::Result<MirrorCounts> {
        let mut counts = MirrorCounts::default();
        let mut rows = sqlx::query_as::<_, MetaRow>(META_SELECT).fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            graph.add_post(live_meta(row));
            counts.posts += 1;
        }
        drop(rows);
        let mut rows =
            sqlx::query_as::<_, (i64, i64)>("SELECT follower_id, followee_id FROM follows")
                .fetch(&self.pool);
        while let Some((follower, followee)) = rows.try_next().await? {
            graph.follow(&follower.to_string(), &followee.to_string());
            counts.follows += 1;
        }
        drop(rows);
        let mut rows = sqlx::query_as::<_, (i64, i64)>("SELECT user_id, target_id FROM hides")
            .fetch(&self.pool);
        while let Some((user, target)) = rows.try_next().await? {
            graph.hide(&user.to_string(), &target.to_string());
            counts.hides += 1;
        }
        drop(rows);
        for (sql, kind) in [
            ("SELECT user_id, post_id FROM views", InteractionKind::View),
            ("SELECT user_id, post_id FROM likes", InteractionKind::Like),
            (
                "SELECT author_id, post_id FROM comments",
                InteractionKind::Comment,
            ),
        ] {
            let mut rows = sqlx::query_as::<_, (i64, i64)>(sql).fetch(&self.pool);
            while let Some((user, post)) = rows.try_next().await? {
                graph.interact(&user.to_string(), &post.to_string(), kind);
                counts.interactions += 1;
            }
        }
        Ok(counts)
    }

    /// The newest `limit` live posts, newest first: at start, the engine is told about the posts
    /// its model does not know (created since the model's data cut-off, or all of them when no
    /// model is published yet), so that they are candidates at once.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn newest_posts(&self, limit: i64) -> sqlx::Result<Vec<PostMeta>> {
        let sql = format!("{META_SELECT} ORDER BY id DESC LIMIT $1");
        let rows = sqlx::query_as::<_, MetaRow>(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(live_meta).collect())
    }

    /// Engagement of the last `window_secs` (likes, comments, views with their times), oldest
    /// first, to warm the engine's trending window after a restart.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn recent_engagement(
        &self,
        since: i64,
    ) -> sqlx::Result<Vec<(String, InteractionKind, i64)>> {
        let mut out = Vec::new();
        for (sql, kind) in [
            (
                "SELECT post_id, created_at FROM views WHERE created_at >= $1",
                InteractionKind::View,
            ),
            (
                "SELECT post_id, created_at FROM likes WHERE created_at >= $1",
                InteractionKind::Like,
            ),
            (
                "SELECT post_id, created_at FROM comments WHERE created_at >= $1",
                InteractionKind::Comment,
            ),
        ] {
            let rows: Vec<(i64, i64)> = sqlx::query_as(sql)
                .bind(since)
                .fetch_all(&self.pool)
                .await?;
            out.extend(
                rows.into_iter()
                    .map(|(post, at)| (post.to_string(), kind, at)),
            );
        }
        out.sort_by_key(|(_, _, at)| *at);
        Ok(out)
    }
}
