//! Field rules shared by the handlers. Each failure names its field and a stable code.

use crate::error::ApiError;
use crate::store::users::skeleton;

/// Handles: 3 to 30 characters of `a-z`, `0-9` and `_`, stored lowercased.
pub fn handle(raw: &str) -> Result<String, ApiError> {
    let handle = raw.trim().to_lowercase();
    let ok = (3..=30).contains(&handle.chars().count())
        && handle
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(handle)
    } else {
        Err(ApiError::invalid(
            "handle",
            "invalid_handle",
            "must be 3 to 30 characters of a-z, 0-9 and _",
        ))
    }
}

/// Passwords: 8 to 128 characters.
pub fn password(field: &'static str, raw: &str) -> Result<(), ApiError> {
    use crate::auth::password::{MAX_LEN, MIN_LEN};
    let n = raw.chars().count();
    if n < MIN_LEN {
        return Err(ApiError::invalid(
            field,
            "password_too_short",
            format!("must be at least {MIN_LEN} characters"),
        ));
    }
    if n > MAX_LEN {
        return Err(ApiError::invalid(
            field,
            "password_too_long",
            format!("must be at most {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

/// Free text of at most `max` characters, without control characters other than newlines and
/// tabs; `required` refuses empty (after trimming) text. Returned as sent (not trimmed).
pub fn text(field: &'static str, raw: &str, max: usize, required: bool) -> Result<(), ApiError> {
    if required && raw.trim().is_empty() {
        return Err(ApiError::invalid(field, "required", "must not be empty"));
    }
    if raw.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(ApiError::invalid(
            field,
            "invalid_characters",
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Characters that are invisible or reorder text: bidirectional controls (a name that reads
/// backwards), zero-width and other format characters, fillers that render as blanks. `ZWJ`
/// (U+200D) and variation selectors are allowed where emoji are (`emoji`), as they join and
/// style emoji sequences.
fn is_invisible(c: char, emoji: bool) -> bool {
    let u = u32::from(c);
    if emoji && (u == 0x200D || (0xFE00..=0xFE0F).contains(&u)) {
        return false;
    }
    matches!(u,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x2800 | 0x3164
        | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF9..=0xFFFB | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// Refuses invisible and bidirectional-control characters in a name or bio (422
/// `invisible_characters`); `emoji` allows the joiners of emoji sequences (bios).
pub fn visible(field: &'static str, raw: &str, emoji: bool) -> Result<(), ApiError> {
    if raw.chars().any(|c| is_invisible(c, emoji)) {
        return Err(ApiError::invalid(
            field,
            "invisible_characters",
            "must not contain invisible or text-direction characters",
        ));
    }
    Ok(())
}

/// Names only the service's own staff may look like.
pub const RESERVED_NAMES: &[&str] = &[
    "admin",
    "administrator",
    "moderator",
    "mod",
    "staff",
    "support",
    "official",
    "security",
    "system",
    "root",
    "sociallive",
];

/// Refuses a display name that passes for a reserved name under the Unicode confusable skeleton
/// (UTS #39), 422 `impersonation`; admins may use them.
pub fn not_impersonating(field: &'static str, raw: &str, is_admin: bool) -> Result<(), ApiError> {
    if is_admin {
        return Ok(());
    }
    let name = skeleton(raw);
    if RESERVED_NAMES.iter().any(|r| skeleton(r) == name) {
        return Err(ApiError::invalid(
            field,
            "impersonation",
            "looks like a name reserved for the service's staff",
        ));
    }
    Ok(())
}

/// Longest post text, in characters.
pub const POST_MAX: usize = 2000;
/// Longest comment, in characters.
pub const COMMENT_MAX: usize = 1000;
/// Most topics on a post (given and hashtags together).
pub const TOPICS_MAX: usize = 10;

/// The topics of a post: those given plus the text's `#hashtags`, lowercased, deduplicated in
/// order; each 1 to 50 characters of letters, digits, `_` and `-`.
pub fn topics(given: &[String], text: &str) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for raw in given {
        let topic = raw.trim().trim_start_matches('#').to_lowercase();
        let ok = (1..=50).contains(&topic.chars().count())
            && topic
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(ApiError::invalid(
                "topics",
                "invalid_topic",
                "each topic must be 1 to 50 letters, digits, _ or -",
            ));
        }
        if !out.contains(&topic) {
            out.push(topic);
        }
    }
    for word in text.split_whitespace() {
        if let Some(tag) = word.strip_prefix('#') {
            let tag: String = tag
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect::<String>()
                .to_lowercase();
            if (1..=50).contains(&tag.chars().count()) && !out.contains(&tag) {
                out.push(tag);
            }
        }
    }
    if out.len() > TOPICS_MAX {
        return Err(ApiError::invalid(
            "topics",
            "too_many_topics",
            format!("at most {TOPICS_MAX} topics (hashtags included)"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(err: ApiError) -> &'static str {
        err.code()
    }

    #[test]
    fn handles() {
        assert_eq!(handle(" Alice_99 ").unwrap(), "alice_99");
        for bad in [
            "ab",
            "a b c",
            "émile",
            "x".repeat(31).as_str(),
            "semi;colon",
        ] {
            assert_eq!(code(handle(bad).unwrap_err()), "invalid_handle", "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert!(password("password", "12345678").is_ok());
        assert_eq!(
            code(password("password", "1234567").unwrap_err()),
            "password_too_short"
        );
        assert_eq!(
            code(password("password", &"x".repeat(129)).unwrap_err()),
            "password_too_long"
        );
    }

    #[test]
    fn texts() {
        assert!(text("text", "hello\nworld", 20, true).is_ok());
        assert_eq!(code(text("text", "   ", 20, true).unwrap_err()), "required");
        assert!(text("bio", "", 20, false).is_ok());
        assert_eq!(
            code(text("text", &"é".repeat(21), 20, true).unwrap_err()),
            "too_long"
        );
        assert_eq!(
            code(text("text", "a\u{0}b", 20, true).unwrap_err()),
            "invalid_characters"
        );
    }

    #[test]
    fn topics_merge_hashtags() {
        let t = topics(&["Rust".into(), "#db".into()], "love #rust and #Async, #!").unwrap();
        assert_eq!(t, vec!["rust", "db", "async"]);
        assert_eq!(
            code(topics(&["a b".into()], "").unwrap_err()),
            "invalid_topic"
        );
        let many: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert_eq!(code(topics(&many, "").unwrap_err()), "too_many_topics");
    }
}
