//! The feed engine of Social Live: personalized, nearest-neighbour ranked feeds served from the
//! published model, kept live between model runs.
//!
//! The engine knows nothing of HTTP, SQL or Redis, and mirrors none of the database's
//! per-user facts. It keeps catalog-side state only: every live post's author, time and topics
//! (its catalog), the posts added since the model was trained, trending counters, the model
//! and bounded caches. What a request needs about its user (followees, hidden authors, recent
//! interactions and impressions) comes with the request as one bounded [`UserContext`],
//! fetched by the caller. Ids are typed integers ([`UserId`], [`PostId`]).
//!
//! - [`Engine::feed`] assembles a page: candidates from the HNSW index around the user's
//!   vector, recent posts of followed authors, trending posts and new posts (module
//!   `candidates`), admission filters (`filters`), a blended score (`scoring`, weights in
//!   [`FeedConfig`]), the per-author diversity rule (`diversity`) and an opaque cursor
//!   (`cursor`) over a ranked list cached per user (`cache`, on moka).
//! - [`Engine::load_posts`] fills the catalog at start-up and [`Engine::replace_posts`]
//!   reloads it; [`Engine::add_post`] makes a new post a candidate at once (an exact buffer
//!   searched beside the index), [`Engine::update_post`] refreshes it after an edit;
//!   [`Engine::delete_post`] tombstones.
//! - [`Engine::record_engagement`] counts towards trending; [`Engine::trending`] lists the
//!   trending posts (ranked once per [`FeedConfig::trending_refresh`] and shared by every
//!   request). [`Engine::interactions_changed`] makes the user's next feed fold their vector
//!   in from their context; [`Engine::invalidate_user`] drops a cached list after a follow or
//!   a block.
//! - [`Engine::without_model`] serves feeds before the first model is published (followed,
//!   trending and new posts); the first [`Engine::swap`] installs one.
//! - [`Engine::swap`] and [`Engine::reload`] swap in a new model atomically (arc-swap):
//!   requests in flight finish on the model they started with. A damaged current version is
//!   never served: `reload` falls back to the newest valid kept one and says so
//!   ([`Engine::model_health`]).
//!
//! # Example
//!
//! ```no_run
//! use std::path::Path;
//!
//! use engine::{Engine, FeedConfig, FeedRequest, PostId, PostMeta, UserContext, UserId};
//! use models::artifact::Artifact;
//!
//! // The live posts, as the store lists them at start-up.
//! let posts = vec![PostMeta {
//!     id: PostId(7),
//!     author: UserId(3),
//!     created_at: 1_750_000_000,
//!     deleted: false,
//!     topics: vec!["jazz".into()],
//!     text: "New album out".into(),
//! }];
//! let artifact = Artifact::load_current(Path::new("data/models"))?;
//! let engine = Engine::new(artifact, posts, FeedConfig::default())?;
//! // What the request needs about its user, fetched per request (bounded by the config).
//! let user = UserId(42);
//! let ctx = UserContext {
//!     followees: vec![UserId(3)],
//!     ..UserContext::default()
//! };
//! let page = engine.feed(user, &ctx, &FeedRequest::first(20))?;
//! for item in &page.items {
//!     let why: Vec<&str> = item.reasons.iter().map(|r| r.describe()).collect();
//!     assert!(!why.is_empty() && item.score.is_finite());
//! }
//! if let Some(cursor) = page.next_cursor {
//!     let _next = engine.feed(user, &ctx, &FeedRequest::next(20, cursor))?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
mod candidates;
mod catalog;
pub mod config;
pub mod context;
mod cursor;
mod diversity;
mod engine;
pub mod error;
pub mod feed;
mod filters;
pub mod ids;
mod live;
mod scoring;
mod state;
mod swap;
mod trending;
mod updates;

pub use config::{FeedConfig, InteractionWeights};
pub use context::{Interaction, InteractionKind, PostMeta, UserContext};
pub use engine::{Engine, EngineStats};
pub use error::{Error, Result};
pub use feed::{FeedItem, FeedPage, FeedRequest, Reason, SourceCounts};
pub use ids::{PostId, UserId};
pub use swap::{ModelHealth, Reload, ReloadCheck, Reloader};
