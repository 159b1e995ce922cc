//! Typed ids: [`UserId`] and [`PostId`], the database's integer keys.
//!
//! The engine never handles ids as strings. The model artifact's raw ids are strings; they are
//! parsed once, when a model state is built (see `state`), and raw ids that are not integers
//! are left out of its maps (no request can name them).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A user id (the database's integer key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

/// A post id (the database's integer key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PostId(pub i64);

macro_rules! plain_integer {
    ($id:ident) => {
        impl fmt::Display for $id {
            /// The plain integer.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<i64> for $id {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }
    };
}

plain_integer!(UserId);
plain_integer!(PostId);

/// Parses the model artifact's raw ids: `Some` for each integer id, `None` for the others.
/// Returns the ids by row and how many were not integers.
pub(crate) fn parse_raw_ids<T: From<i64>>(raw: &[String]) -> (Vec<Option<T>>, usize) {
    let mut skipped = 0;
    let ids = raw
        .iter()
        .map(|id| {
            let parsed = id.parse::<i64>().ok().map(T::from);
            skipped += usize::from(parsed.is_none());
            parsed
        })
        .collect();
    (ids, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_display_as_plain_integers_and_serialize_transparently() {
        assert_eq!(UserId(42).to_string(), "42");
        assert_eq!(PostId::from(-7).to_string(), "-7");
        assert_eq!(serde_json::to_string(&PostId(9)).unwrap(), "9");
        assert_eq!(serde_json::from_str::<UserId>("12").unwrap(), UserId(12));
    }

    #[test]
    fn raw_ids_that_are_not_integers_are_skipped_and_counted() {
        let raw: Vec<String> = ["1", "p2", "-3", "", "4.0", "9223372036854775807"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let (ids, skipped) = parse_raw_ids::<PostId>(&raw);
        assert_eq!(
            ids,
            vec![
                Some(PostId(1)),
                None,
                Some(PostId(-3)),
                None,
                None,
                Some(PostId(i64::MAX))
            ]
        );
        assert_eq!(skipped, 3);
    }
}
