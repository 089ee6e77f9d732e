//! A throwaway PostgreSQL cluster for tests: `initdb` in a temporary directory, `pg_ctl start` on a
//! free loopback port, stopped and deleted on drop. Never touches a system cluster. When
//! `TEST_DATABASE_URL` is set, that server is used instead.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running throwaway cluster (or an external one named by `TEST_DATABASE_URL`).
#[derive(Debug)]
pub struct PgCluster {
    pub url: String,
    dir: Option<tempfile::TempDir>,
    bin: PathBuf,
    as_postgres: bool,
}

/// Why no cluster could be started.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql package"
    )]
    NotInstalled,
    #[error("{step} failed: {output}")]
    Failed { step: &'static str, output: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn find_bin() -> Option<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    candidates.sort();
    candidates.pop()
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl PgCluster {
    /// Starts a cluster (or uses `TEST_DATABASE_URL`).
    pub fn start() -> Result<PgCluster, PgError> {
        if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
            return Ok(PgCluster {
                url,
                dir: None,
                bin: PathBuf::new(),
                as_postgres: false,
            });
        }
        let bin = find_bin().ok_or(PgError::NotInstalled)?;
        // initdb refuses to run as root: run the server as the postgres system user then.
        let as_postgres = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let dir = tempfile::Builder::new().prefix("mapframe-pg-").tempdir()?;
        let data = dir.path().join("data");
        let sock = dir.path().to_path_buf();
        if as_postgres {
            chown_postgres(dir.path())?;
        }
        let mut pg = PgCluster {
            url: String::new(),
            dir: Some(dir),
            bin,
            as_postgres,
        };
        pg.run(
            "initdb",
            &[
                "-D",
                path(&data),
                "-U",
                "mapframe",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        let port = free_port()?;
        let opts = format!(
            "-p {port} -k {} -h 127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200",
            sock.display()
        );
        pg.run(
            "pg_ctl",
            &[
                "-D",
                path(&data),
                "-o",
                &opts,
                "-l",
                path(&sock.join("log")),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        pg.run_tool(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "mapframe",
                "mapframe",
            ],
        )?;
        pg.url = format!("postgres://mapframe@127.0.0.1:{port}/mapframe");
        Ok(pg)
    }

    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, tool: &'static str, args: &[&str]) -> Result<(), PgError> {
        let out = self.command(tool).args(args).output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(PgError::Failed {
                step: tool,
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            })
        }
    }

    fn run_tool(&self, tool: &'static str, args: &[&str]) -> Result<(), PgError> {
        self.run(tool, args)
    }

    /// A fresh, empty database in this cluster (for one test), as a URL.
    pub fn database(&self, name: &str) -> Result<String, PgError> {
        let Some((base, _)) = self.url.rsplit_once('/') else {
            return Ok(self.url.clone());
        };
        if self.dir.is_none() {
            return Ok(self.url.clone());
        }
        let port = base
            .rsplit_once(':')
            .map(|(_, p)| p.to_string())
            .unwrap_or_default();
        self.run_tool(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "mapframe", name],
        )?;
        Ok(format!("{base}/{name}"))
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

fn chown_postgres(dir: &Path) -> std::io::Result<()> {
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(
            "chown postgres failed (is the postgres user there?)",
        ))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let data = dir.path().join("data");
            let _ = self
                .command("pg_ctl")
                .args(["-D", path(&data), "-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}
