//! `mapframe serve`: migrations, the pool, and the HTTP server.
//!
//! On start it prints exactly one line to standard output, `listening on http://ADDR`, with the
//! real port when bound to port 0 (tests and scripts read it); logs go to standard error.

use crate::api::{self, AppState};
use crate::auth::AuthSettings;
use crate::db::{self, DbUrl, PoolOptions, migrate};
use crate::store::{StoreError, users};
use actix_web::HttpServer;
use std::io::Write;
use std::time::Duration;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The database.
    pub url: DbUrl,
    /// The address to bind (`127.0.0.1:8080`; port 0 picks a free one).
    pub bind: String,
    /// Apply pending migrations first (otherwise refuse to start while any are pending).
    pub migrate: bool,
    /// Accounts and sessions.
    pub auth: AuthSettings,
    /// The connection pool.
    pub pool: PoolOptions,
    /// HTTP worker threads (default: one per CPU).
    pub workers: Option<usize>,
    /// What the dashboard is told: an optional basemap tile URL.
    pub dashboard: crate::dashboard::DashboardConfig,
}

/// Why the server did not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `--no-migrate` and the database is behind.
    #[error("the database needs migrations ({}): run `mapframe migrate` first", .0.join(", "))]
    Pending(Vec<String>),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// Starts logging to standard error (`RUST_LOG` filters; default `info`). Safe to call twice.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the server until it is stopped (Ctrl-C / SIGTERM stop it gracefully).
pub fn run(options: ServeOptions) -> Result<(), ServeError> {
    let url = &options.url;
    if options.migrate {
        let applied = migrate::run(url)?;
        if !applied.is_empty() {
            tracing::info!(database = %url, migrations = ?applied, "migrated");
        }
    } else {
        let pending = migrate::pending(&mut url.connect()?)?;
        if !pending.is_empty() {
            return Err(ServeError::Pending(pending));
        }
    }
    // Checkpoints of a SQLite log run on a thread of their own, not in committing writers.
    let checkpointer = db::Checkpointer::start(url, Duration::from_millis(200))?;
    let mut pool_options = options.pool.clone();
    if checkpointer.is_some() {
        pool_options.sqlite.wal_autocheckpoint = db::Checkpointer::BACKSTOP_PAGES;
    }
    let pool = db::pool(url, &pool_options)?;
    let accounts = users::count(&mut *pool.get().map_err(StoreError::from)?)?;
    if accounts == 0 {
        eprintln!(
            "No accounts yet. Create the first administrator with:\n  \
             mapframe user add --database-url '{url}' --username admin --role admin --password-stdin"
        );
    }
    let state = AppState::new(pool, url.backend(), options.auth.clone())
        .with_dashboard(options.dashboard.clone());
    let bind = options.bind.clone();
    let workers = options.workers;
    actix_web::rt::System::new().block_on(async move {
        let mut server = HttpServer::new(move || api::app(state.clone())).shutdown_timeout(10);
        if let Some(n) = workers {
            server = server.workers(n.max(1));
        }
        let server = server.bind(&bind).map_err(|source| ServeError::Bind {
            addr: bind.clone(),
            source,
        })?;
        let addr = server
            .addrs()
            .first()
            .map(ToString::to_string)
            .unwrap_or(bind);
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
        drop(out);
        tracing::info!(%addr, database = %options.url, "serving");
        tracing::info!("the dashboard is at http://{addr}/");
        server.run().await?;
        Ok(())
    })
}
