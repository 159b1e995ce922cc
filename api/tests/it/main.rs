//! Integration tests of the API: the router driven without a socket (`oneshot`), the whole
//! suite against SQLite and again against PostgreSQL (`DATABASE_URL`; each test gets its own
//! database). Without `DATABASE_URL` the PostgreSQL half is skipped with a note, unless
//! `SOCIAL_LIVE_REQUIRE_POSTGRES=1` (CI) makes that a failure; likewise Redis with `REDIS_URL`.

mod auth;
mod export;
mod feed;
mod limits;
mod model;
mod moderation;
mod platform;
mod posts;
mod replicas;
mod runs;
mod safety;
mod search;
mod users;

use std::sync::atomic::{AtomicU64, Ordering};

use api::{AppState, ServeConfig};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use sqlx::Connection as _;
use tower::ServiceExt as _;

/// Runs each named test against SQLite and PostgreSQL.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestApp::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(postgres_tests), ignore = "needs PostgreSQL: DATABASE_URL, or a server on 127.0.0.1:5432")]
                async fn $name() {
                    if let Some(app) = $crate::TestApp::postgres().await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Runs each named test against SQLite and PostgreSQL with the configuration `change` makes.
#[macro_export]
macro_rules! both_with {
    ($change:expr, $($name:ident),* $(,)?) => {
        mod with_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let mut config = $crate::TestApp::config();
                    ($change)(&mut config);
                    super::$name($crate::TestApp::sqlite_with(config).await).await;
                }
            )*
        }
        mod with_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(postgres_tests), ignore = "needs PostgreSQL: DATABASE_URL, or a server on 127.0.0.1:5432")]
                async fn $name() {
                    let mut config = $crate::TestApp::config();
                    ($change)(&mut config);
                    if let Some(app) = $crate::TestApp::postgres_with(config).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// An app over a fresh database.
#[allow(missing_debug_implementations)]
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

/// A response: status, headers and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<no error code>")
    }

    /// Asserts an error status and code.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "body: {}",
            self.body
        );
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

/// A signed-in test user.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: i64,
    pub token: String,
    pub refresh: String,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

pub fn unique() -> String {
    format!(
        "{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// The PostgreSQL database the tests use without `DATABASE_URL` (the one every machine here
/// runs).
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `REDIS_URL`, else this machine's default Redis when something listens on 127.0.0.1:6379.
pub fn redis_url() -> Option<String> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return Some(url);
    }
    let addr: std::net::SocketAddr = "127.0.0.1:6379".parse().ok()?;
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(300))
        .ok()
        .map(|_| "redis://127.0.0.1:6379".to_owned())
}

