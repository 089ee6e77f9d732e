//! The server's commands: `mapframe migrate`, `mapframe user add | passwd | list | revoke`, and
//! how `mapframe serve` starts (or refuses to).

use mapframe_e2e::server::{ServerProcess, add_user, mapframe_with_stdin, migrate};
use mapframe_e2e::{mapframe, stderr, stdout};
use serde_json::Value;
use std::time::Duration;

const PASSWORD: &str = "a long secret";

fn sqlite_db(dir: &tempfile::TempDir) -> String {
    format!("sqlite:{}", dir.path().join("mapframe.db").display())
}

#[test]
fn migrate_applies_once_then_reports_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(&dir);
    let first = mapframe(&["migrate", "--database-url", &db]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("applied 20260101000000"),
        "{}",
        stdout(&first)
    );
    let second = mapframe(&["migrate", "--database-url", &db]);
    assert!(
        stdout(&second).contains("up to date"),
        "{}",
        stdout(&second)
    );
}

#[test]
fn user_commands_add_list_change_passwords_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(&dir);

    // No database yet: the commands say what to do instead of creating an empty one.
    let out = mapframe_with_stdin(
        &[
            "user",
            "add",
            "--database-url",
            &db,
            "--username",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "a long secret\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("mapframe migrate"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("mapframe.db").exists());

    migrate(&db);
    add_user(&db, "admin", "admin", None, PASSWORD);
    let out = mapframe(&[
        "user",
        "add",
        "--database-url",
        &db,
        "--username",
        "Li.Wei",
        "--display-name",
        "李伟",
        "--role",
        "interviewer",
        "--team",
        "north",
        "--password",
        PASSWORD,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("created li.wei (interviewer, team north)"),
        "{}",
        stdout(&out)
    );

    let refused: [(&[&str], &str, &str); 5] = [
        (
            &["--username", "sup", "--role", "supervisor"],
            PASSWORD,
            "team",
        ),
        (
            &["--username", "root", "--role", "admin", "--team", "north"],
            PASSWORD,
            "team",
        ),
        (
            &["--username", "admin", "--role", "admin"],
            PASSWORD,
            "already exists",
        ),
        (
            &["--username", "shorty", "--role", "interviewer"],
            "short",
            "at least 8 characters",
        ),
        (
            &["--username", "nobody", "--role", "interviewer"],
            "",
            "no password",
        ),
    ];
    for (args, password, says) in refused {
        let mut all = vec!["user", "add", "--database-url", &db, "--password-stdin"];
        all.extend_from_slice(args);
        let out = mapframe_with_stdin(&all, &format!("{password}\n"));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    let out = mapframe(&[
        "user",
        "add",
        "--database-url",
        &db,
        "--username",
        "x",
        "--role",
        "admin",
    ]);
    assert_eq!(out.status.code(), Some(2), "a password source is required");

    let out = mapframe(&["user", "list", "--database-url", &db, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rows: Vec<(String, String, Value)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["username"].as_str().unwrap().into(),
                u["role"].as_str().unwrap().into(),
                u["team"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("admin".into(), "admin".into(), Value::Null),
            ("li.wei".into(), "interviewer".into(), Value::from("north")),
        ]
    );
    let table = stdout(&mapframe(&["user", "list", "--database-url", &db]));
    assert!(
        table.lines().next().unwrap().starts_with("USERNAME"),
        "{table}"
    );
    assert!(table.contains("李伟"), "{table}");

    // Sign in through a server; revoking signs the user out; a new password replaces the old.
    let server = ServerProcess::start(&db).unwrap_or_else(|e| panic!("{e}"));
    let li = server.client().sign_in("li.wei", PASSWORD).unwrap();
    assert_eq!(li.get("/api/v1/me").status, 200);
    let out = mapframe(&[
        "user",
        "revoke",
        "--database-url",
        &db,
        "--username",
        "LI.WEI",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("revoked 1 token(s) of li.wei"),
        "{}",
        stdout(&out)
    );
    assert_eq!(li.get("/api/v1/me").json()["code"], "token_revoked");

    let out = mapframe_with_stdin(
        &[
            "user",
            "passwd",
            "--database-url",
            &db,
            "--username",
            "li.wei",
            "--password-stdin",
        ],
        "a brand new secret\r\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(server.client().sign_in("li.wei", PASSWORD).is_err());
    assert!(
        server
            .client()
            .sign_in("li.wei", "a brand new secret")
            .is_ok()
    );

    let out = mapframe(&[
        "user",
        "revoke",
        "--database-url",
        &db,
        "--username",
        "ghost",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("user not found"), "{}", stderr(&out));
}

#[test]
fn serve_says_how_to_create_the_first_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&sqlite_db(&dir)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        server.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        server.base_url
    );
    assert!(
        !server.base_url.ends_with(":0"),
        "the real port: {}",
        server.base_url
    );
    assert!(
        server.wait_for_log("--role admin", Duration::from_secs(10)),
        "{}",
        server.log()
    );
    assert!(
        server.log().contains("mapframe user add"),
        "{}",
        server.log()
    );
    drop(server);

    add_user(&sqlite_db(&dir), "admin", "admin", None, PASSWORD);
    let server = ServerProcess::start(&sqlite_db(&dir)).unwrap_or_else(|e| panic!("{e}"));
    // The log line after the point where the hint would be.
    assert!(
        server.wait_for_log("serving", Duration::from_secs(10)),
        "{}",
        server.log()
    );
    assert!(
        !server.log().contains("mapframe user add"),
        "{}",
        server.log()
    );
}

#[test]
fn serve_refuses_what_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(&dir);
    // --no-migrate on a database that is behind.
    let err = ServerProcess::start_with(&db, &["--no-migrate"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exited with exit status: 2") && err.contains("mapframe migrate"),
        "{err}"
    );
    migrate(&db);
    let server =
        ServerProcess::start_with(&db, &["--no-migrate"]).unwrap_or_else(|e| panic!("{e}"));
    // The address is taken.
    let taken = server.base_url.trim_start_matches("http://").to_string();
    let out = mapframe(&["serve", "--database-url", &db, "--bind", &taken]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot listen on"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).is_empty(),
        "no listening line: {}",
        stdout(&out)
    );
    for (url, says) in [
        ("mysql://localhost/db", "unsupported database URL scheme"),
        ("sqlite::memory:", "in-memory"),
        (
            "postgres://nobody@127.0.0.1:1/none",
            "cannot open postgres://nobody@127.0.0.1:1/none",
        ),
    ] {
        let out = mapframe(&["serve", "--database-url", url, "--bind", "127.0.0.1:0"]);
        assert_eq!(out.status.code(), Some(2), "{url}");
        assert!(stderr(&out).contains(says), "{url}: {}", stderr(&out));
    }
}
