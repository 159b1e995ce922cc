//! Rate limits on every route: a quota per client IP and per signed-in user for each class of
//! route (auth, writes, reads, search), enforced with GCRA (the generic cell rate algorithm: a
//! leaky bucket kept as one "theoretical arrival time" per key).
//!
//! With Redis configured every replica shares the counters (one Lua script per request, both
//! keys at once, on Redis's clock); otherwise, and whenever Redis fails or is slower than
//! [`REDIS_TIMEOUT`](crate::auth::ratelimit::REDIS_TIMEOUT), the same algorithm runs in this
//! process (logged and counted in `social_live_ratelimit_redis_errors_total`). After a failure
//! Redis is skipped for a second ([`Breaker`]) before it is tried again, so an outage costs one
//! timeout per second, not one per request, and the limiter recovers by itself.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use redis::aio::ConnectionManager;

use crate::auth::ratelimit::Breaker;
use crate::store::changes::now_ms;

/// A class of routes, each with its own quotas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// `/v1/auth/*`.
    Auth,
    /// `/v1/search/*`.
    Search,
    /// `POST /v1/reports`: filing a report (a small quota, against report floods).
    Report,
    /// Every other `GET`.
    Read,
    /// Every other method.
    Write,
}

impl Class {
    pub const ALL: [Self; 5] = [
        Self::Auth,
        Self::Search,
        Self::Report,
        Self::Read,
        Self::Write,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Search => "search",
            Self::Report => "report",
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    /// The class of a request to `path` with `method`; `None` for routes outside `/v1` (health,
    /// metrics, docs), which are not limited.
    pub fn of(method: &axum::http::Method, path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/v1/")?;
        Some(if rest.starts_with("auth/") {
            Self::Auth
        } else if rest.starts_with("search/") {
            Self::Search
        } else if rest == "reports" && method == axum::http::Method::POST {
            Self::Report
        } else if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
            Self::Read
        } else {
            Self::Write
        })
    }
}

/// Who a quota counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Ip,
    User,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::User => "user",
        }
    }
}

/// `quota` requests per `window`, in a burst or spread out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub quota: u32,
    pub window: Duration,
}

impl Quota {
    /// Milliseconds between requests at the sustained rate (at least 1).
    fn interval_ms(self) -> i64 {
        (self.window.as_millis() as i64 / i64::from(self.quota.max(1))).max(1)
    }

    fn window_ms(self) -> i64 {
        self.window.as_millis() as i64
    }
}

/// Every quota, by class and scope. `None` in a slot: that pair is not limited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    quotas: Vec<((Class, Scope), Quota)>,
}

impl Default for Policy {
    /// Per minute: auth 120 per IP; search 120 per user, 600 per IP; reads 1,200 per user, 6,000
    /// per IP; writes 300 per user, 1,200 per IP (an IP may be a network address translator in
    /// front of many users, so its quotas are larger). Reports: 20 per user and 100 per IP an
    /// hour.
    fn default() -> Self {
        let minute = |quota| Quota {
            quota,
            window: Duration::from_secs(60),
        };
        let hour = |quota| Quota {
            quota,
            window: Duration::from_secs(3600),
        };
        Self {
            quotas: vec![
                ((Class::Auth, Scope::Ip), minute(120)),
                ((Class::Search, Scope::User), minute(120)),
                ((Class::Search, Scope::Ip), minute(600)),
                ((Class::Report, Scope::User), hour(20)),
                ((Class::Report, Scope::Ip), hour(100)),
                ((Class::Read, Scope::User), minute(1200)),
                ((Class::Read, Scope::Ip), minute(6000)),
                ((Class::Write, Scope::User), minute(300)),
                ((Class::Write, Scope::Ip), minute(1200)),
            ],
        }
    }
}

impl Policy {
    /// No limits at all.
    pub fn off() -> Self {
        Self { quotas: Vec::new() }
    }

