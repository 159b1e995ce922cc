//! Access tokens: HS256 JWTs carrying the user id and the session, valid for a few minutes.
//! They carry no role: a request acts with the account's current role, and only while its
//! session is live (`principals.rs`).

use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The session (sign-in) the token belongs to.
    pub sid: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
}

/// Why a token was refused.
/// A bearer token and the verdict of its verification, kept in a request's extensions.
#[derive(Clone, Debug)]
pub struct Verified {
    pub token: String,
    pub claims: Result<Claims, TokenError>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

/// The signing key and the token lifetime.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl_secs: i64,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

/// Shortest secret accepted, in bytes (HS256 wants at least the hash size).
pub const MIN_SECRET_LEN: usize = 32;

impl Keys {
    /// Keys from a shared secret.
    ///
    /// # Errors
    ///
    /// A secret shorter than [`MIN_SECRET_LEN`] bytes.
    pub fn from_secret(secret: &[u8], ttl_secs: i64) -> Result<Self, crate::Error> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(crate::Error::ShortJwtSecret {
                min: MIN_SECRET_LEN,
                got: secret.len(),
            });
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        // `sid` is required by `Claims` itself: a token of an older binary (no session) is
        // invalid, and its client refreshes.
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        })
    }

    /// The secret in `path`, created (random, 256 bits, mode 0600) when missing.
    ///
    /// # Errors
    ///
    /// The file cannot be read or written, or holds a short secret.
    pub fn from_file(path: &Path, ttl_secs: i64) -> Result<Self, crate::Error> {
        let io = |what| {
            move |source| crate::Error::Io {
                what,
                path: path.to_owned(),
                source,
            }
        };
        if !path.exists() {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io("cannot create the directory of"))?;
            }
            write_private(path, hex::encode(bytes).as_bytes())
                .map_err(io("cannot write the JWT key"))?;
            tracing::info!(path = %path.display(), "generated a new JWT signing key");
        }
        let secret = std::fs::read_to_string(path).map_err(io("cannot read the JWT key"))?;
        Self::from_secret(secret.trim().as_bytes(), ttl_secs)
    }

    /// A signed token for `user`'s `session`, issued at `now`.
    ///
    /// # Errors
    ///
    /// Signing failed (not with an HMAC key).
    pub fn issue(&self, user: i64, session: i64, now: i64) -> Result<String, crate::Error> {
        let claims = Claims {
            sub: user.to_string(),
            sid: session,
            iat: now,
            exp: now + self.ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(crate::Error::Sign)
    }

    /// The claims of a valid, unexpired token.
    /// The claims of `token` as this request verified them: the rate-limit middleware verifies
    /// the bearer token first and leaves its verdict in the request's extensions
    /// ([`Verified`]), so the extractors do not verify it a second time.
    pub fn verify_once(
        &self,
        extensions: &axum::http::Extensions,
        token: &str,
    ) -> Result<Claims, TokenError> {
        match extensions.get::<Verified>() {
            Some(v) if v.token == token => v.claims.clone(),
            _ => self.verify(token),
        }
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_secret(&[7u8; 32], 60).unwrap()
    }

    #[test]
    fn round_trip() {
        let now = crate::store::now();
        let token = keys().issue(42, 5, now).unwrap();
        let claims = keys().verify(&token).unwrap();
        assert_eq!(claims.sub, "42");
        assert_eq!(claims.sid, 5);
        assert_eq!(claims.exp, now + 60);
    }

    #[test]
    fn rejects_expired_tampered_and_foreign_tokens() {
        let token = keys().issue(1, 1, crate::store::now() - 3600).unwrap();
        assert_eq!(keys().verify(&token), Err(TokenError::Expired));
        let good = keys().issue(1, 1, crate::store::now()).unwrap();
        let other = Keys::from_secret(&[8u8; 32], 60).unwrap();
        assert_eq!(other.verify(&good), Err(TokenError::Invalid));
        let mut tampered = good.clone();
        tampered.push('x');
        assert_eq!(keys().verify(&tampered), Err(TokenError::Invalid));
        assert_eq!(keys().verify("not.a.jwt"), Err(TokenError::Invalid));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Keys::from_secret(b"short", 60).is_err());
    }

    #[test]
    fn generated_key_file_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.key");
        let a = Keys::from_file(&path, 60).unwrap();
        let b = Keys::from_file(&path, 60).unwrap();
        let token = a.issue(3, 1, crate::store::now()).unwrap();
        assert_eq!(b.verify(&token).unwrap().sub, "3");
    }
}
