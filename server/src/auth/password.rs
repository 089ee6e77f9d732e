//! Passwords: Argon2id hashes as PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). The cost
//! is stored in each hash, so raising it later only affects new hashes.

use crate::store::FieldError;
use argon2::password_hash::PasswordHasher;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordVerifier, Version};
use std::sync::OnceLock;

/// The shortest password accepted for a new account.
pub const MIN_LENGTH: usize = 8;
/// The longest password accepted (in bytes).
pub const MAX_BYTES: usize = 1024;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for PasswordParams {
    /// OWASP's recommendation for Argon2id: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        PasswordParams {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

impl PasswordParams {
    /// Deliberately weak parameters for tests (never for real accounts).
    pub const FAST_INSECURE: PasswordParams = PasswordParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
}

/// A password could not be hashed (bad parameters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

/// Hashes a password with a fresh random salt.
pub fn hash(password: &str, params: &PasswordParams) -> Result<String, HashError> {
    let params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        None,
    )
    .map_err(|e| HashError(e.to_string()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the stored hash (false for a malformed hash).
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of a real check (with default parameters) and fails: for unknown usernames.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = DUMMY.get_or_init(|| {
        hash("mapframe-dummy-password", &PasswordParams::default()).unwrap_or_default()
    });
    let _ = verify(password, stored);
}

/// Checks a new password: at least [`MIN_LENGTH`] characters, at most [`MAX_BYTES`] bytes.
pub fn check_new(password: &str) -> Result<(), FieldError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(FieldError::new(
            "password",
            format!("at least {MIN_LENGTH} characters"),
        ));
    }
    if password.len() > MAX_BYTES {
        return Err(FieldError::new(
            "password",
            format!("at most {MAX_BYTES} bytes"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_no_other() {
        let h = hash("correct horse", &PasswordParams::FAST_INSECURE).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        assert!(verify("correct horse", &h));
        assert!(!verify("correct horse ", &h));
        assert!(!verify("correct horse", "not a hash"));
        let again = hash("correct horse", &PasswordParams::FAST_INSECURE).unwrap();
        assert_ne!(h, again, "a fresh salt every time");
    }

    #[test]
    fn default_parameters_are_owasp_argon2id() {
        let h = hash("pw", &PasswordParams::default()).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    }

    #[test]
    fn new_passwords_have_a_minimum_length() {
        assert_eq!(check_new("short").unwrap_err().field, "password");
        assert!(check_new("long enough").is_ok());
        assert!(
            check_new("八个汉字的密码呀").is_ok(),
            "characters, not bytes"
        );
        assert!(check_new(&"x".repeat(MAX_BYTES + 1)).is_err());
    }
}
