//! The command line's own contract: help, version, usage errors. (End-to-end runs of each command
//! are in the workspace's `tests/` crate.)

use std::process::Command;

fn mapframe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mapframe"))
        .args(args)
        .output()
        .expect("mapframe runs")
}

#[test]
fn help_and_version_exit_zero() {
    for args in [
        &["--help"][..],
        &["--version"],
        &["frame", "--help"],
        &["frame", "check", "--help"],
    ] {
        let out = mapframe(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty());
    }
}

#[test]
fn usage_errors_exit_two_and_say_why() {
    let cases: [(&[&str], &str); 4] = [
        (&["frame", "frobnicate"], "frobnicate"),
        (&["frame", "check"], "LISTING.geojson"),
        (
            &["frame", "check", "x.geojson", "--crs", "utm"],
            "unknown coordinate system",
        ),
        (
            &["frame", "check", "x.geojson", "--size-band", "1.3,0.7"],
            "LOW <= HIGH",
        ),
    ];
    for (args, says) in cases {
        let out = mapframe(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
