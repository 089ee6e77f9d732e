//! Embedded migrations, one folder per backend (`server/migrations/sqlite/`,
//! `server/migrations/postgres/`; the same migration names in both), applied so that several
//! processes starting at once are safe:
//!
//! - PostgreSQL: under a session-level advisory lock (`pg_advisory_lock`); the second process
//!   waits, then finds nothing pending. The lock goes with the session if a process dies.
//! - SQLite: inside one `BEGIN IMMEDIATE` transaction (each migration a savepoint); the second
//!   process waits on the write lock (busy timeout), then finds nothing pending.

use super::{DbConnection, DbUrl, SqlitePragmas};
use crate::store::StoreError;
use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::time::Duration;

/// The SQLite migrations.
pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// The PostgreSQL migrations.
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The advisory lock key that serialises migrations (an arbitrary constant: "mapframe" in ASCII).
pub const ADVISORY_LOCK_KEY: i64 = 0x6d61_7066_7261_6d65;

/// How long a process waits for another's migrations on SQLite.
const SQLITE_MIGRATION_WAIT: Duration = Duration::from_secs(120);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn migration_error(e: BoxError) -> StoreError {
    StoreError::Migration(e.to_string())
}

/// Applies every pending migration; returns the versions applied (empty: already up to date).
pub fn run(url: &DbUrl) -> Result<Vec<String>, StoreError> {
    let mut conn = url.connect()?;
    run_on(&mut conn)
}

/// Applies every pending migration on an open connection (not inside a transaction).
pub fn run_on(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    match conn {
        DbConnection::Sqlite(c) => {
            SqlitePragmas {
                busy_timeout: SQLITE_MIGRATION_WAIT,
                ..SqlitePragmas::default()
            }
            .apply_sqlite(c)?;
            let applied = c
                .immediate_transaction(|c| -> Result<Vec<String>, BoxError> {
                    let versions = c.run_pending_migrations(SQLITE)?;
                    Ok(versions.iter().map(ToString::to_string).collect())
                })
                .map_err(migration_error);
            SqlitePragmas::default().apply_sqlite(c)?;
            applied
        }
        DbConnection::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({ADVISORY_LOCK_KEY})"))?;
            let applied = c
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(ToString::to_string).collect())
                .map_err(migration_error);
            let unlocked =
                c.batch_execute(&format!("SELECT pg_advisory_unlock({ADVISORY_LOCK_KEY})"));
            let applied = applied?;
            unlocked?;
            Ok(applied)
        }
    }
}

/// The migrations this binary has that the database has not applied yet.
pub fn pending(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let names = match conn {
        DbConnection::Sqlite(c) => c
            .pending_migrations(SQLITE)
            .map(|m| m.iter().map(|m| m.name().to_string()).collect()),
        DbConnection::Pg(c) => c
            .pending_migrations(POSTGRES)
            .map(|m| m.iter().map(|m| m.name().to_string()).collect()),
    };
    names.map_err(migration_error)
}
