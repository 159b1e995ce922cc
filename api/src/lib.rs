//! The HTTP API of Social Live: a thin axum service around the feed engine.
//!
//! - `http`: one `router()` per resource (`auth`, `users`, `posts`, `feed`, `search`, `admin`,
//!   `health`), merged with their OpenAPI document in [`http::app`]; the middleware (request
//!   ids, tracing, JSON errors, security headers, CORS, body limit, timeout, metrics).
//! - `store`: every SQL statement, over SQLite or PostgreSQL through one `sqlx` Any pool; every
//!   write appends its change record in its own transaction (`store/changes.rs`).
//! - `changes`: the change log's wire format and each replica's tailer, which applies every
//!   change to the engine's catalog and the context cache, in order, exactly once.
//! - `context`, `post_rows`, `muted`: the per-request user contexts (followees, hidden authors,
//!   newest interactions, seen window), the post rows of feed pages and each user's muted words,
//!   read on demand and cached in a `cache::LogCache`, which the change log invalidates.
//! - `auth`: argon2id passwords, HS256 access tokens, rotating refresh tokens, role extractors,
//!   login rate limits (in process or in Redis).
//! - `cpu`: password hashing, feed ranking and change application run bounded.
//!
//! **API boundary:** the API does no vector math and no training; ranking is the engine's.

pub mod auth;
pub mod cache;
pub mod changes;
pub mod config;
pub mod context;
pub mod cpu;
pub mod error;
pub mod http;
pub mod limits;
pub mod muted;
pub mod post_rows;
pub mod principals;
pub mod state;
pub mod store;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use engine::Engine;

pub use config::ServeConfig;
pub use error::{ApiError, Error, ErrorBody};
pub use http::app;
pub use state::AppState;
pub use store::Store;

use auth::jwt::Keys;
use auth::ratelimit::Limiter;
use changes::tailer::{self, Consumer};
use changes::{ChangeFeed, TailConfig};
use context::UserContexts;
use store::context::ContextLimits;

