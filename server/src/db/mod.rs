//! The database: one binary for SQLite and PostgreSQL, chosen at run time by URL.
//!
//! - [`DbUrl`] parses `sqlite:PATH`, `sqlite://PATH`, a bare path, or `postgres://…` /
//!   `postgresql://…`.
//! - [`DbConnection`] is a `diesel::MultiConnection` over both backends; queries written once with
//!   the diesel DSL against [`schema`] run on either. Ids are UUIDs stored as text, times are
//!   milliseconds since the Unix epoch (`BIGINT`), JSON is text.
//! - [`pool`] opens an r2d2 pool; every SQLite connection is set up by [`SqlitePragmas`] (WAL,
//!   busy timeout, foreign keys, `synchronous=NORMAL`).
//! - [`write`] runs a read-then-write transaction: `BEGIN IMMEDIATE` on SQLite (the write lock is
//!   taken before the first read, so two writers cannot both read a stale value and then collide),
//!   a plain `BEGIN` on PostgreSQL. PostgreSQL's default isolation (read committed) does *not*
//!   stop another transaction from changing a row between our read and our write, so updates of
//!   versioned rows must compare-and-swap: `UPDATE … SET version = v + 1 WHERE id = ? AND
//!   version = v`, then [`expect_updated`] the row count (zero rows: someone else won; the caller
//!   gets [`StoreError::Stale`] and may re-read and retry).
//! - [`read`] runs a consistent multi-statement read (a deferred transaction on SQLite, a
//!   repeatable-read read-only one on PostgreSQL).
//! - [`migrate`] applies the embedded migrations safely when several processes start at once.
//!
//! Lookups by a unique key use `get_result`, not `first`: `first` adds `LIMIT ?`, and the bundled
//! SQLite (built with `SQLITE_ENABLE_STAT4`) re-compiles a cached statement each time a parameter
//! it might plan with (such a limit among them) is bound again — measured: a twentieth of a busy
//! server's time went to re-parsing statements.
//!
//! The HTTP layer runs all of this inside `web::block`: every function here blocks.

pub mod migrate;
pub mod schema;

use crate::store::StoreError;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, CustomizeConnection, ManageConnection, R2D2Connection};
use std::path::PathBuf;
use std::time::Duration;

/// A connection to either database. `match` on it for the rare backend-specific statement.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// A SQLite file.
    Sqlite(diesel::SqliteConnection),
    /// A PostgreSQL server.
    Pg(diesel::PgConnection),
}

impl std::fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DbConnection::Sqlite(_) => "DbConnection::Sqlite",
            DbConnection::Pg(_) => "DbConnection::Pg",
        })
    }
}

impl DbConnection {
    /// Which database this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Sqlite(_) => Backend::Sqlite,
            DbConnection::Pg(_) => Backend::Postgres,
        }
    }
}

/// The two supported databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (a file; the default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// `"sqlite"` or `"postgres"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A pool of connections.
pub type DbPool = r2d2::Pool<DbManager>;
/// A connection borrowed from the pool (derefs to [`DbConnection`]).
pub type PooledConnection = r2d2::PooledConnection<DbManager>;

/// Where the database is.
#[derive(Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user:password@host:port/db?…`).
    Postgres(String),
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbUrl({self})")
    }
}

/// Shown without the password.
impl std::fmt::Display for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            DbUrl::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

/// The URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Nothing given.
    #[error("the database URL is empty")]
    Empty,
    /// A scheme other than sqlite/postgres/postgresql.
    #[error(
        "unsupported database URL scheme `{0}:` (use sqlite:PATH, a file path, or postgres://…)"
    )]
    Scheme(String),
    /// An in-memory SQLite database cannot be shared by a pool of connections.
    #[error("an in-memory SQLite database cannot be shared between connections: give a file path")]
    InMemory,
}