pub fn require(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

impl TestApp {
    pub fn config() -> ServeConfig {
        ServeConfig::for_tests()
    }

    pub async fn sqlite() -> Self {
        Self::sqlite_with(Self::config()).await
    }

    pub async fn sqlite_with(mut config: ServeConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        config.database_url = Some(format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("t.db").display()
        ));
        Self::build(config, dir, None).await
    }

    /// An app over a fresh database of the PostgreSQL server `api/build.rs` found
    /// (`DATABASE_URL`, else this machine's default); `None` when it found none (the cases of
    /// `both!` are then compiled as ignored; others fall back to SQLite).
    pub async fn postgres() -> Option<Self> {
        Self::postgres_with(Self::config()).await
    }

    pub async fn postgres_with(mut config: ServeConfig) -> Option<Self> {
        if !cfg!(postgres_tests) {
            return None;
        }
        let base = std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"))
            .unwrap_or_else(|| DEFAULT_POSTGRES.to_owned());
        let name = format!("sl_test_{}", unique());
        let mut admin = sqlx::PgConnection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("connect to {base}: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = match base.rfind('/') {
            Some(i) if base[..i].contains("://") && i > base.find("://").unwrap() + 2 => {
                format!("{}/{name}", &base[..i])
            }
            _ => format!("{base}/{name}"),
        };
        config.database_url = Some(url);
        Some(Self::build(config, tempfile::tempdir().unwrap(), Some((base, name))).await)
    }

    /// Another replica over the same database (its own engine, caches and tailer).
    pub async fn replica(&self) -> Self {
        self.replica_with(|_| {}).await
    }

    /// [`replica`](Self::replica) with changes to its configuration.
    pub async fn replica_with(&self, change: impl FnOnce(&mut ServeConfig)) -> Self {
        let mut config = (*self.state.config).clone();
        change(&mut config);
        Self::build(config, tempfile::tempdir().unwrap(), None).await
    }

    /// An app over an already built state.
    pub fn from_state(state: AppState, dir: tempfile::TempDir) -> Self {
        Self {
            router: api::app(state.clone()),
            state,
            _dir: dir,
            pg: None,
        }
    }

    async fn build(
        config: ServeConfig,
        dir: tempfile::TempDir,
        pg: Option<(String, String)>,
    ) -> Self {
        let state = api::build_state(config, dir.path())
            .await
            .expect("build state");
        Self {
            router: api::app(state.clone()),
            state,
            _dir: dir,
            pg,
        }
    }

    /// Sends a request; `body` is JSON (or `Value::Null` for none).
    pub async fn send(&self, method: Method, uri: &str, token: Option<&str>, body: Value) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = if body.is_null() {
            req.body(Body::empty()).unwrap()
        } else {
            req.header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        self.raw(req).await
    }

    pub async fn raw(&self, req: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, uri, token, Value::Null).await
    }

    pub async fn post(&self, uri: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::POST, uri, token, body).await
    }

    pub async fn put(&self, uri: &str, token: &str) -> Reply {
        self.send(Method::PUT, uri, Some(token), Value::Null).await
    }

    pub async fn delete(&self, uri: &str, token: &str) -> Reply {
        self.send(Method::DELETE, uri, Some(token), Value::Null)
            .await
    }

    /// Registers `handle` with password `password123`.
    pub async fn register(&self, handle: &str) -> Session {
        let r = self
            .post(
                "/v1/auth/register",
                None,
                json!({"handle": handle, "password": "password123"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        Session {
            id: r.body["user"]["id"].as_i64().unwrap(),
            token: r.body["access_token"].as_str().unwrap().to_owned(),
            refresh: r.body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Registers `handle` and gives it `role` directly in the store (its token acts with the
    /// new role: roles are read live).
    pub async fn register_as(&self, handle: &str, role: &str) -> Session {
        let s = self.register(handle).await;
        match self
            .state
            .store
            .set_role(None, s.id, role, "test")
            .await
            .unwrap()
        {
            api::store::users::RoleChange::Changed(position) => {
                self.state.applied(Some(position)).await;
            }
            other => panic!("role not set: {other:?}"),
        }
        s
    }

    /// An access token of a new session of `user` (seeded users have no password).
    pub async fn sign_in_as(&self, user: i64) -> String {
        let (session, position) = self
            .state
            .store
            .start_session(
                user,
                &api::store::tokens::SignIn::default(),
                &api::auth::new_refresh_token(),
                &api::auth::new_refresh_token(),
                3600,
            )
            .await
            .unwrap();
        self.state.applied(Some(position)).await;
        self.state
            .keys
            .issue(user, session, api::store::now())
            .unwrap()
    }

    /// The authors hidden from `user` (blocked, muted, or who blocked them), as the feed reads
    /// them.
    pub async fn hidden(&self, user: i64) -> std::collections::HashSet<i64> {
        let context = self.state.context(user).await.unwrap();
        context.hidden.iter().map(|a| a.0).collect()
    }

    /// Creates a post and returns its id.
    pub async fn create_post(&self, s: &Session, text: &str) -> i64 {
        let r = self
            .post("/v1/posts", Some(&s.token), json!({"text": text}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_i64().unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let Some((base, name)) = self.pg.take() else {
            return;
        };
        // Best effort: drop the test database from a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let mut admin = sqlx::PgConnection::connect(&base).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .ok()
            })
        })
        .join();
    }
}
