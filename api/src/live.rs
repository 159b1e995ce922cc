//! Keeps the engine's live state in step with the store: every write that matters to a feed
//! (a post, an edit, a delete, a like, a comment, a view, a follow, a block or mute) becomes an
//! [`Event`], applied to the in-memory social graph and the engine right after the store
//! committed it, and, when Redis is configured, published to the other replicas, which apply it
//! too (`events.rs`).
//!
//! **Invariant:** handlers emit events only after the database write succeeded, so no mirror
//! ever holds what the store does not.

use engine::{InteractionKind, PostMeta};
use serde::{Deserialize, Serialize};

use crate::state::AppState;
use crate::store::now;
use crate::store::posts::PostRow;

/// A change to the social graph, as the engine needs to know it. Ids are the engine's (decimal
/// strings of the database ids).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    PostCreated {
        post: PostMeta,
    },
    PostEdited {
        post: PostMeta,
    },
    PostDeleted {
        post: String,
    },
    /// A like or a comment.
    Interacted {
        user: String,
        post: String,
        kind: InteractionKind,
        at: i64,
    },
    Unliked {
        user: String,
        post: String,
    },
    /// First impressions of `posts` by `user`.
    Viewed {
        user: String,
        posts: Vec<String>,
        at: i64,
    },
    Followed {
        user: String,
        author: String,
    },
    Unfollowed {
        user: String,
        author: String,
    },
    /// `user` blocked or muted `target`; `removed` are the follows a block deleted.
    Hidden {
        user: String,
        target: String,
        removed: Vec<(String, String)>,
    },
    /// `user` no longer hides `target` in any way.
    Unhidden {
        user: String,
        target: String,
    },
}

/// The engine's metadata of a post row.
pub fn meta(post: &PostRow) -> PostMeta {
    PostMeta {
        id: post.id.to_string(),
        author: post.author_id.to_string(),
        created_at: post.created_at,
        deleted: post.deleted_at.is_some(),
        topics: post.topic_list(),
        text: post.text.clone(),
    }
}

/// Applies `event` here and publishes it to the other replicas.
pub fn emit(state: &AppState, event: Event) {
    apply(state, &event);
    if let Some(bus) = &state.events {
        bus.publish(event);
    }
}

/// Applies `event` to the graph mirror and the engine of this process.
pub fn apply(state: &AppState, event: &Event) {
    let (graph, engine) = (&state.graph, &state.engine);
    match event {
        Event::PostCreated { post } => {
            graph.add_post(post.clone());
            engine.add_post(post.clone());
        }
        Event::PostEdited { post } => {
            graph.add_post(post.clone());
            engine.update_post(post.clone());
        }
        Event::PostDeleted { post } => {
            graph.delete_post(post);
            engine.delete_post(post);
        }
        Event::Interacted {
            user,
            post,
            kind,
            at,
        } => {
            graph.interact(user, post, *kind);
            if let Err(err) = engine.record_interaction(user, post, *kind, *at) {
                tracing::warn!(error = %err, user, post, "fold-in failed; the next model run will catch up");
            }
        }
        Event::Unliked { user, post } => {
            graph.remove_interaction(user, post, InteractionKind::Like);
            refresh(state, user);
        }
        Event::Viewed { user, posts, at } => {
            for post in posts {
                graph.interact(user, post, InteractionKind::View);
                engine.record_engagement(post, InteractionKind::View, *at);
            }
            refresh(state, user);
        }
        Event::Followed { user, author } => {
            graph.follow(user, author);
            engine.invalidate_user(user);
        }
        Event::Unfollowed { user, author } => {
            graph.unfollow(user, author);
            engine.invalidate_user(user);
        }
        Event::Hidden {
            user,
            target,
            removed,
        } => {
            graph.hide(user, target);
            for (a, b) in removed {
                graph.unfollow(a, b);
                engine.invalidate_user(a);
            }
            engine.invalidate_user(user);
        }
        Event::Unhidden { user, target } => {
            graph.unhide(user, target);
            engine.invalidate_user(user);
        }
    }
}

fn refresh(state: &AppState, user: &str) {
    if let Err(err) = state.engine.refresh_user(user) {
        tracing::warn!(error = %err, user, "fold-in failed; the next model run will catch up");
    }
}

// What the handlers call, one function per kind of write.

pub fn post_created(state: &AppState, post: &PostRow) {
    emit(state, Event::PostCreated { post: meta(post) });
}

pub fn post_edited(state: &AppState, post: &PostRow) {
    emit(state, Event::PostEdited { post: meta(post) });
}

pub fn post_deleted(state: &AppState, post: i64) {
    emit(
        state,
        Event::PostDeleted {
            post: post.to_string(),
        },
    );
}

/// A like or a comment: the user's vector is folded in again at once.
pub fn interacted(state: &AppState, user: i64, post: i64, kind: InteractionKind) {
    let (user, post) = (user.to_string(), post.to_string());
    emit(
        state,
        Event::Interacted {
            user,
            post,
            kind,
            at: now(),
        },
    );
}

pub fn unliked(state: &AppState, user: i64, post: i64) {
    let (user, post) = (user.to_string(), post.to_string());
    emit(state, Event::Unliked { user, post });
}

/// Posts `user` viewed for the first time: seen (never served again), trending, one fold-in.
pub fn viewed(state: &AppState, user: i64, posts: &[i64]) {
    if posts.is_empty() {
        return;
    }
    let posts = posts.iter().map(i64::to_string).collect();
    emit(
        state,
        Event::Viewed {
            user: user.to_string(),
            posts,
            at: now(),
        },
    );
}

pub fn followed(state: &AppState, user: i64, author: i64) {
    let (user, author) = (user.to_string(), author.to_string());
    emit(state, Event::Followed { user, author });
}

pub fn unfollowed(state: &AppState, user: i64, author: i64) {
    let (user, author) = (user.to_string(), author.to_string());
    emit(state, Event::Unfollowed { user, author });
}

/// `user` blocked or muted `target`; `removed` are the follows a block deleted.
pub fn hidden(state: &AppState, user: i64, target: i64, removed: &[(i64, i64)]) {
    let removed = removed
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let (user, target) = (user.to_string(), target.to_string());
    emit(
        state,
        Event::Hidden {
            user,
            target,
            removed,
        },
    );
}

/// `user` lifted a block or mute; `still_hidden` when the other kind remains.
pub fn unhidden(state: &AppState, user: i64, target: i64, still_hidden: bool) {
    if !still_hidden {
        let (user, target) = (user.to_string(), target.to_string());
        emit(state, Event::Unhidden { user, target });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_as_tagged_json() {
        let event = Event::Interacted {
            user: "1".into(),
            post: "2".into(),
            kind: InteractionKind::Like,
            at: 3,
        };
        let json = serde_json::to_string(&event).unwrap();
        assert!(json.starts_with(r#"{"type":"interacted""#), "{json}");
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }
}
