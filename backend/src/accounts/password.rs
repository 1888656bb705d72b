//! Password hashing with Argon2id at OWASP's recommended cost (m=19 MiB, t=2, p=1).
//! Hashing runs on the blocking pool so it never stalls the async workers, a few at a
//! time: each takes 19 MiB and a core, and a burst of logins on hundreds of blocking
//! threads would take the CPU from everything else and leave every thread's allocator
//! holding on to its 19 MiB.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::OnceLock;
use tokio::sync::Semaphore;

use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};

const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("the Argon2 parameters are constants within range");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &[u8]) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher().hash_password(password, &salt).map(|hash| hash.to_string()).map_err(Error::internal)
}

/// Runs `work` on the blocking pool once one of the few hashing slots is free.
async fn hashing<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    let slots =
        SLOTS.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |cores| cores.get())));
    let _slot = slots.acquire().await.map_err(Error::internal)?;
    tokio::task::spawn_blocking(work).await.map_err(Error::internal)?
}

pub async fn hash(password: String) -> Result<String> {
    hashing(move || hash_blocking(password.as_bytes())).await
}

/// Checks a password against a stored hash. With no stored hash (unknown user) it
/// still spends the same work, so response times do not reveal which usernames exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool> {
    hashing(move || {
        let known = stored.is_some();
        let stored = match stored {
            Some(stored) => stored,
            None => dummy_hash()?.to_owned(),
        };
        let parsed = PasswordHash::new(&stored).map_err(Error::internal)?;
        Ok(hasher().verify_password(password.as_bytes(), &parsed).is_ok() && known)
    })
    .await
}

/// A hash, with the same parameters, of a random password nobody knows.
fn dummy_hash() -> Result<&'static str> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let secret = SaltString::generate(&mut OsRng);
    let hash = hash_blocking(secret.as_str().as_bytes())?;
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_owasp_parameters_and_verifies() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify("correct horse battery".into(), Some(stored.clone())).await.unwrap());
        assert!(!verify("wrong horse".into(), Some(stored)).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(!verify("anything".into(), None).await.unwrap());
    }
}