    /// Parses `SOCIAL_LIVE_RATE_LIMITS`: empty for the defaults, `off` for none, or
    /// comma-separated `class.scope=quota/seconds` entries (`read.user=600/60`) that replace
    /// those defaults (`quota` 0 removes that limit).
    ///
    /// # Errors
    ///
    /// A message naming the entry that does not parse.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let spec = spec.trim();
        if spec.eq_ignore_ascii_case("off") {
            return Ok(Self::off());
        }
        let mut policy = Self::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || {
                format!(
                    "invalid rate limit {entry:?}: expected class.scope=quota/seconds with class \
                     auth, search, read or write and scope ip or user"
                )
            };
            let (name, value) = entry.split_once('=').ok_or_else(bad)?;
            let (class, scope) = name.trim().split_once('.').ok_or_else(bad)?;
            let class = Class::ALL
                .into_iter()
                .find(|c| c.as_str() == class)
                .ok_or_else(bad)?;
            let scope = [Scope::Ip, Scope::User]
                .into_iter()
                .find(|s| s.as_str() == scope)
                .ok_or_else(bad)?;
            let (quota, secs) = value.trim().split_once('/').ok_or_else(bad)?;
            let quota: u32 = quota.trim().parse().map_err(|_| bad())?;
            let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
            if secs == 0 || secs > 86_400 {
                return Err(bad());
            }
            policy.quotas.retain(|(key, _)| *key != (class, scope));
            if quota > 0 {
                policy.quotas.push((
                    (class, scope),
                    Quota {
                        quota,
                        window: Duration::from_secs(secs),
                    },
                ));
            }
        }
        Ok(policy)
    }

    /// The quota of `class` for `scope`, if limited.
    pub fn quota(&self, class: Class, scope: Scope) -> Option<Quota> {
        self.quotas
            .iter()
            .find(|(key, _)| *key == (class, scope))
            .map(|(_, q)| *q)
    }

    pub fn is_off(&self) -> bool {
        self.quotas.is_empty()
    }
}

/// What GCRA decided for one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests left now (0 when refused).
    pub remaining: u32,
    /// Milliseconds until the quota is whole again (allowed), or until the next request would be
    /// allowed (refused).
    pub reset_ms: i64,
}

/// GCRA for one key whose theoretical arrival time is `tat` (ms; `None`: never seen), at `now`.
/// Returns the decision and the new `tat` to store (unchanged when refused). This is the
/// reference the Redis script mirrors.
pub fn gcra(tat: Option<i64>, now: i64, quota: Quota) -> (Decision, i64) {
    let interval = quota.interval_ms();
    let window = quota.window_ms();
    let tat = tat.unwrap_or(now).max(now);
    let next = tat + interval;
    if next - now > window {
        let decision = Decision {
            allowed: false,
            remaining: 0,
            reset_ms: next - now - window,
        };
        return (decision, tat);
    }
    let decision = Decision {
        allowed: true,
        remaining: ((window - (next - now)) / interval) as u32,
        reset_ms: next - now,
    };
    (decision, next)
}

/// GCRA on up to two keys at once in Redis, on its clock (`TIME`): both are checked, and both
/// are charged only when both allow. Returns, per key, allowed (0/1), the new or kept TAT offset
/// from now (ms).
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
local ok = true
local next = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local n = tat + interval
  if n - now > window then
    ok = false
    out[2 * i - 1] = 0
    out[2 * i] = n - now - window
  else
    out[2 * i - 1] = 1
    out[2 * i] = n - now
  end
  next[i] = n
end
if ok then
  for i, key in ipairs(KEYS) do
    redis.call('SET', key, next[i], 'PX', math.max(1, next[i] - now))
  end
end
return out
";

/// The script, hashed once (`EVALSHA`, loaded on first use).
static GCRA_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(GCRA));

/// One key to check: its name and quota.
#[derive(Clone, Debug)]
pub struct Check {
    pub key: String,
    pub quota: Quota,
}

/// The route limiter. Cheap to clone.
#[derive(Clone)]
pub struct RouteLimiter {
    pub policy: Arc<Policy>,
    memory: Cache<String, Arc<std::sync::Mutex<i64>>>,
    redis: Option<(ConnectionManager, String)>,
    breaker: Breaker,
}

