//! The throwaway PostgreSQL cluster the server tests run against.

use mapframe_e2e::pg::PgCluster;
use std::process::Command;

#[test]
fn a_throwaway_cluster_starts_on_loopback_and_takes_queries() {
    let pg =
        PgCluster::start().expect("a throwaway PostgreSQL cluster (install Debian's postgresql)");
    assert!(
        pg.url.starts_with("postgres://mapframe@127.0.0.1:"),
        "{}",
        pg.url
    );
    let db = pg.database("probe").unwrap();
    let out = Command::new("psql")
        .args([db.as_str(), "-tAc", "select 40 + 2"])
        .output()
        .expect("psql runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "42",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
