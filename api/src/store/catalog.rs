//! What a replica loads at start (and again when it fell behind the change log's retention): a
//! consistent snapshot of the catalog side of the engine and the log position it corresponds
//! to. Nothing per user is loaded: user facts are read per request (`store/context.rs`).

use engine::{InteractionKind, PostId, PostMeta, UserId};
use futures_util::TryStreamExt as _;

use super::changes::Position;
use super::moderation::Standing;
use super::{Backend, Store};

/// How many of the newest live posts are read with their text, to be offered to the engine as
/// new posts (those its model already knows are ignored by it).
pub const NEWEST_POSTS: i64 = 50_000;

/// The engine's side of the database at one log position.
#[derive(Debug, Default)]
pub struct CatalogSnapshot {
    /// The position of the last change the snapshot includes: consumers resume after it.
    pub position: Position,
    /// Every live post, without its text.
    pub posts: Vec<PostMeta>,
    /// The newest [`NEWEST_POSTS`] live posts with their text, oldest first.
    pub newest: Vec<PostMeta>,
    /// Likes, comments and views since the start of the trending window, oldest first.
    pub engagement: Vec<(PostId, InteractionKind, i64)>,
    /// Suspended and banned authors, with the time their posts are withheld until.
    pub withheld: Vec<(UserId, i64)>,
}

/// `id, author_id, topics, text, created_at` of a live post.
type MetaRow = (i64, i64, String, String, i64);

fn live_meta((id, author, topics, text, created_at): MetaRow) -> PostMeta {
    PostMeta {
        id: PostId(id),
        author: UserId(author),
        created_at,
        deleted: false,
        topics: topics.split_whitespace().map(str::to_owned).collect(),
        text,
    }
}

impl Store {
    /// Reads the catalog snapshot in one read transaction (`REPEATABLE READ` on PostgreSQL, a
    /// read transaction on SQLite in WAL mode), so the rows and the position agree: every change
    /// up to `position` is in the rows and none after it.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn catalog_snapshot(&self, trending_since: i64) -> sqlx::Result<CatalogSnapshot> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let (head,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM changes")
            .fetch_one(&mut *tx)
            .await?;
        let (pruned,): (i64,) =
            sqlx::query_as("SELECT pruned_through FROM change_log WHERE singleton = 1")
                .fetch_one(&mut *tx)
                .await?;
        let mut snapshot = CatalogSnapshot {
            position: head.unwrap_or(0).max(pruned),
            ..CatalogSnapshot::default()
        };
        {
            let mut rows = sqlx::query_as::<_, MetaRow>(
                "SELECT id, author_id, topics, '' AS text, created_at FROM posts \
                 WHERE deleted_at IS NULL AND hidden_at IS NULL",
            )
            .fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                snapshot.posts.push(live_meta(row));
            }
        }
        let newest = sqlx::query_as::<_, MetaRow>(
            "SELECT id, author_id, topics, text, created_at FROM posts \
             WHERE deleted_at IS NULL AND hidden_at IS NULL ORDER BY id DESC LIMIT $1",
        )
        .bind(NEWEST_POSTS)
        .fetch_all(&mut *tx)
        .await?;
        snapshot.newest = newest.into_iter().rev().map(live_meta).collect();
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
                .bind(trending_since)
                .fetch_all(&mut *tx)
                .await?;
            snapshot
                .engagement
                .extend(rows.into_iter().map(|(post, at)| (PostId(post), kind, at)));
        }
        snapshot.engagement.sort_by_key(|&(post, _, at)| (at, post));
        let restricted: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, status, suspended_until FROM users WHERE status <> 'active'",
        )
        .fetch_all(&mut *tx)
        .await?;
        snapshot.withheld = restricted
            .into_iter()
            .filter_map(|(user, status, until)| {
                Standing::parse(&status, until)
                    .until()
                    .map(|until| (UserId(user), until))
            })
            .collect();
        tx.commit().await?;
        Ok(snapshot)
    }
}
