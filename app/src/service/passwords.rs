//! Password hashing (argon2id, off the async runtime, with a concurrency cap) and policy.

use crate::error::AppError;
use argon2::{
    Argon2, PasswordHash, PasswordVerifier,
    password_hash::{PasswordHasher as _, SaltString, rand_core::OsRng},
};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

const COMMON: &str = include_str!("common-passwords.txt");

/// Why a password is refused, as shown beside the field; `None` when it is acceptable.
/// Length is checked by the input's validation; this adds what validation cannot know.
pub fn weakness(password: &str, email: &str) -> Option<&'static str> {
    let lower = password.to_lowercase();
    if COMMON
        .lines()
        .any(|line| !line.starts_with('#') && line == lower)
    {
        return Some("This password is too common. Choose one that is hard to guess.");
    }
    let mut chars = lower.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return Some("A password of one repeated character is too easy to guess.");
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Some("Do not use your email address in your password.");
    }
    None
}

/// Hashes and verifies passwords on the blocking pool. Each argon2 run takes ~19 MiB and tens
/// of milliseconds of CPU, so at most `limit` run at once and the rest wait their turn.
#[derive(Clone, Debug)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

impl PasswordHasher {
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit.max(1))),
        }
    }

    /// An argon2id PHC string with the crate's defaults (m = 19 MiB, t = 2, p = 1).
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| AppError::internal("argon2 hash", e))
        })
        .await?
    }

    /// Checks `password` against `stored`. With no stored hash (unknown user) it verifies against
    /// a fixed dummy hash, so both cases cost the same time, and returns false.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        self.run(move || {
            let known = stored.is_some();
            let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
            let parsed =
                PasswordHash::new(&phc).map_err(|e| AppError::internal("stored hash", e))?;
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(known && matches)
        })
        .await?
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AppError::internal("hasher closed", e))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::internal("hasher task", e))
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"no user has this password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_common_repeated_and_email_passwords() {
        assert!(weakness("Password123", "a@b.c").is_some());
        assert!(weakness("zzzzzzzzzzzz", "a@b.c").is_some());
        assert!(weakness("ada.lovelace-1815", "ada.lovelace@example.com").is_some());
        assert_eq!(weakness("violet harbour 42 kites", "ada@example.com"), None);
    }

    #[tokio::test]
    async fn hashes_verify_and_reject() {
        let hasher = PasswordHasher::new(2);
        let hash = hasher.hash("violet harbour 42".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify("violet harbour 42".into(), Some(hash.clone()))
                .await
                .expect("ok")
        );
        assert!(
            !hasher
                .verify("violet harbour 43".into(), Some(hash))
                .await
                .expect("ok")
        );
        assert!(
            !hasher
                .verify("violet harbour 42".into(), None)
                .await
                .expect("ok")
        );
    }
}