impl DbUrl {
    /// Parses `sqlite:PATH`, `sqlite://PATH` (`sqlite:///abs/path` for an absolute path), a bare
    /// file path, or `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<DbUrl, UrlError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(UrlError::Empty);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_string()));
        }
        let path = if let Some(rest) = url.strip_prefix("sqlite:") {
            rest.strip_prefix("//").unwrap_or(rest)
        } else {
            // `C:\…` on Windows and plain paths have no `scheme://`.
            if let Some((scheme, _)) = url.split_once("://") {
                return Err(UrlError::Scheme(scheme.to_string()));
            }
            url
        };
        if path.is_empty() {
            return Err(UrlError::Empty);
        }
        if path == ":memory:" || path.contains("mode=memory") {
            return Err(UrlError::InMemory);
        }
        Ok(DbUrl::Sqlite(PathBuf::from(path)))
    }

    /// Which database this URL names.
    pub fn backend(&self) -> Backend {
        match self {
            DbUrl::Sqlite(_) => Backend::Sqlite,
            DbUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// Opens one connection outside any pool (SQLite connections get the default
    /// [`SqlitePragmas`]).
    pub fn connect(&self) -> Result<DbConnection, StoreError> {
        let mut conn = DbManager::new(self.clone()).connect()?;
        SqlitePragmas::default().apply(&mut conn)?;
        Ok(conn)
    }
}

fn redact_password(url: &str) -> String {
    // postgres://user:secret@host/db → postgres://user:***@host/db
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_string(),
    }
}

/// An r2d2 connection manager that opens the backend the URL names (diesel's generic manager
/// would try each backend in turn with the same string).
#[derive(Debug)]
pub struct DbManager {
    url: DbUrl,
}

impl DbManager {
    /// A manager for this URL.
    pub fn new(url: DbUrl) -> DbManager {
        DbManager { url }
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// diesel could not connect.
    #[error("cannot open {url}: {source}")]
    Connection {
        /// The database (password hidden).
        url: String,
        /// What the driver said.
        #[source]
        source: diesel::ConnectionError,
    },
    /// The connection opened but could not be set up or checked.
    #[error("cannot set up the connection: {0}")]
    Query(#[from] diesel::result::Error),
}

impl ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConnection, ConnectError> {
        let conn = match &self.url {
            DbUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                diesel::SqliteConnection::establish(&path).map(DbConnection::Sqlite)
            }
            DbUrl::Postgres(url) => diesel::PgConnection::establish(url).map(DbConnection::Pg),
        };
        conn.map_err(|source| ConnectError::Connection {
            url: self.url.to_string(),
            source,
        })
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectError> {
        R2D2Connection::ping(conn).map_err(ConnectError::Query)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        R2D2Connection::is_broken(conn)
    }
}

/// The settings every SQLite connection gets (a no-op on PostgreSQL): write-ahead logging so
/// readers never block the writer, a busy timeout so a writer waits for the lock instead of
/// failing at once, foreign keys enforced, and `synchronous=NORMAL` (durable at checkpoints,
/// safe in WAL mode).
#[derive(Debug, Clone, Copy)]
pub struct SqlitePragmas {
    /// How long a statement waits for a lock before `database is locked`.
    pub busy_timeout: Duration,
    /// After how many pages in the write-ahead log a committing writer copies them back into
    /// the database itself (SQLite's default: 1,000). The server sets a high value and leaves
    /// the copying to a [`Checkpointer`], off the writers' path.
    pub wal_autocheckpoint: u32,
}

impl Default for SqlitePragmas {
    fn default() -> Self {
        SqlitePragmas {
            busy_timeout: Duration::from_secs(10),
            wal_autocheckpoint: 1_000,
        }
    }
}

impl SqlitePragmas {
    /// Applies the pragmas to a connection (nothing on PostgreSQL).
    pub fn apply(&self, conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
        match conn {
            DbConnection::Sqlite(c) => self.apply_sqlite(c),
            DbConnection::Pg(_) => Ok(()),
        }
    }

    /// Applies the pragmas to a SQLite connection.
    pub fn apply_sqlite(
        &self,
        conn: &mut diesel::SqliteConnection,
    ) -> Result<(), diesel::result::Error> {
        // The busy timeout first: switching to WAL itself needs a lock.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {};",
            self.busy_timeout.as_millis()
        ))?;
        // Two processes opening a new database at once can both try to switch it to WAL; the
        // loser may get "database is locked" without the busy handler being consulted, so it
        // retries (the winner's switch takes milliseconds) within the busy timeout.
        let deadline = std::time::Instant::now() + self.busy_timeout;
        loop {
            match conn.batch_execute(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                 PRAGMA wal_autocheckpoint = {}; PRAGMA cache_size = -32768;",
                self.wal_autocheckpoint
            )) {
                Err(diesel::result::Error::DatabaseError(_, info))
                    if (info.message().contains("locked") || info.message().contains("busy"))
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }
}

