//! Authentication: argon2id passwords, HS256 access tokens, rotating refresh tokens, the
//! extractors that check roles, and the login rate limits.

pub mod extract;
pub mod jwt;
pub mod password;
pub mod ratelimit;

use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;

/// What a user may do. Ordered: an admin can do what a creator can, a creator what a user can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads, posts, follows, likes, comments.
    User,
    /// A user who also sees their audience statistics.
    Creator,
    /// A creator who also works the report queue and hides, restores or removes posts.
    Moderator,
    /// Everything: accounts (suspensions, bans, roles), the audit log and models.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Creator => "creator",
            Self::Moderator => "moderator",
            Self::Admin => "admin",
        }
    }

    /// Parses a stored role; unknown strings are the least privileged role.
    pub fn parse(s: &str) -> Self {
        match s {
            "admin" => Self::Admin,
            "moderator" => Self::Moderator,
            "creator" => Self::Creator,
            _ => Self::User,
        }
    }
}

/// A new opaque refresh token: 256 random bits, base64url.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How a refresh token is stored: its SHA-256, hex. The token itself has 256 bits of entropy,
/// so a fast hash is enough (no dictionary to attack), and lookups stay an index probe.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse() {
        assert!(Role::Admin > Role::Creator && Role::Creator > Role::User);
        for role in [Role::User, Role::Creator, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), role);
        }
        assert_eq!(Role::parse("root"), Role::User);
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_refresh_token(&a).len(), 64);
        assert_eq!(hash_refresh_token(&a), hash_refresh_token(&a));
    }
}
