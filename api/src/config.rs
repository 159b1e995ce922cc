//! Configuration of `social-live serve`: every option is a flag and an environment variable
//! (`.env.example` at the repository root lists them all with their defaults).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// Options of the HTTP service.
#[derive(Clone, Debug, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "SOCIAL_LIVE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Database URL: `postgres://…` for PostgreSQL, `sqlite://…` for SQLite
    /// [default: an SQLite file `social-live.db` in the data directory].
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Maximum connections in the database pool.
    #[arg(long, env = "SOCIAL_LIVE_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Redis URL for rate limits shared by every replica [default: none, in-process limits].
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key this service writes (several deployments can share a Redis).
    #[arg(long, env = "SOCIAL_LIVE_REDIS_PREFIX", default_value = "social-live:")]
    pub redis_prefix: String,
    /// HS256 key of access tokens (at least 32 bytes) [default: a random key generated once
    /// and kept in `<data-dir>/jwt.key`]. Replicas behind one load balancer must share it.
    #[arg(long, env = "SOCIAL_LIVE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "SOCIAL_LIVE_ACCESS_TTL_SECS", default_value_t = 900)]
    pub access_ttl_secs: u64,
    /// Lifetime of refresh tokens, in seconds (30 days).
    #[arg(long, env = "SOCIAL_LIVE_REFRESH_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_ttl_secs: u64,
    /// Failed logins allowed per account and client IP per window before that client's logins
    /// to the account are refused (other clients, the owner's, are not).
    #[arg(long, env = "SOCIAL_LIVE_LOGIN_MAX_PER_ACCOUNT", default_value_t = 5)]
    pub login_max_per_account: u32,
    /// Failed logins to one account per window, from every client, after which each login to
    /// it waits a second first (a slowdown for attacks spread over many addresses; never a
    /// refusal, so the owner still signs in).
    #[arg(long, env = "SOCIAL_LIVE_LOGIN_SLOWDOWN_AFTER", default_value_t = 20)]
    pub login_slowdown_after: u32,
    /// Login attempts allowed per client IP per window.
    #[arg(long, env = "SOCIAL_LIVE_LOGIN_MAX_PER_IP", default_value_t = 30)]
    pub login_max_per_ip: u32,
    /// Rate limits of every `/v1` route, beside the login limits: empty for the defaults (per
    /// minute: auth 120 per IP; search 120 per user, 600 per IP; reads 1,200 per user, 6,000 per
    /// IP; writes 300 per user, 1,200 per IP), `off` for none, or comma-separated
    /// `class.scope=quota/seconds` replacing defaults (`read.user=600/60,write.ip=0/60`; 0
    /// removes one). Shared by replicas in Redis when `REDIS_URL` is set.
    #[arg(long, env = "SOCIAL_LIVE_RATE_LIMITS", default_value = "")]
    pub rate_limits: String,
    /// Window of the login limits, in seconds.
    #[arg(long, env = "SOCIAL_LIVE_LOGIN_WINDOW_SECS", default_value_t = 900)]
    pub login_window_secs: u64,
    /// Origins allowed by CORS, comma-separated (e.g. `https://app.example.com`); empty: none.
    #[arg(
        long,
        env = "SOCIAL_LIVE_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "SOCIAL_LIVE_BODY_LIMIT", default_value_t = 64 * 1024)]
    pub body_limit: usize,
    /// Time allowed for one request, in seconds.
    #[arg(long, env = "SOCIAL_LIVE_REQUEST_TIMEOUT_SECS", default_value_t = 10)]
    pub request_timeout_secs: u64,
    /// Most CPU-heavy tasks (password hashing, feed ranking) run at once [default 0: one per
    /// available core].
    #[arg(long, env = "SOCIAL_LIVE_CPU_WORKERS", default_value_t = 0)]
    pub cpu_workers: usize,
    /// Longest a request waits for a CPU worker, in milliseconds, before it is answered
    /// `503 overloaded` (load is shed rather than queued without bound).
    #[arg(long, env = "SOCIAL_LIVE_CPU_QUEUE_MS", default_value_t = 1000)]
    pub cpu_queue_ms: u64,
    /// Directory of published models [default: `<data-dir>/models`].
    #[arg(long, env = "SOCIAL_LIVE_MODELS_DIR")]
    pub models_dir: Option<PathBuf>,
    /// How often to look for a newly published model, in seconds (one small file read; a
    /// rollback through the admin API reaches every replica through the change log at once).
    #[arg(long, env = "SOCIAL_LIVE_MODEL_POLL_SECS", default_value_t = 5)]
    pub model_poll_secs: u64,
    /// Trust the first address of `X-Forwarded-For` as the client IP (behind a proxy only).
    #[arg(long, env = "SOCIAL_LIVE_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// How long change-log records are kept, in seconds (7 days). A replica away for longer
    /// reloads its state from the database when it comes back.
    #[arg(long, env = "SOCIAL_LIVE_CHANGE_RETENTION_SECS", default_value_t = 7 * 24 * 3600)]
    pub change_retention_secs: u64,
    /// How often the change log is read when no wake-up arrives, in milliseconds: the lag bound
    /// of a replica whose PostgreSQL `LISTEN` connection is down.
    #[arg(long, env = "SOCIAL_LIVE_CHANGE_POLL_MS", default_value_t = 500)]
    pub change_poll_ms: u64,
    /// Longest a write waits for this replica to apply it before answering (read your writes),
    /// in milliseconds. Past it the write is still answered (it is committed).
    #[arg(long, env = "SOCIAL_LIVE_READ_YOUR_WRITES_MS", default_value_t = 2000)]
    pub read_your_writes_ms: u64,
    /// Memory for cached user contexts (followees, hidden authors, newest interactions, seen
    /// window), in MiB.
    #[arg(long, env = "SOCIAL_LIVE_CONTEXT_CACHE_MB", default_value_t = 256)]
    pub context_cache_mb: u64,
    /// Longest a cached user context lives, in seconds (the change log drops it sooner when the
    /// user's facts change; this bounds what a replica cut off from the log serves).
    #[arg(long, env = "SOCIAL_LIVE_CONTEXT_TTL_SECS", default_value_t = 300)]
    pub context_ttl_secs: u64,
    /// Memory for cached post rows of feed and trending pages (text, author handle, counts), in
    /// MiB; they live as long as contexts.
    #[arg(long, env = "SOCIAL_LIVE_POST_CACHE_MB", default_value_t = 128)]
    pub post_cache_mb: u64,
    /// Memory for cached accounts (role and live sessions, checked on every authenticated
    /// request), in MiB; about 100 bytes per account.
    #[arg(long, env = "SOCIAL_LIVE_PRINCIPAL_CACHE_MB", default_value_t = 32)]
    pub principal_cache_mb: u64,
    /// Keep the position of every change applied, in memory (for tests; grows without bound).
    #[arg(skip)]
    pub record_applied_changes: bool,
    /// The engine's configuration [default: `FeedConfig::default()`] (for tests and embedders).
    #[arg(skip)]
    pub feed: Option<engine::FeedConfig>,
}

