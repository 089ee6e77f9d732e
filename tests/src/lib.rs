//! Helpers for the end-to-end tests: the real `mapframe` binary and the shared real data, real
//! server processes ([`server::ServerProcess`]), a blocking HTTP client ([`http::Client`]) and
//! throwaway PostgreSQL clusters ([`pg::PgCluster`]).

pub mod http;
pub mod pg;
pub mod server;

/// A workbook of text grids as the bytes of a real `.xlsx` file, numbers written as numbers (as a
/// spreadsheet user types them).
pub fn xlsx_bytes(wb: &sync_core::form::xlsform::Workbook) -> Vec<u8> {
    let mut x = rust_xlsxwriter::Workbook::new();
    for sheet in &wb.sheets {
        let ws = x.add_worksheet();
        ws.set_name(&sheet.name).expect("sheet name");
        for (r, row) in sheet.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if cell.is_empty() {
                    continue;
                }
                match cell.parse::<f64>() {
                    Ok(n) if !cell.starts_with('0') || cell == "0" => {
                        ws.write_number(r as u32, c as u16, n).expect("cell")
                    }
                    _ => ws.write_string(r as u32, c as u16, cell).expect("cell"),
                };
            }
        }
    }
    x.save_to_buffer().expect("xlsx")
}

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// Path to the `mapframe` binary of this build profile, built (or brought up to date) once per
/// test process so that a test never runs a stale binary; `MAPFRAME_BIN` names another one.
pub fn mapframe_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // An explicit binary (benchmarks run a release server from a debug client).
        if let Some(bin) = std::env::var_os("MAPFRAME_BIN") {
            return PathBuf::from(bin);
        }
        // The test binary lives in target/<profile>/deps/; the mapframe binary in target/<profile>/.
        // (A benchmark binary lives in target/<profile>/ itself.)
        let exe = std::env::current_exe().expect("current exe");
        let parent = exe.parent().expect("target/<profile>");
        let dir = if parent.file_name().is_some_and(|n| n == "deps") {
            parent.parent().expect("target/<profile>")
        } else {
            parent
        };
        let bin = dir.join(format!("mapframe{}", std::env::consts::EXE_SUFFIX));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "mapframe-server",
            "--bin",
            "mapframe",
        ])
        .current_dir(workspace_root());
        if let Some(target) = dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo build runs");
        assert!(status.success() && bin.exists(), "building mapframe failed");
        bin
    })
}

/// Runs `mapframe` with arguments.
pub fn mapframe(args: &[&str]) -> Output {
    Command::new(mapframe_bin())
        .args(args)
        .output()
        .expect("mapframe runs")
}

/// A file from `../shared/data`, or `None` (with a printed reason) when that folder is absent.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    let path = workspace_root().join("../shared/data").join(name);
    if path.exists() {
        Some(path)
    } else {
        println!(
            "skipped: {} not found (../shared/data is absent)",
            path.display()
        );
        None
    }
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
