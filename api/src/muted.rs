//! Muted words: what a user's muted phrases hide, and the per-replica cache of each user's list.
//!
//! **Matching.** A phrase and a post's text are compared as word sequences: runs of letters,
//! digits and `_`, lowercased (so case, punctuation and spacing never matter, and `car` does not
//! hide `cards`). A post is muted when its text holds the phrase's words in a row, or when one of
//! its topics has the phrase's words (a leading `#` is ignored: `#f1` mutes the topic `f1`).
//! Each entry applies
//! until its expiry, compared with the request's clock, so an expired phrase stops hiding
//! without any write.
//!
//! **Cache.** Lists are read per user on a miss and kept in a [`LogCache`] (at most
//! [`CACHE_BYTES`], each at most the context time-to-live old), dropped by the change record
//! `muted_words_changed`; like the user contexts, it is bypassed while the replica is not
//! applying the log.

use std::sync::Arc;
use std::time::Duration;

use engine::UserId;

use crate::cache::LogCache;
use crate::store::Store;
use crate::store::posts::PostRow;

/// The longest phrase, in characters.
pub const PHRASE_MAX: usize = 100;
/// The most words in a phrase.
pub const PHRASE_WORDS: usize = 8;
/// Bytes of muted lists kept per replica.
pub const CACHE_BYTES: u64 = 16 << 20;

/// The words of `text`: runs of letters, digits and `_` (as in topics), lowercased.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// A phrase as stored: its words joined by single spaces; `None` when it has no word.
pub fn normalise(phrase: &str) -> Option<String> {
    let words: Vec<String> = words(phrase).collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// One user's muted phrases, compiled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MutedWords {
    /// (words, until: Unix seconds, exclusive; `None` for good).
    phrases: Vec<(Vec<String>, Option<i64>)>,
}

impl MutedWords {
    /// From stored phrases (normalised) and their expiries.
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, Option<i64>)>) -> Self {
        Self {
            phrases: entries
                .into_iter()
                .map(|(phrase, until)| (words(phrase).collect::<Vec<_>>(), until))
                .filter(|(words, _)| !words.is_empty())
                .collect(),
        }
    }

    /// Whether no phrase is muted at all (most users): callers skip the filtering.
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// Whether a post with `text` and `topics` is muted at `now`.
    pub fn hides(&self, text: &str, topics: &[String], now: i64) -> bool {
        let mut live = self
            .phrases
            .iter()
            .filter(|(_, until)| until.is_none_or(|until| now < until))
            .peekable();
        if live.peek().is_none() {
            return false;
        }
        let text: Vec<String> = words(text).collect();
        let topics: Vec<Vec<String>> = topics.iter().map(|t| words(t).collect()).collect();
        live.any(|(phrase, _)| {
            topics.iter().any(|t| t == phrase)
                || text.windows(phrase.len()).any(|w| w == phrase.as_slice())
        })
    }

    /// Whether `post` is muted at `now`.
    pub fn hides_post(&self, post: &PostRow, now: i64) -> bool {
        !self.is_empty() && self.hides(&post.text, &post.topic_list(), now)
    }
}

fn weight(muted: &MutedWords) -> u32 {
    let bytes: usize = muted
        .phrases
        .iter()
        .map(|(w, _)| 40 + w.iter().map(|w| 24 + w.len()).sum::<usize>())
        .sum();
    u32::try_from(64 + bytes).unwrap_or(u32::MAX)
}

/// The per-replica cache of muted lists. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MutedCache {
    cache: LogCache<UserId, MutedWords>,
}

impl MutedCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            cache: LogCache::new(CACHE_BYTES, ttl, weight),
        }
    }

    /// `user`'s muted phrases, from the cache or the store (see
    /// [`UserContexts::get`](crate::context::UserContexts::get) for `trusted`).
    ///
    /// # Errors
    ///
    /// The database error of a read.
    pub async fn get(
        &self,
        store: &Store,
        user: UserId,
        trusted: bool,
    ) -> sqlx::Result<Arc<MutedWords>> {
        if trusted && let Some(muted) = self.cache.get(&user).await {
            return Ok(muted);
        }
        let ticket = self.cache.ticket(&user);
        let rows = store.muted_phrases(user.0, crate::store::now()).await?;
        let muted = Arc::new(MutedWords::new(
            rows.iter().map(|r| (r.phrase.as_str(), r.expires_at)),
        ));
        if trusted {
            self.cache.insert(user, Arc::clone(&muted), ticket).await;
        }
        Ok(muted)
    }

    /// Drops `user`'s list.
    pub async fn invalidate(&self, user: UserId) {
        self.cache.invalidate(&user).await;
    }

    /// Drops every list.
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn phrases_match_whole_words_in_a_row_and_topics() {
        let muted = MutedWords::new([("spoiler", None), ("red car", None), ("f1", Some(100))]);
        let none = topics(&[]);
        assert!(muted.hides("Huge SPOILER ahead!", &none, 0));
        assert!(muted.hides("my Red   car, finally", &none, 0));
        assert!(muted.hides("a red-car day", &none, 0));
        // Whole words only, and in a row.
        assert!(!muted.hides("spoilers everywhere", &none, 0));
        assert!(!muted.hides("a red fast car", &none, 0));
        assert!(!muted.hides("car red", &none, 0));
        // A phrase hides a topic of the same words; a part of a topic does not.
        assert!(muted.hides("nothing here", &topics(&["f1"]), 0));
        assert!(muted.hides("nothing here", &topics(&["red-car"]), 0));
        assert!(!muted.hides("nothing here", &topics(&["red"]), 0));
        let cup = MutedWords::new([("zeppelin_cup", None)]);
        assert!(cup.hides("", &topics(&["zeppelin_cup"]), 0));
        assert!(!cup.hides("", &topics(&["zeppelin"]), 0));
        assert!(!cup.hides("the zeppelin cup", &none, 0));
        // Until its expiry, exclusive.
        assert!(muted.hides("f1 race", &none, 99));
        assert!(!muted.hides("f1 race", &none, 100));
        assert!(!MutedWords::default().hides("spoiler", &none, 0));
    }

    #[test]
    fn phrases_normalise_to_their_words() {
        assert_eq!(normalise("  #Red,  CAR! ").as_deref(), Some("red car"));
        assert_eq!(
            normalise("Ünïcode Straße").as_deref(),
            Some("ünïcode straße")
        );
        assert_eq!(normalise(" #!? "), None);
        let muted = MutedWords::new([(normalise("#Cars").unwrap().as_str(), None)]);
        assert!(muted.hides("", &topics(&["cars"]), 0));
    }
}
