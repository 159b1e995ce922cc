//! Who a request is: the account behind an access token, checked on every request without a
//! database round trip.
//!
//! An access token names its user and its session (`sid`). A request is accepted only while the
//! account exists, is neither suspended nor banned, and the session is live, and it acts with
//! the account's *current* role, not the role the token was issued with. All of it comes from a
//! [`Principal`] per account, read from the store (one statement) and kept in a [`LogCache`]:
//! every change to a role or to a session (sign-in, logout, reuse of a refresh token, password
//! change, a session ended from `DELETE /v1/me/sessions/{id}`) appends `account_changed`, every
//! suspension, ban and reinstatement appends `restricted`, and every replica drops the entry
//! when it applies either. A suspension ends at its time without a record (the standing is
//! compared with the clock on every request).
//!
//! **Bound.** A revocation holds on every replica within [`TRUST`] of its commit: a replica uses
//! its cache only while its tailer read to the end of the log within that window (one poll is
//! 500 ms), and reads the account from the database otherwise.
//!
//! **A new sign-in** is known to the replica that made it at once (read your writes); on another
//! replica a token whose session the cached entry does not list is checked against the database
//! before it is refused, so a login is never refused during the log's lag.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::Role;
use crate::cache::LogCache;
use crate::store::Store;
use crate::store::moderation::Standing;

/// How stale a replica's view of sessions and roles may be: it trusts its cache only while its
/// tailer read to the end of the log this recently (see
/// [`ChangeFeed::is_current_within`](crate::changes::ChangeFeed::is_current_within)).
pub const TRUST: Duration = Duration::from_secs(1);

/// Entries live at most this long (a bound for memory, not for correctness).
const TTL: Duration = Duration::from_secs(600);

/// What authenticates an account's requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    /// Suspended or banned accounts are refused (a suspension ends at its time, cached or not).
    pub standing: Standing,
    /// Its live sessions, ascending (at most [`MAX_SESSIONS`]).
    pub sessions: Vec<i64>,
}

/// Most live sessions an account keeps: a sign-in past it ends the oldest.
pub const MAX_SESSIONS: i64 = 32;

/// The cache. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Principals {
    /// `None`: no such account (deleted).
    cache: LogCache<i64, Option<Principal>>,
}

fn weight(p: &Option<Principal>) -> u32 {
    64 + 8 * p.as_ref().map_or(0, |p| p.sessions.len() as u32)
}

/// Why a token's session does not authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The account no longer exists.
    NoAccount,
    /// The session was ended (logout, password change, reused refresh token, ended by its
    /// owner) or never existed.
    SessionEnded,
    /// The account is suspended or banned (the standing in force now).
    Restricted(Standing),
}

/// The verdict on `session` of an account (`None`: no such account) at `now`.
fn verdict(principal: Option<&Principal>, session: i64, now: i64) -> Result<Role, Refused> {
    let p = principal.ok_or(Refused::NoAccount)?;
    if p.sessions.binary_search(&session).is_err() {
        return Err(Refused::SessionEnded);
    }
    match p.standing.at(now) {
        Standing::Active => Ok(p.role),
        restricted => Err(Refused::Restricted(restricted)),
    }
}

impl Principals {
    /// A cache of at most `max_bytes`.
    pub fn new(max_bytes: u64) -> Self {
        Self {
            cache: LogCache::new(max_bytes, TTL, weight),
        }
    }

    /// The current role of `user` if `session` is one of their live sessions. `trusted` false
    /// (the tailer is not current) reads from the database and caches nothing.
    ///
    /// # Errors
    ///
    /// The database error of a read.
    pub async fn check(
        &self,
        store: &Store,
        user: i64,
        session: i64,
        trusted: bool,
    ) -> sqlx::Result<Result<Role, Refused>> {
        let now = crate::store::now();
        if trusted
            && let Some(cached) = self.cache.get(&user).await
            && let Some(p) = cached.as_ref()
            && p.sessions.binary_search(&session).is_ok()
        {
            metrics::counter!("social_live_principal_total", "result" => "hit").increment(1);
            return Ok(verdict(Some(p), session, now));
        }
        // Not cached, untrusted, or a session the entry does not list (a sign-in made on
        // another replica moments ago, or an ended one): the database decides.
        let result = if trusted { "miss" } else { "untrusted" };
        metrics::counter!("social_live_principal_total", "result" => result).increment(1);
        let ticket = self.cache.ticket(&user);
        let principal = store.principal(user).await?;
        let verdict = verdict(principal.as_ref(), session, now);
        if trusted {
            self.cache.insert(user, Arc::new(principal), ticket).await;
        }
        Ok(verdict)
    }

    /// Drops `user`'s entry (their role or sessions changed).
    pub async fn invalidate(&self, user: i64) {
        self.cache.invalidate(&user).await;
    }

    /// Drops every entry (after a reload from a snapshot).
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }
}
