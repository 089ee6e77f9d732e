//! The supervisor dashboard in a real browser: `mapframe demo` serves it, and
//! `server/web/tests/dashboard.test.mjs` drives headless Chromium (playwright-core, installed by
//! the server's build script) through sign-in, the overview, the map, the review and conflict
//! queues, refusals and exports. Screenshots land in `target/dashboard-screenshots/`.

use mapframe_e2e::server::ServerProcess;
use mapframe_e2e::workspace_root;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Debian's Chromium, unless `CHROMIUM` names another.
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// `target/` of this build (the test binary is in `target/<profile>/deps/`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors()
        .nth(3)
        .map_or_else(|| workspace_root().join("target"), Path::to_path_buf)
}

fn login(log: &str, user: &str) -> Option<String> {
    log.lines()
        .filter_map(|l| l.strip_prefix("[stdout] login: "))
        .find_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.first() == Some(&user) && w.get(1) == Some(&"password:"))
                .then(|| w.get(2).map(|p| (*p).to_string()))
                .flatten()
        })
}

#[test]
fn the_dashboard_is_served_from_the_binary_with_types_caching_and_compression() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("mapframe.db").display());
    let server =
        ServerProcess::start_with(&db, &["--tiles", "https://tiles.example/{z}/{x}/{y}.png"])
            .unwrap_or_else(|e| panic!("{e}"));
    let anon = server.client();
    for (path, kind) in [
        ("/", "text/html"),
        ("/app/", "text/html"),
        ("/app/p/demo/map", "text/html"),
        ("/app/main.js", "text/javascript"),
        ("/app/app.css", "text/css"),
        ("/app/vendor/leaflet/leaflet.js", "text/javascript"),
        ("/app/vendor/leaflet/leaflet.css", "text/css"),
        ("/app/vendor/leaflet/images/layers.png", "image/png"),
    ] {
        let r = anon.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with(kind)),
            "{path}: {:?}",
            r.header("content-type")
        );
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        let etag = r.header("etag").expect("an ETag").to_string();
        let again = anon.request("GET", path, &[("If-None-Match", &etag)], None);
        assert_eq!(again.status, 304, "{path}");
        assert!(again.bytes.is_empty(), "{path}");
    }
    let page = anon.get("/").text();
    assert!(page.contains("/app/vendor/leaflet/leaflet.js") && page.contains("/app/main.js"));
    let gz = anon.request(
        "GET",
        "/app/vendor/leaflet/leaflet.js",
        &[("Accept-Encoding", "gzip")],
        None,
    );
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let missing = anon.get("/app/nothing-here.js");
    assert_eq!(missing.status, 404);
    assert!(missing.is_problem());
    let config = anon.get("/app/config.json").json();
    assert_eq!(config["tiles"], "https://tiles.example/{z}/{x}/{y}.png");
    // The API is unaffected.
    assert_eq!(anon.get("/api/v1/projects").status, 401);
}

#[test]
fn the_dashboard_works_in_a_browser_against_the_demo() {
    let browser = chromium();
    assert!(
        browser.exists(),
        "{} not found: the dashboard's browser test needs Chromium \
         (Debian: apt-get install chromium; or set CHROMIUM to its path)",
        browser.display()
    );
    let server =
        ServerProcess::spawn(&["demo", "--bind", "127.0.0.1:0"]).unwrap_or_else(|e| panic!("{e}"));
    let password = login(&server.log(), "supervisor").unwrap_or_else(|| {
        panic!(
            "no supervisor login in the demo's output:\n{}",
            server.log()
        )
    });
    let shots = target_dir().join("dashboard-screenshots");
    let script = workspace_root().join("server/web/tests/dashboard.test.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .arg(server.url("/"))
        .arg("supervisor")
        .arg(&password)
        .arg(&shots)
        .env("CHROMIUM", &browser)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node (Node.js 20 is needed): {e}"));
    // The script's checks are collected, to come last in a failure's message: that is the part
    // of a long CI log people see first.
    let output = Arc::new(Mutex::new(String::new()));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| {
        let output = Arc::clone(&output);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut out = output.lock().unwrap_or_else(PoisonError::into_inner);
                out.push_str(&line);
                out.push('\n');
            }
        })
    })
    .collect();
    // Playwright times out each step by itself; this is the backstop for a browser that hangs.
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for node") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for reader in readers {
        let _ = reader.join();
    }
    let checks = output
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let log = server.log();
    let tail: Vec<&str> = log.lines().rev().take(60).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    match status {
        Some(status) if status.success() => println!("{checks}"),
        status => panic!(
            "the last lines of the server's log:\n{}\n\nthe browser test's checks:\n{checks}\n\
             the dashboard's browser test {} (screenshots in {})",
            tail.join("\n"),
            status.map_or_else(
                || "did not finish in 5 minutes".to_string(),
                |s| format!("failed ({s})")
            ),
            shots.display(),
        ),
    }
}
