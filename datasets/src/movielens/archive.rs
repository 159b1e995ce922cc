//! Reading and checking archives: zip members, SHA-256 digests, the content fingerprint, and the
//! GroupLens `u.data` conversion.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The recbole header of `ml-100k.inter`.
pub(super) const INTER_HEADER: &str = "user_id:token\titem_id:token\trating:float\ttimestamp:float";
/// Members are a few MB; refuse to inflate anything much larger.
const MAX_MEMBER_BYTES: u64 = 256 * 1024 * 1024;

/// The canonical content fingerprint of an interactions file: SHA-256 over its data lines (the first
/// line, the header, is dropped; `\r` and blanks around tab-separated fields are trimmed; empty lines
/// are dropped), sorted bytewise, each followed by `\n`.
///
/// It identifies the ratings independently of row order, so recbole's `ml-100k.inter` and a
/// conversion of GroupLens' `u.data` agree ([`INTER_FINGERPRINT`](super::INTER_FINGERPRINT)). Equivalent shell:
/// `tail -n +2 ml-100k.inter | LC_ALL=C sort | sha256sum`.
pub fn content_fingerprint(inter: &[u8]) -> String {
    let mut lines: Vec<Vec<u8>> = inter
        .split(|&b| b == b'\n')
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&[u8]> = line
                .split(|&b| b == b'\t')
                .map(<[u8]>::trim_ascii)
                .collect();
            let joined = fields.join(&b'\t');
            (!joined.is_empty()).then_some(joined)
        })
        .collect();
    lines.sort_unstable();
    let mut hasher = Sha256::new();
    for line in &lines {
        hasher.update(line);
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// `u.data` (whitespace-separated `user item rating timestamp`, no header) to recbole's `.inter`:
/// the header, then the rows in file order joined by tabs.
pub(super) fn grouplens_ratings_to_recbole(u_data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(u_data.len() + INTER_HEADER.len() + 1);
    out.extend_from_slice(INTER_HEADER.as_bytes());
    out.push(b'\n');
    for line in u_data.split(|&b| b == b'\n') {
        let fields: Vec<&[u8]> = line
            .split(u8::is_ascii_whitespace)
            .filter(|f| !f.is_empty())
            .collect();
        if !fields.is_empty() {
            out.extend_from_slice(&fields.join(&b'\t'));
            out.push(b'\n');
        }
    }
    out
}

pub(super) fn open_zip(path: &Path) -> Result<zip::ZipArchive<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    zip::ZipArchive::new(file).map_err(|e| Error::Archive {
        archive: path.to_path_buf(),
        reason: e.to_string(),
    })
}

pub(super) fn read_member(
    zip: &mut zip::ZipArchive<std::fs::File>,
    path: &Path,
    name: &str,
) -> Result<Vec<u8>> {
    let archive_err = |reason: String| Error::Archive {
        archive: path.to_path_buf(),
        reason,
    };
    let member = zip
        .by_name(name)
        .map_err(|e| archive_err(format!("{name}: {e}")))?;
    if member.size() > MAX_MEMBER_BYTES {
        return Err(archive_err(format!(
            "{name}: {} bytes is too large",
            member.size()
        )));
    }
    let mut bytes = Vec::with_capacity(member.size() as usize);
    member
        .take(MAX_MEMBER_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| archive_err(format!("{name}: {e}")))?;
    Ok(bytes)
}

pub(super) fn check_sha(path: &Path, bytes: &[u8], expected: &str) -> Result<()> {
    let got = sha256_hex(bytes);
    if got == expected {
        Ok(())
    } else {
        Err(Error::ChecksumMismatch {
            path: path.to_path_buf(),
            what: "sha256",
            expected: expected.to_owned(),
            got,
        })
    }
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(super) fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(sha256_hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_header_order_and_blank_lines() {
        let a = content_fingerprint(b"h\n2\t1\t5\t9\n1\t3\t4\t8\n");
        let b = content_fingerprint(b"other header\r\n1\t3\t4\t8\r\n\n2\t1\t5\t9");
        assert_eq!(a, b);
        assert_eq!(a, sha256_hex(b"1\t3\t4\t8\n2\t1\t5\t9\n"));
        assert_ne!(a, content_fingerprint(b"h\n2\t1\t5\t9\n1\t3\t4\t7\n"));
    }

    #[test]
    fn grouplens_ratings_get_the_recbole_header() {
        let out = grouplens_ratings_to_recbole(b"1 2  3\t4\n\n5\t6\t7\t8\n");
        assert_eq!(
            out,
            format!("{INTER_HEADER}\n1\t2\t3\t4\n5\t6\t7\t8\n").into_bytes()
        );
    }
}
