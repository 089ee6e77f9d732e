//! Real `mapframe serve` processes for tests: started on `127.0.0.1:0`, found by the one line
//! they print (`listening on http://ADDR`), killed when dropped. Their standard error (the
//! server's log) is collected and shown when something goes wrong.
//!
//! ```no_run
//! use mapframe_e2e::server::{ServerProcess, add_user};
//! let dir = tempfile::tempdir().unwrap();
//! let db = format!("sqlite:{}", dir.path().join("m.db").display());
//! mapframe_e2e::server::migrate(&db);
//! add_user(&db, "admin", "admin", None, "a long secret");
//! let server = ServerProcess::start(&db).unwrap();
//! let admin = server.client().sign_in("admin", "a long secret").unwrap();
//! assert_eq!(admin.get("/api/v1/me").status, 200);
//! ```

use crate::http::Client;
use crate::mapframe_bin;
use crate::pg::PgCluster;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// How long a server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A running `mapframe serve`.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// What the server printed (standard error, then anything after the listening line).
    log: Arc<Mutex<String>>,
}

/// The server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// It could not be spawned.
    #[error("cannot run mapframe serve: {0}")]
    Spawn(#[from] std::io::Error),
    /// It exited or timed out before listening.
    #[error("mapframe serve did not start ({why}); its output:\n{log}")]
    NotListening {
        /// Exit status or timeout.
        why: String,
        /// Its output.
        log: String,
    },
}

impl ServerProcess {
    /// `mapframe serve --database-url URL --bind 127.0.0.1:0`.
    pub fn start(database_url: &str) -> Result<ServerProcess, ServerError> {
        Self::start_with(database_url, &[])
    }

    /// The same with extra arguments (`--token-ttl 2s`, `--no-migrate`, …).
    pub fn start_with(database_url: &str, extra: &[&str]) -> Result<ServerProcess, ServerError> {
        let mut args = vec![
            "serve",
            "--database-url",
            database_url,
            "--bind",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        Self::spawn(&args)
    }

    /// Runs `mapframe ARGS…` (any command that serves, e.g. a later `mapframe demo`) and waits for
    /// its `listening on http://ADDR` line.
    pub fn spawn(args: &[&str]) -> Result<ServerProcess, ServerError> {
        let mut child = Command::new(mapframe_bin())
            .args(args)
            .env_remove("MAPFRAME_DATABASE_URL")
            .env_remove("MAPFRAME_BIND")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let log = Arc::new(Mutex::new(String::new()));
        let stderr_reader = child.stderr.take().map(|stderr| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        });
        let (tx, rx) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(addr) = line.strip_prefix("listening on ")
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send(addr.trim().to_string());
                        continue;
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    log.push_str("[stdout] ");
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let mut server = ServerProcess {
            child,
            base_url: String::new(),
            log,
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(url) => {
                server.base_url = url;
                Ok(server)
            }
            Err(e) => {
                let timed_out = e == mpsc::RecvTimeoutError::Timeout;
                // Standard output closed: the process is on its way out; give it a moment.
                let mut status = None;
                for _ in 0..200 {
                    status = server.child.try_wait().ok().flatten();
                    if status.is_some() || timed_out {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                let why = match status {
                    Some(status) => format!("exited with {status}"),
                    None if timed_out => format!("no listening line within {START_TIMEOUT:?}"),
                    None => "closed its standard output".to_string(),
                };
                let _ = server.child.kill();
                let _ = server.child.wait();
                // The process is gone, so its standard error is closed: read all of it.
                if let Some(reader) = stderr_reader {
                    let _ = reader.join();
                }
                Err(ServerError::NotListening {
                    why,
                    log: server.log(),
                })
            }
        }
    }

    /// The full URL of a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A client for this server (not signed in).
    pub fn client(&self) -> Client {
        Client::new(&self.base_url)
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits (up to `timeout`) until the log contains `needle`; whether it did. (Standard error
    /// is read on its own thread, so a line printed just before the listening line may arrive
    /// just after it.)
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the server and waits for it.
    pub fn stop(mut self) -> Option<ExitStatus> {
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `mapframe` with arguments and `input` on standard input.
pub fn mapframe_with_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(mapframe_bin())
        .args(args)
        .env_remove("MAPFRAME_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mapframe runs");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    child.wait_with_output().expect("mapframe finishes")
}

/// `mapframe migrate --database-url URL`, asserting success.
pub fn migrate(database_url: &str) {
    let out = crate::mapframe(&["migrate", "--database-url", database_url]);
    assert!(
        out.status.success(),
        "mapframe migrate failed: {}",
        crate::stderr(&out)
    );
}

/// `mapframe user add` (password on standard input), asserting success.
pub fn add_user(
    database_url: &str,
    username: &str,
    role: &str,
    team: Option<&str>,
    password: &str,
) {
    let mut args = vec![
        "user",
        "add",
        "--database-url",
        database_url,
        "--username",
        username,
        "--role",
        role,
        "--password-stdin",
    ];
    if let Some(team) = team {
        args.extend(["--team", team]);
    }
    let out = mapframe_with_stdin(&args, &format!("{password}\n"));
    assert!(
        out.status.success(),
        "mapframe user add {username} failed: {}",
        crate::stderr(&out)
    );
}

/// A fresh, empty database for one test in `pg`, as a URL, with a unique name (also when
/// `TEST_DATABASE_URL` names an external server, where it is created with `CREATE DATABASE`).
pub fn fresh_pg_database(pg: &PgCluster, name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let unique: String = format!(
        "mf_{name}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
    .chars()
    .map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        }
    })
    .take(63)
    .collect();
    if std::env::var_os("TEST_DATABASE_URL").is_none() {
        return pg
            .database(&unique)
            .unwrap_or_else(|e| panic!("cannot create database {unique}: {e}"));
    }
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::PgConnection::establish(&pg.url)
        .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL: {e}"));
    diesel::sql_query(format!("CREATE DATABASE {unique}"))
        .execute(&mut conn)
        .unwrap_or_else(|e| panic!("cannot create database {unique}: {e}"));
    let (base, query) = match pg.url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (pg.url.as_str(), String::new()),
    };
    let prefix = match base.rsplit_once('/') {
        Some((prefix, _)) if prefix.contains("//") && prefix.len() > "postgres://".len() => prefix,
        _ => base,
    };
    format!("{prefix}/{unique}{query}")
}
