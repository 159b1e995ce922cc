//! The opaque feed cursor.
//!
//! A cursor is the hex encoding of a small JSON document: a format version, the user it
//! belongs to, the feed session (which cached ranked list it continues) and the ids of every
//! post served in the session so far. The served set is what guarantees that pages never
//! repeat an item even when the session's list is rebuilt (expired from the cache, invalidated
//! by the user's own action, or ranked by a newer model); walking the list in order past the
//! served posts is what guarantees that none is skipped.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{PostId, UserId};

/// Version 1 carried hashes of string ids; version 2 carries the integer ids.
const CURSOR_VERSION: u32 = 2;

/// The decoded cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    #[serde(rename = "v")]
    pub version: u32,
    #[serde(rename = "u")]
    pub user: UserId,
    #[serde(rename = "s")]
    pub session: u64,
    #[serde(rename = "p")]
    pub served: Vec<PostId>,
}

impl Cursor {
    pub(crate) fn new(user: UserId, session: u64, served: &HashSet<PostId>) -> Self {
        let mut served: Vec<PostId> = served.iter().copied().collect();
        served.sort_unstable();
        Self {
            version: CURSOR_VERSION,
            user,
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
    pub(crate) fn decode(text: &str, user: UserId) -> Result<Self> {
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
        if cursor.user != user {
            return Err(Error::CursorUserMismatch);
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: UserId = UserId(1);
    const BOB: UserId = UserId(2);

    #[test]
    fn a_cursor_round_trips_for_its_user_only() {
        let served: HashSet<PostId> = [PostId(11), PostId(-4)].into();
        let c = Cursor::new(ALICE, 7, &served);
        assert_eq!(c.served, vec![PostId(-4), PostId(11)]);
        let text = c.encode();
        assert_eq!(Cursor::decode(&text, ALICE).unwrap(), c);
        assert!(matches!(
            Cursor::decode(&text, BOB),
            Err(Error::CursorUserMismatch)
        ));
    }

    #[test]
    fn foreign_and_tampered_cursors_are_rejected() {
        assert!(matches!(
            Cursor::decode("zz", ALICE),
            Err(Error::InvalidCursor {
                reason: "not hexadecimal"
            })
        ));
        assert!(matches!(
            Cursor::decode(&hex::encode(b"{}"), ALICE),
            Err(Error::InvalidCursor {
                reason: "malformed"
            })
        ));
        // Served ids that are not integers (a version 1 cursor's hashes overflow i64 too).
        let tampered = br#"{"v":2,"u":1,"s":3,"p":["p1"]}"#;
        assert!(matches!(
            Cursor::decode(&hex::encode(tampered), ALICE),
            Err(Error::InvalidCursor {
                reason: "malformed"
            })
        ));
        let mut c = Cursor::new(ALICE, 1, &HashSet::new());
        c.version = 1;
        assert!(matches!(
            Cursor::decode(&c.encode(), ALICE),
            Err(Error::InvalidCursor {
                reason: "unknown version"
            })
        ));
        // Rewriting the user makes a cursor of another user's feed: rejected for this one.
        let mut c = Cursor::new(ALICE, 1, &HashSet::new());
        c.user = BOB;
        assert!(matches!(
            Cursor::decode(&c.encode(), ALICE),
            Err(Error::CursorUserMismatch)
        ));
    }
}
