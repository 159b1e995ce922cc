//! The opaque feed cursor.
//!
//! A cursor is the hex encoding of a small JSON document: a format version, a hash of the user
//! it belongs to, the feed session (which cached ranked list it continues) and the hashes of
//! every post served in the session so far. The served set is what guarantees that pages never
//! repeat an item even when the session's list is rebuilt (expired from the cache, invalidated
//! by the user's own action, or ranked by a newer model); walking the list in order past the
//! served posts is what guarantees that none is skipped.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const CURSOR_VERSION: u32 = 1;

/// FNV-1a, 64 bits: a stable hash of post and user ids for cursors (collisions among a
/// session's few hundred posts are negligible).
pub(crate) fn id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The decoded cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    #[serde(rename = "v")]
    pub version: u32,
    #[serde(rename = "u")]
    pub user: u64,
    #[serde(rename = "s")]
    pub session: u64,
    #[serde(rename = "p")]
    pub served: Vec<u64>,
}

impl Cursor {
    pub(crate) fn new(user: &str, session: u64, served: &HashSet<u64>) -> Self {
        let mut served: Vec<u64> = served.iter().copied().collect();
        served.sort_unstable();
        Self {
            version: CURSOR_VERSION,
            user: id_hash(user),
            session,
            served,
        }
    }

    pub(crate) fn encode(&self) -> String {
        hex::encode(serde_json::to_vec(self).expect("a cursor serializes"))
    }

    /// Decodes a cursor and checks it belongs to `user`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCursor`] if it is not one of ours, [`Error::CursorUserMismatch`] if it
    /// belongs to another user.
    pub(crate) fn decode(text: &str, user: &str) -> Result<Self> {
        let bytes = hex::decode(text).map_err(|_| Error::InvalidCursor {
            reason: "not hexadecimal",
        })?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| Error::InvalidCursor {
            reason: "malformed",
        })?;
        if cursor.version != CURSOR_VERSION {
            return Err(Error::InvalidCursor {
                reason: "unknown version",
            });
        }
        if cursor.user != id_hash(user) {
            return Err(Error::CursorUserMismatch);
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_for_its_user_only() {
        let served: HashSet<u64> = [id_hash("p1"), id_hash("p2")].into();
        let c = Cursor::new("alice", 7, &served);
        let text = c.encode();
        assert_eq!(Cursor::decode(&text, "alice").unwrap(), c);
        assert!(matches!(
            Cursor::decode(&text, "bob"),
            Err(Error::CursorUserMismatch)
        ));
    }

    #[test]
    fn foreign_cursors_are_rejected() {
        assert!(matches!(
            Cursor::decode("zz", "a"),
            Err(Error::InvalidCursor {
                reason: "not hexadecimal"
            })
        ));
        assert!(matches!(
            Cursor::decode(&hex::encode(b"{}"), "a"),
            Err(Error::InvalidCursor {
                reason: "malformed"
            })
        ));
        let mut c = Cursor::new("a", 1, &HashSet::new());
        c.version = 99;
        assert!(matches!(
            Cursor::decode(&c.encode(), "a"),
            Err(Error::InvalidCursor {
                reason: "unknown version"
            })
        ));
    }

    #[test]
    fn the_hash_is_fnv1a() {
        assert_eq!(id_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(id_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
