//! The HTTP API of Social Live: a thin axum service around the feed engine.
//!
//! - `http`: one `router()` per resource (`auth`, `users`, `posts`, `feed`, `search`, `admin`,
//!   `health`), merged with their OpenAPI document in [`http::app`]; the middleware (request
//!   ids, tracing, JSON errors, security headers, CORS, body limit, timeout, metrics).
//! - `store`: every SQL statement, over SQLite or PostgreSQL through one `sqlx` Any pool.
//! - `auth`: argon2id passwords, HS256 access tokens, rotating refresh tokens, role extractors,
//!   login rate limits (in process or in Redis).
//! - `cpu`: password hashing and feed ranking run bounded, shedding load past a short wait.
//! - `live`: keeps the engine's in-memory view of the social graph in step with every write.
//!
//! **API boundary:** the API does no vector math and no training; ranking is the engine's.

pub mod auth;
pub mod config;
pub mod cpu;
pub mod error;
pub mod events;
pub mod http;
pub mod live;
pub mod state;
pub mod store;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use engine::{Engine, FeedConfig, InMemoryGraph};
use models::artifact::Artifact;

pub use config::ServeConfig;
pub use error::{ApiError, ErrorBody};
pub use http::app;
pub use state::AppState;
pub use store::Store;

use auth::jwt::Keys;
use auth::ratelimit::Limiter;

/// How many of the newest posts are offered to the engine at start (those its model already
/// knows are ignored by it).
const STARTUP_POSTS: i64 = 50_000;

/// Builds the shared state: connects the database (running migrations), loads the social graph
/// into memory, loads the current model (or serves the fallback feed without one), warms the
/// trending window, and sets up tokens and rate limits.
///
/// # Errors
///
/// The database or Redis cannot be reached, the JWT key is unusable, or a published model is
/// corrupt (a missing model is fine).
pub async fn build_state(config: ServeConfig, data_dir: &Path) -> anyhow::Result<AppState> {
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(|| store::default_database_url(data_dir));
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    }
    let store = Store::connect(&url, config.db_max_connections).await?;
    let graph = Arc::new(InMemoryGraph::new());
    let counts = store
        .load_graph(&graph)
        .await
        .context("cannot load the social graph")?;
    tracing::info!(?counts, "social graph loaded");

    let models_dir = config
        .models_dir
        .clone()
        .unwrap_or_else(|| data_dir.join("models"));
    let feed_config = FeedConfig::default();
    let window = feed_config.trending_window;
    let engine = match load_model(&models_dir)? {
        Some(artifact) => {
            let version = artifact.manifest.version.clone();
            let graph = Arc::clone(&graph);
            let engine =
                tokio::task::spawn_blocking(move || Engine::new(artifact, graph, feed_config))
                    .await??;
            tracing::info!(version, "model loaded");
            engine
        }
        None => {
            tracing::warn!(dir = %models_dir.display(), "no published model: feeds come from follows, trending and new posts until one is published");
            Engine::without_model(Arc::clone(&graph), feed_config)?
        }
    };
    // Posts the model does not know (newer than its data, or all without a model) join the
    // candidate pool, oldest first so the engine's fresh buffer ends newest-first.
    let mut unknown = store.newest_posts(STARTUP_POSTS).await?;
    unknown.reverse();
    for post in unknown {
        engine.add_post(post);
    }
    let since = store::now() - window.as_secs() as i64;
    for (post, kind, at) in store.recent_engagement(since).await? {
        engine.record_engagement(&post, kind, at);
    }

    let keys = match &config.jwt_secret {
        Some(secret) => Keys::from_secret(secret.as_bytes(), config.access_ttl_secs as i64)?,
        None => Keys::from_file(&data_dir.join("jwt.key"), config.access_ttl_secs as i64)?,
    };
    let limit_window = Duration::from_secs(config.login_window_secs);
    let limiter = match &config.redis_url {
        Some(url) => Limiter::redis(url, &config.redis_prefix, limit_window).await?,
        None => Limiter::memory(limit_window),
    };
    let events = match &config.redis_url {
        Some(url) => Some(events::EventBus::connect(url, &config.redis_prefix).await?),
        None => None,
    };
    http::health::prometheus();
    let cpu = cpu::CpuPool::new(
        config.cpu_workers,
        Duration::from_millis(config.cpu_queue_ms),
    );
    let state = AppState {
        store,
        engine: Arc::new(engine),
        graph,
        keys: Arc::new(keys),
        limiter,
        cpu,
        config: Arc::new(config),
        models_dir,
        events,
    };
    if let Some(bus) = &state.events {
        let replica = state.clone();
        // The listener lives as long as the runtime; it holds the state, not the other way round.
        drop(bus.spawn_listener(move |event| live::apply(&replica, &event)));
    }
    Ok(state)
}

/// The current model of `dir`, `None` when none is published.
fn load_model(dir: &Path) -> anyhow::Result<Option<Artifact>> {
    if !dir.join("current").exists() {
        return Ok(None);
    }
    Artifact::load_current(dir)
        .map(Some)
        .with_context(|| format!("cannot load the published model in {}", dir.display()))
}

/// Serves `state` on `config.listen` until `shutdown` resolves, then drains requests in flight.
/// A background thread swaps in newly published models.
///
/// # Errors
///
/// The address cannot be bound.
pub async fn serve(
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listen = state.config.listen;
    let _reloader = state.engine.spawn_reloader(
        state.models_dir.clone(),
        Duration::from_secs(state.config.model_poll_secs.max(1)),
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, "serving the API");
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("server error")
}

/// Where `--dataset db` exports the database's interactions for the pipeline.
pub fn export_path(data_dir: &Path) -> PathBuf {
    data_dir
        .join("datasets")
        .join("db")
        .join("interactions.csv")
}

/// Where `--dataset db` exports the database's posts (the content encoder's input).
pub fn export_posts_path(data_dir: &Path) -> PathBuf {
    data_dir.join("datasets").join("db").join("posts.csv")
}
