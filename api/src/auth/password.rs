//! Password hashing with argon2id (the crate's defaults: m = 19 MiB, t = 2, p = 1, the OWASP
//! recommendation), run on the bounded [`CpuPool`] so that a login never stalls the async
//! workers and a burst of logins is shed instead of exhausting memory.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};

use crate::cpu::CpuPool;
use crate::error::ApiError;

/// Shortest and longest password accepted, in characters.
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

/// A PHC string (`$argon2id$v=19$…`) for `password`.
///
/// # Errors
///
/// [`ApiError::overloaded`] when no CPU worker is free in time; internal when hashing failed
/// (never with valid parameters) or panicked.
pub async fn hash(cpu: &CpuPool, password: String) -> Result<String, ApiError> {
    cpu.run(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(crate::Error::PasswordHash(e.to_string())))
    })
    .await?
}

/// Whether `password` matches the stored `phc` string. An empty or malformed stored hash
/// (an account without password login) never matches.
///
/// # Errors
///
/// [`ApiError::overloaded`] when no CPU worker is free in time; internal when it panicked.
pub async fn verify(cpu: &CpuPool, password: String, phc: String) -> Result<bool, ApiError> {
    cpu.run(move || {
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
}

/// A hash of a random password: verified against when the account does not exist, so that a
/// login for an unknown handle costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(crate::auth::new_refresh_token().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let cpu = &CpuPool::new(2, std::time::Duration::from_secs(5));
        let a = hash(cpu, "correct horse".into()).await.unwrap();
        let b = hash(cpu, "correct horse".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(
            verify(cpu, "correct horse".into(), a.clone())
                .await
                .unwrap()
        );
        assert!(!verify(cpu, "battery staple".into(), a).await.unwrap());
        assert!(!verify(cpu, "x".into(), String::new()).await.unwrap());
        assert!(
            !verify(cpu, "x".into(), dummy_hash().to_owned())
                .await
                .unwrap()
        );
    }
}