impl CustomizeConnection<DbConnection, ConnectError> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), ConnectError> {
        self.apply(conn).map_err(ConnectError::Query)
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_size: u32,
    /// How long a request waits for a free connection.
    pub connection_timeout: Duration,
    /// Settings for SQLite connections.
    pub sqlite: SqlitePragmas,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 8,
            connection_timeout: Duration::from_secs(15),
            sqlite: SqlitePragmas::default(),
        }
    }
}

/// Opens a pool (and one connection at once, so a wrong URL fails here, not at the first request).
pub fn pool(url: &DbUrl, options: &PoolOptions) -> Result<DbPool, StoreError> {
    r2d2::Pool::builder()
        .max_size(options.max_size)
        .connection_timeout(options.connection_timeout)
        .connection_customizer(Box::new(options.sqlite))
        .build(DbManager::new(url.clone()))
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// Copies a SQLite database's write-ahead log back into the database file from a thread of its
/// own (`PRAGMA wal_checkpoint(PASSIVE)`, which never blocks writers or readers), so that
/// committing writers — serialised, the server's bottleneck under load — do not do it
/// (measured: a sixth of the ingest time). Stops when dropped.
#[derive(Debug)]
pub struct Checkpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// How many pages a pool's connections let the log grow to before a writer copies them
    /// itself: the backstop should the checkpointer fall behind.
    pub const BACKSTOP_PAGES: u32 = 50_000;

    /// Starts checkpointing a SQLite database every `every`; `None` on PostgreSQL.
    pub fn start(url: &DbUrl, every: Duration) -> Result<Option<Self>, StoreError> {
        if url.backend() != Backend::Sqlite {
            return Ok(None);
        }
        let mut conn = url.connect()?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut failing = false;
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(every);
                    match conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                        Ok(()) => failing = false,
                        Err(e) if !failing => {
                            failing = true;
                            tracing::warn!(error = %e, "write-ahead log checkpoint failed");
                        }
                        Err(_) => {}
                    }
                }
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the checkpointer: {e}")))?;
        Ok(Some(Checkpointer {
            stop,
            thread: Some(thread),
        }))
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The current time in milliseconds since the Unix epoch (what the database stores).
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Runs `f` in a read-then-write transaction: `BEGIN IMMEDIATE` on SQLite, `BEGIN` (read
/// committed) on PostgreSQL — where updates must compare-and-swap versions (see the module
/// docs). Commits when `f` returns `Ok`, rolls back on `Err`. Inside another transaction it
/// becomes a savepoint, so store functions that write can call each other.
pub fn write<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    transaction(conn, "BEGIN IMMEDIATE", "BEGIN", f)
}

/// Runs `f` in a consistent read: a deferred transaction on SQLite (one snapshot for all its
/// statements in WAL mode), `REPEATABLE READ READ ONLY` on PostgreSQL. Inside another transaction
/// it becomes a savepoint.
pub fn read<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    transaction(
        conn,
        "BEGIN DEFERRED",
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        f,
    )
}

/// The writers of this process's SQLite databases, one at a time (see [`write`]).
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn transaction<T, E, F>(conn: &mut DbConnection, sqlite: &str, pg: &str, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    let depth = Manager::transaction_manager_status_mut(conn).transaction_depth()?;
    if depth.is_some() {
        return conn.transaction(f);
    }
    // SQLite has one writer at a time. Writers of this process queue on a mutex instead of on
    // SQLite's busy handler, which sleeps in steps of up to 100 ms and leaves the database idle
    // while it sleeps (measured: it halved push throughput with 50 phones). Other processes
    // still meet the busy timeout.
    let _writer = match conn {
        DbConnection::Sqlite(_) if sqlite == "BEGIN IMMEDIATE" => Some(
            SQLITE_WRITER
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ),
        _ => None,
    };
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, sqlite)?,
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction_sql(c, pg)?,
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// For a compare-and-swap `UPDATE … WHERE version = ?`: exactly one row must have changed,
/// otherwise someone else changed (or deleted) the row first.
pub fn expect_updated(rows: usize, what: &'static str) -> Result<(), StoreError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::Stale { what })
    }
}

