//! Errors: a small public enum an app can act on, and the internal errors it is made from.
//!
//! Inside the library every layer keeps its own precise error (SQLite, HTTP, the wire format, the
//! merge's refusals, the form engine). What crosses the FFI boundary is [`FieldError`]: six cases,
//! each telling the app what to do — retry later ([`FieldError::Network`]), ask the user to sign
//! in ([`FieldError::Auth`]), show a message on a field ([`FieldError::Validation`]), show the
//! conflict ([`FieldError::Conflict`]), report a broken device ([`FieldError::Storage`]) or a
//! stale screen ([`FieldError::NotFound`]). Every case carries a stable machine `code` beside its
//! human message, so apps and logs can tell causes apart without parsing text.

use sync_core::sync::{Refusal, ReplicaError, WireError};

/// What went wrong, as an app can act on it.
#[derive(Debug, Clone, PartialEq, thiserror::Error, uniffi::Error)]
pub enum FieldError {
    /// The server could not be reached or answered with a server error, after the retries. Work
    /// done so far is stored; call `sync` again later.
    #[error("network: {message}")]
    Network { code: String, message: String },
    /// Not signed in, wrong password, or the token expired or was revoked: sign in again.
    #[error("sign-in needed: {message}")]
    Auth { code: String, message: String },
    /// An answer or an edit is not acceptable; nothing was stored. `field` names the question or
    /// attribute (its path) so the app can show the message beside it.
    #[error("{field}: {message}")]
    Validation {
        code: String,
        field: String,
        message: String,
    },
    /// The change clashes with the state of the data (an interview already approved, a dwelling
    /// already split, a device holding another user's unsent work).
    #[error("conflict: {message}")]
    Conflict { code: String, message: String },
    /// The on-device store could not be read or written.
    #[error("storage: {message}")]
    Storage { code: String, message: String },
    /// No such case, dwelling, area, form or roster member on this device.
    #[error("not found: {message}")]
    NotFound { code: String, message: String },
}

impl FieldError {
    /// The stable machine code.
    pub fn code(&self) -> &str {
        match self {
            Self::Network { code, .. }
            | Self::Auth { code, .. }
            | Self::Validation { code, .. }
            | Self::Conflict { code, .. }
            | Self::Storage { code, .. }
            | Self::NotFound { code, .. } => code,
        }
    }

    pub(crate) fn network(code: &str, message: impl Into<String>) -> Self {
        Self::Network {
            code: code.into(),
            message: message.into(),
        }
    }

    pub(crate) fn auth(code: &str, message: impl Into<String>) -> Self {
        Self::Auth {
            code: code.into(),
            message: message.into(),
        }
    }

    pub(crate) fn validation(
        code: &str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Validation {
            code: code.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code: code.into(),
            message: message.into(),
        }
    }

    pub(crate) fn storage(code: &str, message: impl Into<String>) -> Self {
        Self::Storage {
            code: code.into(),
            message: message.into(),
        }
    }

    pub(crate) fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The on-device store failed. Codes are stable.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("the store was written by a newer version of the app (schema {0})")]
    NewerSchema(i64),
}

impl StoreError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Corrupt(_) => "store_corrupt",
            Self::NewerSchema(_) => "store_newer_schema",
        }
    }
}

impl From<StoreError> for FieldError {
    fn from(e: StoreError) -> Self {
        FieldError::storage(e.code(), e.to_string())
    }
}

/// An HTTP exchange failed. Codes are stable.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Connection refused, reset, timed out: worth retrying.
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    /// The server answered with an error status; `code` is the problem+json `code` if any.
    #[error("{url}: HTTP {status} {code}: {message}")]
    Status {
        url: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The answer could not be read as the message expected.
    #[error("{url}: unreadable answer: {message}")]
    Body { url: String, message: String },
}

impl HttpError {
    /// Whether another attempt may succeed (transport errors, 5xx, 408, 429).
    pub fn retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            Self::Body { .. } => false,
        }
    }
}

impl From<HttpError> for FieldError {
    fn from(e: HttpError) -> Self {
        match &e {
            HttpError::Transport { .. } => FieldError::network("unreachable", e.to_string()),
            HttpError::Status { status: 401, .. } => {
                FieldError::auth("unauthorized", e.to_string())
            }
            HttpError::Status { status: 403, .. } => FieldError::auth("forbidden", e.to_string()),
            HttpError::Status { status: 404, .. } => {
                FieldError::not_found("server_not_found", e.to_string())
            }
            HttpError::Status { status: 409, .. } => {
                FieldError::conflict("server_conflict", e.to_string())
            }
            HttpError::Status { status, code, .. } if *status == 400 || *status == 422 => {
                FieldError::validation("server_rejected", code.clone(), e.to_string())
            }
            HttpError::Status { .. } => FieldError::network("server_error", e.to_string()),
            HttpError::Body { .. } => FieldError::network("bad_answer", e.to_string()),
        }
    }
}

impl From<WireError> for FieldError {
    fn from(e: WireError) -> Self {
        FieldError::validation(e.code(), "message", e.to_string())
    }
}

/// A merge refusal of a local action: the value is bad (`Validation`) or the state forbids it
/// (`Conflict`).
pub(crate) fn refusal(r: Refusal) -> FieldError {
    match &r {
        Refusal::BadField(f) | Refusal::WorkflowField(f) | Refusal::SystemField(f) => {
            FieldError::validation(r.code(), f.clone(), r.to_string())
        }
        Refusal::BadValue { field, .. } => {
            FieldError::validation(r.code(), field.clone(), r.to_string())
        }
        Refusal::UnknownTarget { .. } | Refusal::UnknownMember(_) => {
            FieldError::not_found(r.code(), r.to_string())
        }
        _ => FieldError::conflict(r.code(), r.to_string()),
    }
}

impl From<ReplicaError<StoreError>> for FieldError {
    fn from(e: ReplicaError<StoreError>) -> Self {
        match e {
            ReplicaError::Store(s) => s.into(),
            ReplicaError::NotSetUp => FieldError::auth("not_signed_in", "sign in first"),
            ReplicaError::AlreadySetUp => {
                FieldError::conflict("already_set_up", "this device is already set up")
            }
            ReplicaError::Refused(r) => refusal(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_errors_map_to_what_an_app_does_next() {
        let status = |s: u16| HttpError::Status {
            url: "u".into(),
            status: s,
            code: "c".into(),
            message: "m".into(),
        };
        let cases: [(HttpError, bool, &str); 7] = [
            (
                HttpError::Transport {
                    url: "u".into(),
                    message: "refused".into(),
                },
                true,
                "unreachable",
            ),
            (status(401), false, "unauthorized"),
            (status(403), false, "forbidden"),
            (status(404), false, "server_not_found"),
            (status(422), false, "server_rejected"),
            (status(503), true, "server_error"),
            (status(429), true, "server_error"),
        ];
        for (e, retry, code) in cases {
            assert_eq!(e.retryable(), retry, "{e}");
            assert_eq!(FieldError::from(e).code(), code);
        }
    }

    #[test]
    fn refusals_map_by_kind() {
        let cases = [
            (
                Refusal::BadValue {
                    field: "answers/age".into(),
                    message: "x".into(),
                },
                "bad_value",
                true,
            ),
            (Refusal::InterviewApproved, "interview_approved", false),
        ];
        for (r, code, validation) in cases {
            let e = refusal(r);
            assert_eq!(e.code(), code);
            assert_eq!(matches!(e, FieldError::Validation { .. }), validation);
        }
    }
}
