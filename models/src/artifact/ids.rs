//! Id list files: one raw id per line, `\n`-terminated, in index order.

use std::path::Path;

use crate::error::{Error, Result};

/// The file bytes for `ids`.
///
/// # Errors
///
/// [`Error::InvalidId`] if an id contains `\n` or `\r` (it could not be read back).
pub(crate) fn encode(ids: &[String], what: &'static str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(ids.iter().map(|id| id.len() + 1).sum());
    for (index, id) in ids.iter().enumerate() {
        if id.contains(['\n', '\r']) {
            return Err(Error::InvalidId { what, index });
        }
        out.extend_from_slice(id.as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

/// The ids in file bytes written by [`encode`].
///
/// # Errors
///
/// [`Error::MalformedIds`] if the bytes are not UTF-8 or the last line is unterminated.
pub(crate) fn decode(bytes: &[u8], path: &Path) -> Result<Vec<String>> {
    let bad = |reason: &str| Error::MalformedIds {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| bad("last line is not terminated"))?;
    Ok(body.split('\n').map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_including_empty_and_unicode_ids() {
        let ids: Vec<String> = ["u1", "", "ü ñ\tx", "42"].map(String::from).to_vec();
        let bytes = encode(&ids, "user").unwrap();
        assert_eq!(bytes, b"u1\n\n\xc3\xbc \xc3\xb1\tx\n42\n");
        assert_eq!(decode(&bytes, Path::new("ids.txt")).unwrap(), ids);
        assert!(decode(b"", Path::new("ids.txt")).unwrap().is_empty());
        assert_eq!(encode(&[], "user").unwrap(), b"");
    }

    #[test]
    fn rejects_ids_with_line_breaks() {
        for bad in ["a\nb", "a\r"] {
            let ids = vec!["ok".to_owned(), bad.to_owned()];
            assert!(matches!(
                encode(&ids, "item"),
                Err(Error::InvalidId {
                    what: "item",
                    index: 1
                })
            ));
        }
    }

    #[test]
    fn rejects_malformed_files() {
        for bad in [&b"a\nb"[..], b"\xff\n"] {
            assert!(matches!(
                decode(bad, Path::new("ids.txt")),
                Err(Error::MalformedIds { .. })
            ));
        }
    }
}
