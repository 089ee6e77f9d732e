//! Opaque bearer tokens: 32 random bytes from the operating system, base64url without padding
//! (43 characters). Only the SHA-256 of a token is stored, so a copy of the database does not
//! hold usable tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;

/// The operating system's random source failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no randomness from the operating system: {0}")]
pub struct RandomError(String);

/// A fresh token.
pub fn generate() -> Result<String, RandomError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token: lower-case hex SHA-256 of its text.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Whether `token` has the shape of one of ours (43 base64url characters), checked before any
/// database lookup.
pub fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The token in an `Authorization` header value: `Bearer <token>` (scheme case-insensitive).
pub fn from_authorization(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_never_repeat() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert!(well_formed(&a), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn the_stored_hash_is_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bearer_headers_are_parsed_leniently_but_strictly_shaped() {
        assert_eq!(from_authorization("Bearer abc"), Some("abc"));
        assert_eq!(from_authorization("bearer  abc "), Some("abc"));
        assert_eq!(from_authorization("Basic abc"), None);
        assert_eq!(from_authorization("Bearer"), None);
        assert!(!well_formed("abc"));
        assert!(!well_formed(
            &"a".repeat(42).chars().chain(['=']).collect::<String>()
        ));
    }
}