impl std::fmt::Debug for RouteLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteLimiter")
            .field("policy", &self.policy)
            .field("redis", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

impl RouteLimiter {
    /// A limiter for `policy`, in Redis when `redis` (a connection and a key prefix) is given.
    pub fn new(policy: Policy, redis: Option<(ConnectionManager, String)>) -> Self {
        let longest = Class::ALL
            .into_iter()
            .flat_map(|c| [Scope::Ip, Scope::User].map(|s| policy.quota(c, s)))
            .flatten()
            .map(|q| q.window)
            .max()
            .unwrap_or(Duration::from_secs(60));
        Self {
            policy: Arc::new(policy),
            memory: Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(longest)
                .build(),
            redis,
            breaker: Breaker::default(),
        }
    }

    /// Checks and charges `checks` together (both are charged only when every one allows), in
    /// Redis when it answers in time, else in this process. The decisions are in the order of
    /// `checks`.
    pub async fn check(&self, checks: &[Check]) -> Vec<Decision> {
        if let Some((conn, prefix)) = &self.redis {
            let mut script = GCRA_SCRIPT.prepare_invoke();
            for c in checks {
                script
                    .key(format!("{prefix}{}", c.key))
                    .arg(c.quota.interval_ms())
                    .arg(c.quota.window_ms());
            }
            let mut conn = conn.clone();
            if let Some(out) = self
                .breaker
                .within(script.invoke_async::<Vec<i64>>(&mut conn))
                .await
                && out.len() == 2 * checks.len()
            {
                return checks
                    .iter()
                    .zip(out.chunks(2))
                    .map(|(c, pair)| {
                        let (allowed, offset) = (pair[0] == 1, pair[1]);
                        let interval = c.quota.interval_ms();
                        Decision {
                            allowed,
                            remaining: if allowed {
                                ((c.quota.window_ms() - offset) / interval) as u32
                            } else {
                                0
                            },
                            reset_ms: offset,
                        }
                    })
                    .collect();
            }
        }
        self.check_here(checks).await
    }

    async fn check_here(&self, checks: &[Check]) -> Vec<Decision> {
        let now = now_ms();
        let cells: Vec<Arc<std::sync::Mutex<i64>>> = {
            let mut cells = Vec::with_capacity(checks.len());
            for c in checks {
                cells.push(
                    self.memory
                        .get_with(c.key.clone(), async { Arc::new(std::sync::Mutex::new(0)) })
                        .await,
                );
            }
            cells
        };
        let mut guards: Vec<_> = cells
            .iter()
            .map(|cell| cell.lock().unwrap_or_else(|e| e.into_inner()))
            .collect();
        let results: Vec<(Decision, i64)> = checks
            .iter()
            .zip(&guards)
            .map(|(c, tat)| gcra((**tat != 0).then_some(**tat), now, c.quota))
            .collect();
        if results.iter().all(|(d, _)| d.allowed) {
            for (guard, (_, tat)) in guards.iter_mut().zip(&results) {
                **guard = *tat;
            }
        }
        results.into_iter().map(|(d, _)| d).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(quota: u32, secs: u64) -> Quota {
        Quota {
            quota,
            window: Duration::from_secs(secs),
        }
    }

    /// GCRA against a brute-force oracle: a request at `t` is allowed when, counting each
    /// allowed request as occupying `interval` of a virtual queue drained in real time, the
    /// queue after it is no longer than the window.
    #[test]
    fn gcra_matches_a_leaky_bucket_simulation() {
        let quota = q(10, 1);
        let interval = quota.interval_ms();
        let mut tat = None;
        let mut queue_end = 0i64; // the oracle: when the virtual queue drains
        let mut state = 12345u64;
        let mut now = 1_000_000i64;
        for _ in 0..5_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            now += (state >> 33) as i64 % 150;
            let (decision, next) = gcra(tat, now, quota);
            let drained = queue_end.max(now);
            let want = drained + interval - now <= quota.window_ms();
            assert_eq!(decision.allowed, want, "at {now}");
            if want {
                queue_end = drained + interval;
                assert_eq!(next, queue_end);
                let left = (quota.window_ms() - (queue_end - now)) / interval;
                assert_eq!(i64::from(decision.remaining), left);
            }
            tat = Some(next);
        }
    }

    #[test]
    fn a_burst_takes_the_quota_then_waits_one_interval() {
        let quota = q(5, 60);
        let (mut tat, now) = (None, 0);
        for left in (0..5).rev() {
            let (d, next) = gcra(tat, now, quota);
            assert!(d.allowed);
            assert_eq!(d.remaining, left);
            tat = Some(next);
        }
        let (d, kept) = gcra(tat, now, quota);
        assert!(!d.allowed);
        assert_eq!(d.reset_ms, 12_000, "one interval of 60 s / 5");
        assert_eq!(Some(kept), tat, "a refusal charges nothing");
        assert!(gcra(tat, 12_000, quota).0.allowed);
    }

    #[test]
    fn policies_parse_and_reject() {
        assert_eq!(Policy::parse("").unwrap(), Policy::default());
        assert!(Policy::parse("OFF").unwrap().is_off());
        let p = Policy::parse("read.user=5/10, write.ip=0/60").unwrap();
        assert_eq!(p.quota(Class::Read, Scope::User), Some(q(5, 10)));
        assert_eq!(p.quota(Class::Write, Scope::Ip), None);
        assert_eq!(
            p.quota(Class::Read, Scope::Ip),
            Policy::default().quota(Class::Read, Scope::Ip)
        );
        for bad in [
            "read",
            "read.user",
            "read.user=5",
            "reads.user=5/10",
            "read.device=5/10",
            "read.user=x/10",
            "read.user=5/0",
            "read.user=-1/10",
        ] {
            assert!(Policy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn classes_follow_the_path_and_method() {
        use axum::http::Method;
        assert_eq!(
            Class::of(&Method::POST, "/v1/auth/login"),
            Some(Class::Auth)
        );
        assert_eq!(
            Class::of(&Method::GET, "/v1/search/posts"),
            Some(Class::Search)
        );
        assert_eq!(Class::of(&Method::GET, "/v1/feed"), Some(Class::Read));
        assert_eq!(Class::of(&Method::POST, "/v1/reports"), Some(Class::Report));
        assert_eq!(Class::of(&Method::GET, "/v1/reports"), Some(Class::Read));
        assert_eq!(
            Class::of(&Method::DELETE, "/v1/posts/1"),
            Some(Class::Write)
        );
        assert_eq!(Class::of(&Method::GET, "/healthz"), None);
        assert_eq!(Class::of(&Method::GET, "/metrics"), None);
    }

    #[tokio::test]
    async fn two_keys_are_charged_together_or_not_at_all() {
        let limiter = RouteLimiter::new(Policy::default(), None);
        let tight = Check {
            key: "user".into(),
            quota: q(2, 60),
        };
        let loose = Check {
            key: "ip".into(),
            quota: q(100, 60),
        };
        let both = [tight.clone(), loose.clone()];
        assert!(limiter.check(&both).await.iter().all(|d| d.allowed));
        assert!(limiter.check(&both).await.iter().all(|d| d.allowed));
        let third = limiter.check(&both).await;
        assert!(!third[0].allowed && third[1].allowed);
        // The refused request charged the loose key nothing: this is its third charge.
        let ip = limiter.check(std::slice::from_ref(&loose)).await;
        assert_eq!(ip[0].remaining, 97);
    }

    /// Redis unreachable: answers come from this process, and Redis is skipped for the breaker's
    /// time after the first failure (one timeout, not one per request).
    #[tokio::test]
    async fn an_unreachable_redis_falls_back_and_is_skipped() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conn = crate::auth::ratelimit::connect(&format!("redis://127.0.0.1:{port}")).unwrap();
        let limiter = RouteLimiter::new(Policy::default(), Some((conn, "t:".into())));
        let check = [Check {
            key: "k".into(),
            quota: q(2, 60),
        }];
        assert!(limiter.check(&check).await[0].allowed);
        assert!(
            !limiter.breaker.closed(),
            "Redis is skipped after the failure"
        );
        assert!(limiter.check(&check).await[0].allowed);
        assert!(!limiter.check(&check).await[0].allowed);
    }
}