/// Builds the shared state: connects the database (running migrations), loads the engine's
/// catalog (live posts, the trending window) from one consistent snapshot, loads the current
/// model (falling back to the newest valid kept version when it is damaged, or serving the
/// fallback feed without one), starts tailing the change log from the
/// snapshot's position, and sets up tokens and rate limits. Nothing per user is loaded.
///
/// # Errors
///
/// The database or Redis cannot be reached, or the JWT key is unusable. A missing or damaged
/// model never is an error.
pub async fn build_state(config: ServeConfig, data_dir: &Path) -> Result<AppState, Error> {
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(|| store::default_database_url(data_dir));
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(data_dir).map_err(|source| Error::Io {
            what: "cannot create the data directory",
            path: data_dir.to_owned(),
            source,
        })?;
    }
    let store = Store::connect(&url, config.db_max_connections).await?;
    let models_dir = config
        .models_dir
        .clone()
        .unwrap_or_else(|| data_dir.join("models"));
    let feed_config = config.feed.clone().unwrap_or_default();
    let window = feed_config.trending_window.as_secs() as i64;
    let limits = ContextLimits::from_feed(&feed_config);
    let engine = Arc::new(Engine::without_model(feed_config)?);
    let snapshot = store.catalog_snapshot(store::now() - window).await?;
    let position = snapshot.position;
    tracing::info!(posts = snapshot.posts.len(), position, "catalog loaded");
    {
        let engine = Arc::clone(&engine);
        let models_dir = models_dir.clone();
        let store::catalog::CatalogSnapshot {
            posts,
            newest,
            engagement,
            withheld,
            ..
        } = snapshot;
        tokio::task::spawn_blocking(move || {
            engine.load_posts(posts);
            engine.replace_withheld(withheld);
            // A damaged current version never stops the start: the newest valid kept version is
            // served instead (or none), and /readyz and the metrics say so.
            match engine.reload(&models_dir, engine::ReloadCheck::Pointer) {
                Ok(done) => match done.changed {
                    Some(version) if done.health.problems.is_empty() => {
                        tracing::info!(version, "model loaded")
                    }
                    Some(version) => tracing::warn!(
                        version,
                        wanted = done.health.wanted.as_deref().unwrap_or(""),
                        problems = ?done.health.problems,
                        "serving a fallback model: the current version cannot be loaded"
                    ),
                    None if done.health.problems.is_empty() => tracing::warn!(
                        "no published model: feeds come from follows, trending and new posts until one is published"
                    ),
                    None => tracing::error!(
                        problems = ?done.health.problems,
                        "no published model can be loaded: serving without one"
                    ),
                },
                Err(error) => tracing::error!(
                    %error,
                    "the models directory cannot be read: serving without a model"
                ),
            }
            // Posts the model does not know (newer than its data, or all without a model) join
            // the candidate pool.
            tailer::offer_newest(&engine, newest, engagement);
        })
        .await?;
    }

    let keys = match &config.jwt_secret {
        Some(secret) => Keys::from_secret(secret.as_bytes(), config.access_ttl_secs as i64)?,
        None => Keys::from_file(&data_dir.join("jwt.key"), config.access_ttl_secs as i64)?,
    };
    let limit_window = Duration::from_secs(config.login_window_secs);
    let limiter = match &config.redis_url {
        Some(url) => Limiter::redis(url, &config.redis_prefix, limit_window)?,
        None => Limiter::memory(limit_window),
    };
    let policy = limits::Policy::parse(&config.rate_limits).map_err(Error::RateLimits)?;
    let routes = limits::RouteLimiter::new(
        policy,
        match &config.redis_url {
            Some(url) => Some((
                auth::ratelimit::connect(url)?,
                format!("{}rate:", config.redis_prefix),
            )),
            None => None,
        },
    );
    http::health::prometheus();
    let cpu = cpu::CpuPool::new(
        config.cpu_workers,
        Duration::from_millis(config.cpu_queue_ms),
    );
    let contexts = UserContexts::new(
        limits,
        config.context_cache_mb.max(1) * 1024 * 1024,
        Duration::from_secs(config.context_ttl_secs.max(1)),
    );
    let post_rows = post_rows::PostRows::new(
        config.post_cache_mb.max(1) * 1024 * 1024,
        Duration::from_secs(config.context_ttl_secs.max(1)),
    );
    let principals = principals::Principals::new(config.principal_cache_mb.max(1) * 1024 * 1024);
    let tail = TailConfig {
        poll: Duration::from_millis(config.change_poll_ms.max(10)),
        retention: Duration::from_secs(config.change_retention_secs),
        prune_every: Duration::from_secs(60),
        listen_url: (store.backend == store::Backend::Postgres).then(|| url.clone()),
        record_applied: config.record_applied_changes,
    };
    let changes = ChangeFeed::spawn(
        Consumer {
            store: store.clone(),
            engine: Arc::clone(&engine),
            contexts: contexts.clone(),
            post_rows: post_rows.clone(),
            principals: principals.clone(),
            models_dir: models_dir.clone(),
        },
        position,
        tail,
    );
    Ok(AppState {
        store,
        engine,
        contexts,
        post_rows,
        principals,
        changes,
        keys: Arc::new(keys),
        limiter,
        routes,
        cpu,
        config: Arc::new(config),
        models_dir,
    })
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
) -> Result<(), Error> {
    let listen = state.config.listen;
    let _reloader = state.engine.spawn_reloader(
        state.models_dir.clone(),
        Duration::from_secs(state.config.model_poll_secs.max(1)),
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| Error::Listen {
            addr: listen,
            source,
        })?;
    let address = listener.local_addr().map_err(Error::Serve)?;
    tracing::info!(%address, "serving the API");
    // `tap_io` only so that axum's `ConnectInfo<SocketAddr>` applies to the wrapped listener.
    let listener =
        axum::serve::ListenerExt::tap_io(http::wire::JsonErrorListener(listener), |_| {});
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(Error::Serve)
}
