//! `mapframe serve` and `mapframe migrate`.

use super::{CliError, Outcome};
use crate::auth::AuthSettings;
use crate::db::{DbUrl, PoolOptions, migrate};
use crate::serve::{self, ServeOptions};
use clap::Args;
use std::time::Duration;

/// Where the database is (shared by the server commands).
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// The database: a SQLite file (`sqlite:PATH`, `sqlite:///abs/path` or a bare path) or a
    /// PostgreSQL URL (`postgres://user:password@host:5432/db`).
    #[arg(
        long,
        value_name = "URL",
        env = "MAPFRAME_DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite:mapframe.db"
    )]
    pub database_url: String,
}

impl DbArgs {
    /// The parsed URL.
    pub fn url(&self) -> Result<DbUrl, CliError> {
        DbUrl::parse(&self.database_url)
            .map_err(|e| CliError::Input(format!("--database-url: {e}")))
    }
}

/// Serves the HTTP API and the supervisors' dashboard (at `/`). Runs pending migrations first
/// unless --no-migrate. Prints `listening on http://ADDR` on standard output once bound; logs
/// go to standard error (RUST_LOG=debug for more).
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    mapframe serve                                         ./mapframe.db on 127.0.0.1:8080\n  \
    mapframe serve --database-url postgres://mapframe@db/survey --bind 0.0.0.0:8080")]
pub struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The address to listen on (port 0: any free port).
    #[arg(
        long,
        value_name = "ADDR",
        env = "MAPFRAME_BIND",
        default_value = "127.0.0.1:8080"
    )]
    bind: String,
    /// Do not migrate: refuse to start if the database is behind (when a separate
    /// `mapframe migrate` step runs first).
    #[arg(long)]
    no_migrate: bool,
    /// How long a sign-in stays valid: a number with s, m, h or d (`30d`, `12h`).
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = parse_duration)]
    token_ttl: Duration,
    /// Most database connections this process opens.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pool_size: u32,
    /// HTTP worker threads (default: one per CPU).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    #[command(flatten)]
    tiles: TileArgs,
}

/// The dashboard's optional basemap (shared by `serve` and `demo`).
#[derive(Debug, Clone, Args)]
pub struct TileArgs {
    /// A basemap tile URL template for the dashboard's map (`{z}`, `{x}`, `{y}`, optional
    /// `{s}`), fetched by the browser. None by default: the map then shows areas and dwellings
    /// on a blank background and needs no internet. Data are WGS-84: a GCJ-02 basemap (Amap,
    /// Tencent) is offset by hundreds of metres in China.
    #[arg(long, value_name = "URL", env = "MAPFRAME_TILES")]
    tiles: Option<String>,
    /// The attribution shown on the map for --tiles (the tile provider's terms usually
    /// require one).
    #[arg(long, value_name = "TEXT", env = "MAPFRAME_TILES_ATTRIBUTION")]
    tiles_attribution: Option<String>,
}

impl TileArgs {
    /// What the dashboard page is told.
    pub fn config(&self) -> crate::dashboard::DashboardConfig {
        crate::dashboard::DashboardConfig {
            tiles: self.tiles.clone().filter(|t| !t.trim().is_empty()),
            tiles_attribution: self.tiles_attribution.clone(),
        }
    }
}

/// Applies pending database migrations and exits. Safe to run while servers start: concurrent
/// migrations wait for each other.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    db: DbArgs,
}

/// Parses `90s`, `15m`, `12h`, `30d` (or plain seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30d, 12h, 15m or 90s"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}`: the unit is s, m, h or d")),
    };
    if n == 0 {
        return Err("the duration must be positive".into());
    }
    n.checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// Runs `mapframe serve`.
pub fn run_serve(args: ServeArgs) -> Result<Outcome, CliError> {
    serve::init_logging();
    let options = ServeOptions {
        url: args.db.url()?,
        bind: args.bind,
        migrate: !args.no_migrate,
        auth: AuthSettings {
            token_ttl: args.token_ttl,
            ..AuthSettings::default()
        },
        pool: PoolOptions {
            max_size: args.pool_size.max(1),
            ..PoolOptions::default()
        },
        workers: args.workers,
        dashboard: args.tiles.config(),
    };
    serve::run(options).map_err(|e| CliError::Input(e.to_string()))?;
    Ok(Outcome::Ok)
}

/// Runs `mapframe migrate`.
pub fn run_migrate(args: MigrateArgs) -> Result<Outcome, CliError> {
    let url = args.db.url()?;
    let applied = migrate::run(&url).map_err(|e| CliError::Input(e.to_string()))?;
    if applied.is_empty() {
        println!("{url}: up to date");
    } else {
        println!("{url}: applied {}", applied.join(", "));
    }
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_units() {
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("d").is_err());
    }
}
