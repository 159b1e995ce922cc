//! Cursor pagination shared by every list endpoint: opaque cursors, a default and a maximum
//! page size.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Items per page when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest `limit` accepted.
pub const MAX_LIMIT: usize = 100;

/// `?limit=&cursor=` of every list endpoint.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct PageParams {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page; absent for the first page.
    #[param(pattern = "^[A-Za-z0-9_-]+$", max_length = 200)]
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page size.
    ///
    /// # Errors
    ///
    /// 422 `out_of_range` on `limit` outside 1..=100.
    pub fn limit(&self) -> Result<usize, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid(
                "limit",
                "out_of_range",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        Ok(limit)
    }

    /// The position a keyset cursor carries, `None` on the first page.
    ///
    /// # Errors
    ///
    /// 400 `invalid_cursor` when the cursor was not issued by this endpoint kind.
    pub fn position(&self, kind: &str) -> Result<Option<i64>, ApiError> {
        self.cursor.as_deref().map(|c| decode(kind, c)).transpose()
    }
}

/// The page size and keyset position of a list endpoint whose query has its own filters beside
/// `limit` and `cursor` (query strings cannot flatten [`PageParams`] into them).
///
/// # Errors
///
/// As [`PageParams::limit`] and [`PageParams::position`].
pub fn keyset(
    limit: Option<usize>,
    cursor: Option<String>,
    kind: &str,
) -> Result<(usize, Option<i64>), ApiError> {
    let paging = PageParams { limit, cursor };
    Ok((paging.limit()?, paging.position(kind)?))
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The cursor for position `at` of a list of `kind`.
pub fn encode(kind: &str, at: i64) -> String {
    encode_key(kind, &at.to_string())
}

/// The cursor for the text key `key` of a list of `kind` (a list ordered by name).
pub fn encode_key(kind: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{key}"))
}

/// 400 `invalid_cursor`.
pub fn invalid_cursor() -> ApiError {
    ApiError::bad_request(
        "invalid_cursor",
        "the cursor is malformed or belongs to another list",
    )
}

fn decode(kind: &str, cursor: &str) -> Result<i64, ApiError> {
    decode_key(kind, cursor)?
        .parse()
        .map_err(|_| invalid_cursor())
}

/// The text key an [`encode_key`] cursor of `kind` carries.
///
/// # Errors
///
/// 400 `invalid_cursor` when the cursor was not issued for `kind`.
pub fn decode_key(kind: &str, cursor: &str) -> Result<String, ApiError> {
    let bad = invalid_cursor;
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (k, key) = text.split_once(':').ok_or_else(bad)?;
    if k != kind {
        return Err(bad());
    }
    Ok(key.to_owned())
}

/// Cuts `rows` (fetched with `limit + 1`) into a page, the cursor from the last kept row.
pub fn page<R, T>(
    mut rows: Vec<R>,
    limit: usize,
    kind: &str,
    key: impl Fn(&R) -> i64,
    map: impl Fn(R) -> T,
) -> Page<T> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(|r| encode(kind, key(r)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(map).collect(),
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_others() {
        let params = PageParams {
            limit: None,
            cursor: Some(encode("posts", 17)),
        };
        assert_eq!(params.position("posts").unwrap(), Some(17));
        assert!(params.position("users").is_err());
        for bad in [
            "",
            "!!",
            "bm90LWEtY3Vyc29y",
            &URL_SAFE_NO_PAD.encode("posts:x"),
        ] {
            let params = PageParams {
                limit: None,
                cursor: Some(bad.to_owned()),
            };
            assert!(params.position("posts").is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_are_bounded() {
        let p = |limit| PageParams {
            limit: Some(limit),
            cursor: None,
        };
        assert_eq!(PageParams::default().limit().unwrap(), DEFAULT_LIMIT);
        assert_eq!(p(100).limit().unwrap(), 100);
        assert!(p(0).limit().is_err());
        assert!(p(101).limit().is_err());
    }

    #[test]
    fn page_cuts_and_points_at_the_last_item() {
        let page = page(vec![9, 8, 7], 2, "k", |r| *r, |r| r);
        assert_eq!(page.items, vec![9, 8]);
        assert_eq!(page.next_cursor, Some(encode("k", 8)));
        let last = super::page(vec![9], 2, "k", |r| *r, |r| r);
        assert_eq!(last.next_cursor, None);
    }
}