/// Checks the database answers (`SELECT 1`).
pub fn ping(conn: &mut DbConnection) -> Result<(), StoreError> {
    R2D2Connection::ping(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_backend_and_the_file() {
        let sqlite = |p: &str| Ok(DbUrl::Sqlite(PathBuf::from(p)));
        assert_eq!(DbUrl::parse("sqlite:mapframe.db"), sqlite("mapframe.db"));
        assert_eq!(DbUrl::parse("sqlite://data/m.db"), sqlite("data/m.db"));
        assert_eq!(
            DbUrl::parse("sqlite:///var/lib/m.db"),
            sqlite("/var/lib/m.db")
        );
        assert_eq!(DbUrl::parse("/tmp/x.sqlite"), sqlite("/tmp/x.sqlite"));
        assert_eq!(DbUrl::parse("survey.db"), sqlite("survey.db"));
        for pg in [
            "postgres://u@h:5432/db",
            "postgresql://u:p@h/db?sslmode=disable",
        ] {
            assert_eq!(DbUrl::parse(pg), Ok(DbUrl::Postgres(pg.to_string())));
        }
        assert_eq!(
            DbUrl::parse("mysql://h/db"),
            Err(UrlError::Scheme("mysql".into()))
        );
        assert_eq!(DbUrl::parse("  "), Err(UrlError::Empty));
        assert_eq!(DbUrl::parse("sqlite:"), Err(UrlError::Empty));
        assert_eq!(DbUrl::parse("sqlite::memory:"), Err(UrlError::InMemory));
    }

    #[test]
    fn urls_are_shown_without_passwords() {
        let url = DbUrl::parse("postgres://survey:s3cret@db.example:5432/mapframe").unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://survey:***@db.example:5432/mapframe"
        );
        let url = DbUrl::parse("postgres://survey@db/mapframe").unwrap();
        assert_eq!(url.to_string(), "postgres://survey@db/mapframe");
    }

    #[test]
    fn sqlite_connections_use_wal_and_enforce_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = DbUrl::Sqlite(dir.path().join("t.db"));
        let mut conn = url.connect().unwrap();
        #[derive(QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::Text)]
            journal_mode: String,
        }
        #[derive(QueryableByName)]
        struct Fk {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            foreign_keys: i32,
        }
        let DbConnection::Sqlite(c) = &mut conn else {
            panic!("a SQLite connection")
        };
        let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
            .get_result(c)
            .unwrap();
        assert_eq!(mode.journal_mode, "wal");
        let fk: Fk = diesel::sql_query("PRAGMA foreign_keys")
            .get_result(c)
            .unwrap();
        assert_eq!(fk.foreign_keys, 1);
    }

    #[test]
    fn a_failed_write_rolls_back_and_a_nested_one_is_a_savepoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = DbUrl::Sqlite(dir.path().join("t.db")).connect().unwrap();
        conn.batch_execute("CREATE TABLE t (x INTEGER NOT NULL)")
            .unwrap();
        let insert = |c: &mut DbConnection, x: i32| {
            diesel::sql_query(format!("INSERT INTO t VALUES ({x})")).execute(c)
        };
        let r: Result<(), StoreError> = write(&mut conn, |c| {
            insert(c, 1)?;
            let inner: Result<(), StoreError> = write(c, |c| {
                insert(c, 2)?;
                Err(StoreError::Stale { what: "t" })
            });
            assert!(inner.is_err());
            insert(c, 3)?;
            Ok(())
        });
        r.unwrap();
        let r: Result<(), StoreError> = write(&mut conn, |c| {
            insert(c, 4)?;
            Err(StoreError::Stale { what: "t" })
        });
        assert!(r.is_err());
        #[derive(QueryableByName)]
        struct Sum {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            s: i64,
        }
        let DbConnection::Sqlite(c) = &mut conn else {
            panic!("a SQLite connection")
        };
        let sum: Sum = diesel::sql_query("SELECT SUM(x) AS s FROM t")
            .get_result(c)
            .unwrap();
        assert_eq!(
            sum.s, 4,
            "1 and 3 committed; 2 (savepoint) and 4 rolled back"
        );
    }
}
