//! A feed request's user context: the requesting user's followees, hidden authors, newest
//! interactions and seen window, read for that user only and bounded (see [`ContextLimits`]).
//! `crate::context` caches it, invalidated by the change log.

use engine::{Interaction, InteractionKind, PostId, UserContext, UserId};

use super::Store;

/// How much of a user's history a context holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextLimits {
    /// Newest likes, comments and views (the fold-in input; never recommended again).
    pub interactions: usize,
    /// Newest impressions (never recommended again): a window, not the whole history.
    pub seen: usize,
    /// Most followees read (the newest follows first).
    pub followees: usize,
}

impl ContextLimits {
    /// The engine's bounds (`FeedConfig::context_interactions`, `context_seen`), and 5,000
    /// followees.
    pub fn from_feed(config: &engine::FeedConfig) -> Self {
        Self {
            interactions: config.context_interactions,
            seen: config.context_seen,
            followees: 5_000,
        }
    }
}

impl Store {
    /// `user`'s context, newest first, within `limits`. `hidden` holds the authors `user`
    /// blocked or muted and the users who blocked `user`.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn user_context(
        &self,
        user: i64,
        limits: ContextLimits,
    ) -> sqlx::Result<UserContext> {
        // One statement, one round trip: a feed request that misses the context cache pays one
        // indexed read per part, not five statements.
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(CONTEXT_SQL)
            .bind(user)
            .bind(limits.followees as i64)
            .bind(limits.interactions as i64)
            .bind(limits.seen.max(limits.interactions) as i64)
            .fetch_all(&self.pool)
            .await?;
        let mut context = UserContext::default();
        let mut interactions = Vec::new();
        for (part, id, at) in rows {
            let kind = match part {
                FOLLOWEE => {
                    context.followees.push(UserId(id));
                    continue;
                }
                HIDDEN => {
                    context.hidden.push(UserId(id));
                    continue;
                }
                LIKE => InteractionKind::Like,
                COMMENT => InteractionKind::Comment,
                _ => InteractionKind::View,
            };
            interactions.push(Interaction {
                post: PostId(id),
                kind,
                at,
            });
        }
        // A user both blocked and muted, or blocked both ways, is listed once.
        context.hidden.sort_unstable();
        context.hidden.dedup();
        // Views come newest first from their own part.
        context.seen = interactions
            .iter()
            .filter(|i| i.kind == InteractionKind::View)
            .take(limits.seen)
            .map(|i| i.post)
            .collect();
        // Newest first across kinds; ties in a fixed order (kind, then post).
        interactions.sort_by(|a, b| {
            b.at.cmp(&a.at)
                .then_with(|| kind_rank(a.kind).cmp(&kind_rank(b.kind)))
                .then_with(|| b.post.cmp(&a.post))
        });
        interactions.truncate(limits.interactions);
        context.interactions = interactions;
        Ok(context)
    }
}

/// The parts of [`CONTEXT_SQL`]'s rows.
const FOLLOWEE: i64 = 0;
const HIDDEN: i64 = 1;
const LIKE: i64 = 2;
const COMMENT: i64 = 3;

/// `(part, id, at)` rows: the newest `$2` followees, every author hidden from `$1` (blocked or
/// muted by them, or who blocked them), and the newest `$3` likes, `$3` comments and `$4` views,
/// each newest first. Every part is an indexed range read (`follows` by follower, `hides` by
/// user and by target, `likes_user_time`, `comments_author_time`, `views_user_time`).
const CONTEXT_SQL: &str = "\
    SELECT CAST(0 AS BIGINT), id, CAST(0 AS BIGINT) FROM (SELECT followee_id AS id FROM follows \
        WHERE follower_id = $1 ORDER BY created_at DESC, followee_id DESC LIMIT $2) f \
    UNION ALL SELECT CAST(1 AS BIGINT), target_id, CAST(0 AS BIGINT) FROM hides WHERE user_id = $1 \
    UNION ALL SELECT CAST(1 AS BIGINT), user_id, CAST(0 AS BIGINT) FROM hides \
        WHERE target_id = $1 AND kind = 'block' \
    UNION ALL SELECT CAST(2 AS BIGINT), post_id, created_at FROM (SELECT post_id, created_at \
        FROM likes WHERE user_id = $1 ORDER BY created_at DESC, post_id DESC LIMIT $3) l \
    UNION ALL SELECT CAST(3 AS BIGINT), post_id, created_at FROM (SELECT post_id, created_at, id \
        FROM comments WHERE author_id = $1 ORDER BY created_at DESC, id DESC LIMIT $3) c \
    UNION ALL SELECT CAST(4 AS BIGINT), post_id, created_at FROM (SELECT post_id, created_at \
        FROM views WHERE user_id = $1 ORDER BY created_at DESC, post_id DESC LIMIT $4) v";

fn kind_rank(kind: InteractionKind) -> u8 {
    match kind {
        InteractionKind::Comment => 0,
        InteractionKind::Like => 1,
        InteractionKind::Share => 2,
        InteractionKind::View => 3,
    }
}
