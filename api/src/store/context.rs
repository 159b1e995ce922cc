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
        let followees: Vec<(i64,)> = sqlx::query_as(
            "SELECT followee_id FROM follows WHERE follower_id = $1 \
             ORDER BY created_at DESC, followee_id LIMIT $2",
        )
        .bind(user)
        .bind(limits.followees as i64)
        .fetch_all(&self.pool)
        .await?;
        let hidden: Vec<(i64,)> = sqlx::query_as(
            "SELECT target_id FROM hides WHERE user_id = $1 \
             UNION SELECT user_id FROM hides WHERE target_id = $1 AND kind = 'block'",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        let n = limits.interactions as i64;
        let mut interactions = Vec::new();
        for (sql, kind, limit) in [
            (
                "SELECT post_id, created_at FROM likes WHERE user_id = $1 \
                 ORDER BY created_at DESC, post_id DESC LIMIT $2",
                InteractionKind::Like,
                n,
            ),
            (
                "SELECT post_id, created_at FROM comments WHERE author_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT $2",
                InteractionKind::Comment,
                n,
            ),
            (
                "SELECT post_id, created_at FROM views WHERE user_id = $1 \
                 ORDER BY created_at DESC, post_id DESC LIMIT $2",
                InteractionKind::View,
                limits.seen.max(limits.interactions) as i64,
            ),
        ] {
            let rows: Vec<(i64, i64)> = sqlx::query_as(sql)
                .bind(user)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
            interactions.extend(rows.into_iter().map(|(post, at)| Interaction {
                post: PostId(post),
                kind,
                at,
            }));
        }
        let seen: Vec<PostId> = interactions
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
        Ok(UserContext {
            followees: followees.into_iter().map(|(id,)| UserId(id)).collect(),
            hidden: hidden.into_iter().map(|(id,)| UserId(id)).collect(),
            interactions,
            seen,
        })
    }
}

fn kind_rank(kind: InteractionKind) -> u8 {
    match kind {
        InteractionKind::Comment => 0,
        InteractionKind::Like => 1,
        InteractionKind::Share => 2,
        InteractionKind::View => 3,
    }
}
