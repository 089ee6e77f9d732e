//! The repository layer: plain functions over a [`DbConnection`](crate::db::DbConnection), one module per table family,
//! the same code on SQLite and PostgreSQL. Times are milliseconds since the Unix epoch and are
//! passed in (`now`), so tests control the clock.
//!
//! Functions that write open their own [`db::write`](crate::db::write) transaction; called inside
//! a caller's transaction they become savepoints, so they compose. Reads run as single statements
//! unless the caller wraps them in [`db::read`](crate::db::read).
//!
//! Errors are [`StoreError`]s with stable [`codes`](StoreError::code); the HTTP layer maps them to
//! problem responses, the command line to messages.

pub mod devices;
pub mod forms;
pub mod projects;
pub mod teams;
pub mod tokens;
pub mod users;

use crate::auth::AuthError;
use crate::db::ConnectError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// An input value the store refuses, and which field it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field (as named in the API and on the command line).
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A refusal of `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such record.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for (`user`, `project`, …).
        what: &'static str,
    },
    /// A unique field is already taken.
    #[error("a {what} with this {field} already exists")]
    AlreadyExists {
        /// The kind of record.
        what: &'static str,
        /// The unique field.
        field: &'static str,
    },
    /// An input value is not acceptable.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// A compare-and-swap update found the row changed (or gone) since it was read.
    #[error("the {what} was changed by someone else; reload and try again")]
    Stale {
        /// The kind of record.
        what: &'static str,
    },
    /// Authentication failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The database cannot be reached or is too busy (pool exhausted, lock timeout).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Database(#[source] DieselError),
    /// A failure on our side that is not the database's (randomness, hashing).
    #[error("internal error: {0}")]
    Internal(String),
}

impl StoreError {
    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound { .. } => "not_found",
            StoreError::AlreadyExists { .. } => "already_exists",
            StoreError::Invalid(_) => "invalid_field",
            StoreError::Stale { .. } => "version_conflict",
            StoreError::Auth(e) => e.code(),
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Migration(_) => "migration_failed",
            StoreError::Database(_) | StoreError::Internal(_) => "internal",
        }
    }

    /// Maps a unique-constraint violation to [`StoreError::AlreadyExists`]; anything else as
    /// `From` does.
    pub fn unique(e: DieselError, what: &'static str, field: &'static str) -> StoreError {
        match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StoreError::AlreadyExists { what, field }
            }
            e => e.into(),
        }
    }
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> StoreError {
        match &e {
            DieselError::NotFound => StoreError::NotFound { what: "record" },
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                StoreError::Unavailable(info.message().to_string())
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StoreError::Unavailable(info.message().to_string())
            }
            DieselError::DatabaseError(_, info)
                if info.message().contains("database is locked")
                    || info.message().contains("database is busy") =>
            {
                StoreError::Unavailable(info.message().to_string())
            }
            _ => StoreError::Database(e),
        }
    }
}

impl From<ConnectError> for StoreError {
    fn from(e: ConnectError) -> StoreError {
        match e {
            ConnectError::Query(e) => e.into(),
            e => StoreError::Unavailable(e.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> StoreError {
        StoreError::Unavailable(e.to_string())
    }
}

/// A new record id: a UUIDv7 (sorts by creation time), as stored.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Parses a UUID given as text into the stored form (lower-case, hyphenated); `field` names it in
/// the error.
pub fn parse_id(text: &str, field: &'static str) -> Result<String, FieldError> {
    uuid::Uuid::parse_str(text.trim())
        .map(|u| u.to_string())
        .map_err(|_| FieldError::new(field, format!("`{text}` is not a UUID")))
}
