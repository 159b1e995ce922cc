//! The store: every SQL statement of the API, over one `sqlx` pool that speaks SQLite or
//! PostgreSQL through the `Any` driver.
//!
//! Statements are written once, in the dialect both understand (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`); only the schema (`migrations/sqlite`, `migrations/postgres`) and full-text
//! search differ by backend. Every value reaches SQL as a bound parameter.
//!
//! **Invariant:** handlers never hold SQL; they call these modules, one per resource.
//!
//! **Invariant:** every write that other replicas, streams or caches must learn about appends
//! its change record in the same transaction (`changes.rs`) and returns the record's position;
//! a write that changed nothing appends nothing and returns `None`.

pub mod catalog;
pub mod changes;
pub mod context;
pub mod export;
pub mod moderation;
pub mod muted;
pub mod posts;
pub mod reports;
pub mod runs;
pub mod search;
pub mod seed;
pub mod social;
pub mod tokens;
pub mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions as _, Executor as _};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database the store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database: a connection pool and its backend.
#[derive(Clone, Debug)]
pub struct Store {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// The default database of a data directory: an SQLite file created on first use.
pub fn default_database_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("social-live.db").display()
    )
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and runs the migrations.
    ///
    /// # Errors
    ///
    /// An unsupported scheme, an unreachable database or a failed migration.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, crate::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(crate::Error::UnsupportedDatabaseUrl { url: redact(url) });
        };
        let connect_error = |source| crate::Error::Connect {
            url: redact(url),
            source,
        };
        let options = AnyConnectOptions::from_str(url)
            .map_err(connect_error)?
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(250))
            .log_statements(tracing::log::LevelFilter::Trace);
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5));
        if backend == Backend::Sqlite {
            // WAL lets readers run beside the one writer; NORMAL is durable across process
            // crashes (only an OS crash can lose the last transactions) and much faster.
            pool_options = pool_options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL;").await?;
        }
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        let store = Self { pool, backend };
        let filled = store.backfill_skeletons().await?;
        if filled > 0 {
            tracing::info!(
                filled,
                "filled the confusable skeletons of existing handles"
            );
        }
        Ok(store)
    }

    /// Whether the database answers.
    ///
    /// # Errors
    ///
    /// The database error.
    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Whether `err` is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// The current time, Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://me:secret@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
        assert_eq!(redact("sqlite://a.db"), "sqlite://a.db");
    }
}
