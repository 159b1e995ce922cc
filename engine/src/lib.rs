//! The feed engine of Social Live: personalized, nearest-neighbour ranked feeds served from the
//! published model, kept live between model runs.
//!
//! The engine knows nothing of HTTP, SQL or Redis. The social facts it needs (who follows,
//! blocks and has seen what; which posts exist, who wrote them, which are deleted) come through
//! the [`SocialGraph`] trait, which the API layer implements over its store
//! ([`InMemoryGraph`] is one for tests and demos).
//!
//! - [`Engine::feed`] assembles a page: candidates from the HNSW index around the user's
//!   vector, recent posts of followed authors, trending posts and new posts (module
//!   `candidates`), admission filters (`filters`), a blended score (`scoring`, weights in
//!   [`FeedConfig`]), the per-author diversity rule (`diversity`) and an opaque cursor
//!   (`cursor`) over a ranked list cached per user (`cache`, on moka).
//! - [`Engine::record_interaction`] folds the user's vector in again at once and counts
//!   towards trending ([`Engine::refresh_user`] only folds in, after an unlike);
//!   [`Engine::add_post`] makes a new post a candidate at once (an exact buffer searched beside
//!   the index), [`Engine::update_post`] refreshes it after an edit; [`Engine::delete_post`]
//!   tombstones. [`Engine::trending`] lists the trending posts (ranked once per
//!   [`FeedConfig::trending_refresh`] and shared by every request).
//! - [`Engine::without_model`] serves feeds before the first model is published (followed,
//!   trending and new posts); the first [`Engine::swap`] installs one.
//! - [`Engine::swap`] and [`Engine::reload_if_changed`] swap in a new model atomically
//!   (arc-swap): requests in flight finish on the model they started with.
//!
//! # Example
//!
//! ```no_run
//! use std::path::Path;
//! use std::sync::Arc;
//!
//! use engine::{Engine, FeedConfig, FeedRequest, InMemoryGraph};
//! use models::artifact::Artifact;
//!
//! let graph = Arc::new(InMemoryGraph::new());
//! let artifact = Artifact::load_current(Path::new("data/models"))?;
//! let engine = Engine::new(artifact, Arc::clone(&graph), FeedConfig::default())?;
//! let page = engine.feed("42", &FeedRequest::first(20))?;
//! for item in &page.items {
//!     let why: Vec<&str> = item.reasons.iter().map(|r| r.describe()).collect();
//!     assert!(!why.is_empty() && item.score.is_finite());
//! }
//! if let Some(cursor) = page.next_cursor {
//!     let _next = engine.feed("42", &FeedRequest::next(20, cursor))?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
mod candidates;
pub mod config;
mod cursor;
mod diversity;
mod engine;
pub mod error;
pub mod feed;
mod filters;
pub mod graph;
mod live;
mod scoring;
mod state;
mod swap;
mod trending;
mod updates;

pub use config::{FeedConfig, InteractionWeights};
pub use engine::{Engine, EngineStats};
pub use error::{Error, Result};
pub use feed::{FeedItem, FeedPage, FeedRequest, Reason, SourceCounts};
pub use graph::{
    InMemoryGraph, Interaction, InteractionKind, PostId, PostMeta, SocialGraph, UserId,
};
pub use swap::Reloader;