impl ServeConfig {
    /// The defaults, as `serve` with no flags and no environment would get them, except that the
    /// route rate limits are off (tests send many requests from one address).
    pub fn for_tests() -> Self {
        Self {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            database_url: None,
            db_max_connections: 8,
            redis_url: None,
            redis_prefix: "social-live:".into(),
            jwt_secret: Some("test-secret-test-secret-test-secret!".into()),
            access_ttl_secs: 900,
            refresh_ttl_secs: 30 * 24 * 3600,
            login_max_per_account: 5,
            login_slowdown_after: 20,
            login_max_per_ip: 30,
            login_window_secs: 900,
            // Tests send many requests from one address; the limit tests turn them on.
            rate_limits: "off".into(),
            cors_origins: Vec::new(),
            body_limit: 64 * 1024,
            request_timeout_secs: 10,
            cpu_workers: 0,
            cpu_queue_ms: 1000,
            models_dir: None,
            model_poll_secs: 5,
            trust_forwarded_for: false,
            change_retention_secs: 7 * 24 * 3600,
            change_poll_ms: 500,
            read_your_writes_ms: 2000,
            context_cache_mb: 256,
            context_ttl_secs: 300,
            post_cache_mb: 128,
            principal_cache_mb: 32,
            record_applied_changes: false,
            feed: None,
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// How long a write waits for this replica to apply it.
    pub fn read_your_writes(&self) -> Duration {
        Duration::from_millis(self.read_your_writes_ms)
    }
}
