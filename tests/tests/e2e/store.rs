//! The repository layer's specification, run against both databases: a SQLite file and a
//! PostgreSQL database (a throwaway cluster, or `TEST_DATABASE_URL`). Every spec gets a fresh
//! database. If PostgreSQL cannot be started the PostgreSQL run fails: it is never skipped.

use diesel::prelude::*;
use mapframe_e2e::pg::PgCluster;
use mapframe_e2e::server::fresh_pg_database;
use mapframe_server::auth::password::PasswordParams;
use mapframe_server::auth::{self, AuthError, AuthSettings, NewAccount, Role, SignIn};
use mapframe_server::db::{self, DbConnection, DbUrl, migrate};
use mapframe_server::store::{StoreError, devices, projects, teams, tokens, users};
use serde_json::json;
use std::time::Duration;

const T0: i64 = 1_777_624_200_000; // 2026-05-01T08:30:00Z
const PASSWORD: &str = "a long secret";

type Spec = fn(&DbUrl);

/// Every spec, by name.
const SPECS: &[(&str, Spec)] = &[
    ("migrations_apply_once", migrations_apply_once),
    (
        "concurrent_migrations_are_safe",
        concurrent_migrations_are_safe,
    ),
    (
        "usernames_are_normalised_and_unique",
        usernames_are_normalised_and_unique,
    ),
    ("roles_and_teams_go_together", roles_and_teams_go_together),
    (
        "teams_are_created_on_first_mention",
        teams_are_created_on_first_mention,
    ),
    (
        "a_team_mentioned_by_many_at_once_is_one_team",
        a_team_mentioned_by_many_at_once_is_one_team,
    ),
    ("sign_in_checks_the_password", sign_in_checks_the_password),
    (
        "tokens_authenticate_until_they_expire",
        tokens_authenticate_until_they_expire,
    ),
    ("revoked_tokens_stop_working", revoked_tokens_stop_working),
    (
        "disabled_accounts_are_shut_out",
        disabled_accounts_are_shut_out,
    ),
    (
        "devices_follow_the_user_who_signs_in",
        devices_follow_the_user_who_signs_in,
    ),
    (
        "device_last_seen_is_kept_to_the_minute",
        device_last_seen_is_kept_to_the_minute,
    ),
    (
        "projects_have_unique_codes_and_json_settings",
        projects_have_unique_codes_and_json_settings,
    ),
    (
        "a_failed_write_leaves_nothing_behind",
        a_failed_write_leaves_nothing_behind,
    ),
    (
        "concurrent_read_then_write_updates_lose_nothing",
        concurrent_read_then_write_updates_lose_nothing,
    ),
];

fn run_suite(backend: &str, mut database_for: impl FnMut(&str) -> String) {
    let mut failed = Vec::new();
    for (name, spec) in SPECS {
        let url = DbUrl::parse(&database_for(name)).expect("a database URL");
        println!("{backend}: {name}");
        if std::panic::catch_unwind(|| spec(&url)).is_err() {
            failed.push(*name);
        }
    }
    assert!(failed.is_empty(), "failed on {backend}: {failed:?}");
}

#[test]
fn repository_suite_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    run_suite("sqlite", |name| {
        format!("sqlite:{}", dir.path().join(format!("{name}.db")).display())
    });
}

#[test]
fn repository_suite_on_postgres() {
    let pg = PgCluster::start().expect(
        "PostgreSQL is needed for this test (install Debian's postgresql, or set TEST_DATABASE_URL)",
    );
    run_suite("postgres", |name| fresh_pg_database(&pg, name));
}

// --- helpers ---------------------------------------------------------------------------------

fn open(url: &DbUrl) -> DbConnection {
    migrate::run(url).expect("migrations apply");
    url.connect().expect("a connection")
}

fn settings() -> AuthSettings {
    AuthSettings {
        token_ttl: Duration::from_secs(3600),
        password: PasswordParams::FAST_INSECURE,
    }
}

fn account(conn: &mut DbConnection, username: &str, role: Role, team: Option<&str>) -> users::User {
    auth::create_account(
        conn,
        &NewAccount {
            username,
            display_name: None,
            role,
            team,
            password: PASSWORD,
        },
        &settings(),
        T0,
    )
    .unwrap_or_else(|e| panic!("create {username}: {e}"))
}

fn sign_in(
    conn: &mut DbConnection,
    username: &str,
    password: &str,
    device: Option<&str>,
    now: i64,
) -> Result<auth::SignedIn, StoreError> {
    auth::sign_in(
        conn,
        &SignIn {
            username,
            password,
            device_id: device,
            device_name: device.map(|_| "Redmi 12"),
        },
        &settings(),
        now,
    )
}

fn auth_error(r: Result<auth::Actor, StoreError>) -> AuthError {
    match r {
        Err(StoreError::Auth(e)) => e,
        other => panic!("expected an authentication error, got {other:?}"),
    }
}

// --- specs -----------------------------------------------------------------------------------

fn migrations_apply_once(url: &DbUrl) {
    let applied = migrate::run(url).unwrap();
    assert_eq!(applied.first().map(String::as_str), Some("20260101000000"));
    assert!(
        migrate::run(url).unwrap().is_empty(),
        "nothing the second time"
    );
    let mut conn = url.connect().unwrap();
    assert!(migrate::pending(&mut conn).unwrap().is_empty());
    assert_eq!(users::count(&mut conn).unwrap(), 0);
}

fn concurrent_migrations_are_safe(url: &DbUrl) {
    let results: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| migrate::run(url).expect("every process migrates safely")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let appliers = results.iter().filter(|r| !r.is_empty()).count();
    assert_eq!(
        appliers, 1,
        "exactly one applied the migrations: {results:?}"
    );
    let mut conn = url.connect().unwrap();
    assert!(migrate::pending(&mut conn).unwrap().is_empty());
}

fn usernames_are_normalised_and_unique(url: &DbUrl) {
    let mut conn = open(url);
    let alice = account(&mut conn, "  Alice ", Role::Interviewer, None);
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.display_name, "alice");
    let dup = auth::create_account(
        &mut conn,
        &NewAccount {
            username: "ALICE",
            display_name: None,
            role: Role::Admin,
            team: None,
            password: PASSWORD,
        },
        &settings(),
        T0,
    );
    assert!(
        matches!(
            dup,
            Err(StoreError::AlreadyExists {
                what: "user",
                field: "username"
            })
        ),
        "{dup:?}"
    );
    let chinese = account(&mut conn, "李伟", Role::Interviewer, None);
    assert_eq!(chinese.username, "李伟");
    for bad in ["", "has space", "semi;colon", &"x".repeat(65)] {
        let e = users::normalize_username(bad).unwrap_err();
        assert_eq!(e.field, "username", "{bad:?}");
    }
    assert_eq!(users::by_username(&mut conn, "ALICE").unwrap().id, alice.id);
    let names: Vec<String> = users::list(&mut conn)
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, vec!["alice", "李伟"]);
    let short = auth::create_account(
        &mut conn,
        &NewAccount {
            username: "bob",
            display_name: None,
            role: Role::Interviewer,
            team: None,
            password: "short",
        },
        &settings(),
        T0,
    );
    assert!(matches!(short, Err(StoreError::Invalid(ref f)) if f.field == "password"));
}

fn roles_and_teams_go_together(url: &DbUrl) {
    let mut conn = open(url);
    let new = |role, team| NewAccount {
        username: "x",
        display_name: Some("X"),
        role,
        team,
        password: PASSWORD,
    };
    for (role, team) in [(Role::Supervisor, None), (Role::Admin, Some("north"))] {
        let r = auth::create_account(&mut conn, &new(role, team), &settings(), T0);
        assert!(
            matches!(r, Err(StoreError::Invalid(ref f)) if f.field == "team"),
            "{role} with team {team:?}: {r:?}"
        );
    }
    assert_eq!(users::count(&mut conn).unwrap(), 0, "nothing half-written");
    assert!(teams::list(&mut conn).unwrap().is_empty());
    let sup = account(&mut conn, "sup", Role::Supervisor, Some("north"));
    assert_eq!(sup.team.as_deref(), Some("north"));
    let loner = account(&mut conn, "loner", Role::Interviewer, None);
    assert_eq!(loner.team_id, None);
}

fn teams_are_created_on_first_mention(url: &DbUrl) {
    let mut conn = open(url);
    let sup = account(&mut conn, "sup", Role::Supervisor, Some("North"));
    let int = account(&mut conn, "int", Role::Interviewer, Some("North"));
    let other = account(&mut conn, "other", Role::Interviewer, Some("South"));
    assert_eq!(sup.team_id, int.team_id);
    assert_ne!(sup.team_id, other.team_id);
    let names: Vec<String> = teams::list(&mut conn)
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec!["North", "South"]);
    let north = teams::by_name(&mut conn, "North").unwrap().unwrap();
    let members: Vec<String> = users::in_team(&mut conn, &north.id)
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(members, vec!["int", "sup"]);
}

fn a_team_mentioned_by_many_at_once_is_one_team(url: &DbUrl) {
    drop(open(url));
    std::thread::scope(|s| {
        for i in 0..6 {
            s.spawn(move || {
                let mut conn = url.connect().unwrap();
                account(
                    &mut conn,
                    &format!("int{i}"),
                    Role::Interviewer,
                    Some("east"),
                );
            });
        }
    });
    let mut conn = url.connect().unwrap();
    let teams = teams::list(&mut conn).unwrap();
    assert_eq!(teams.len(), 1, "{teams:?}");
    assert_eq!(users::in_team(&mut conn, &teams[0].id).unwrap().len(), 6);
}

fn sign_in_checks_the_password(url: &DbUrl) {
    let mut conn = open(url);
    let sup = account(&mut conn, "sup", Role::Supervisor, Some("north"));
    let ok = sign_in(&mut conn, "SUP", PASSWORD, None, T0).expect("signs in");
    assert_eq!(ok.user.id, sup.id);
    assert_eq!(ok.expires_at, T0 + 3_600_000);
    assert_eq!(ok.token.len(), 43);
    let actor = auth::authenticate(&mut conn, &ok.token, T0 + 1).unwrap();
    assert_eq!(actor.user_id, sup.id);
    assert_eq!(actor.role, Role::Supervisor);
    assert_eq!(actor.team_id, sup.team_id);
    assert_eq!(actor.device_id, None);
    for (user, password) in [("sup", "wrong password"), ("nobody", PASSWORD)] {
        let r = sign_in(&mut conn, user, password, None, T0);
        assert!(
            matches!(r, Err(StoreError::Auth(AuthError::BadCredentials))),
            "{user}/{password}: {r:?}"
        );
    }
    let r = sign_in(&mut conn, "sup", PASSWORD, Some("not-a-uuid"), T0);
    assert!(
        matches!(r, Err(StoreError::Invalid(ref f)) if f.field == "device_id"),
        "{r:?}"
    );
    let r = auth::authenticate(&mut conn, "x".repeat(43).as_str(), T0);
    assert_eq!(auth_error(r), AuthError::Invalid);
    assert_eq!(
        auth_error(auth::authenticate(&mut conn, "short", T0)),
        AuthError::Invalid
    );
}

fn tokens_authenticate_until_they_expire(url: &DbUrl) {
    let mut conn = open(url);
    let int = account(&mut conn, "int", Role::Interviewer, Some("north"));
    let issued = tokens::issue(&mut conn, &int.id, None, 1_000, T0).unwrap();
    assert!(auth::authenticate(&mut conn, &issued.token, T0 + 999).is_ok());
    let r = auth::authenticate(&mut conn, &issued.token, T0 + 1_000);
    assert_eq!(auth_error(r), AuthError::Expired);
    let stored: Vec<String> = mapframe_server::db::schema::tokens::table
        .select(mapframe_server::db::schema::tokens::hash)
        .load(&mut conn)
        .unwrap();
    assert_eq!(stored, vec![issued.hash.clone()]);
    assert!(!stored.contains(&issued.token), "only the hash is stored");
    assert_eq!(tokens::purge(&mut conn, T0 + 2_000).unwrap(), 1);
}

fn revoked_tokens_stop_working(url: &DbUrl) {
    let mut conn = open(url);
    let int = account(&mut conn, "int", Role::Interviewer, None);
    let a = sign_in(&mut conn, "int", PASSWORD, None, T0).unwrap();
    let b = sign_in(&mut conn, "int", PASSWORD, None, T0).unwrap();
    let c = sign_in(&mut conn, "int", PASSWORD, None, T0).unwrap();
    let actor = auth::authenticate(&mut conn, &a.token, T0).unwrap();
    assert!(tokens::revoke(&mut conn, &actor.token_hash, T0 + 1).unwrap());
    assert!(
        !tokens::revoke(&mut conn, &actor.token_hash, T0 + 2).unwrap(),
        "once"
    );
    assert_eq!(
        auth_error(auth::authenticate(&mut conn, &a.token, T0 + 3)),
        AuthError::Revoked
    );
    assert!(auth::authenticate(&mut conn, &b.token, T0 + 3).is_ok());
    assert_eq!(tokens::revoke_all(&mut conn, &int.id, T0 + 4).unwrap(), 2);
    assert_eq!(
        auth_error(auth::authenticate(&mut conn, &b.token, T0 + 5)),
        AuthError::Revoked
    );
    assert_eq!(
        auth_error(auth::authenticate(&mut conn, &c.token, T0 + 5)),
        AuthError::Revoked
    );
    // A new password signs the user out everywhere, and the old one stops working.
    let d = sign_in(&mut conn, "int", PASSWORD, None, T0 + 6).unwrap();
    let revoked = auth::change_password(
        &mut conn,
        &int.id,
        "another long secret",
        &settings(),
        T0 + 7,
    )
    .unwrap();
    assert_eq!(revoked, 1);
    assert_eq!(
        auth_error(auth::authenticate(&mut conn, &d.token, T0 + 8)),
        AuthError::Revoked
    );
    assert!(sign_in(&mut conn, "int", PASSWORD, None, T0 + 9).is_err());
    assert!(sign_in(&mut conn, "int", "another long secret", None, T0 + 9).is_ok());
}

fn disabled_accounts_are_shut_out(url: &DbUrl) {
    let mut conn = open(url);
    let int = account(&mut conn, "int", Role::Interviewer, None);
    let live = sign_in(&mut conn, "int", PASSWORD, None, T0).unwrap();
    users::set_disabled(&mut conn, &int.id, true).unwrap();
    assert_eq!(
        auth_error(auth::authenticate(&mut conn, &live.token, T0 + 1)),
        AuthError::Disabled
    );
    let r = sign_in(&mut conn, "int", PASSWORD, None, T0 + 1);
    assert!(
        matches!(r, Err(StoreError::Auth(AuthError::Disabled))),
        "{r:?}"
    );
    let r = sign_in(&mut conn, "int", "wrong password", None, T0 + 1);
    assert!(
        matches!(r, Err(StoreError::Auth(AuthError::BadCredentials))),
        "a wrong password does not reveal that the account is disabled: {r:?}"
    );
    users::set_disabled(&mut conn, &int.id, false).unwrap();
    assert!(auth::authenticate(&mut conn, &live.token, T0 + 2).is_ok());
}

fn devices_follow_the_user_who_signs_in(url: &DbUrl) {
    let mut conn = open(url);
    let li = account(&mut conn, "li", Role::Interviewer, Some("north"));
    let wang = account(&mut conn, "wang", Role::Interviewer, Some("north"));
    let phone = "0195d2c4-7a3e-7c41-9a55-3f1d2e4b6a70";
    let first = sign_in(&mut conn, "li", PASSWORD, Some(phone), T0).unwrap();
    let device = first.device.clone().unwrap();
    assert_eq!(
        (device.id.as_str(), device.user_id.as_str()),
        (phone, li.id.as_str())
    );
    assert_eq!(device.name, "Redmi 12");
    let li_laptop = sign_in(&mut conn, "li", PASSWORD, None, T0).unwrap();
    let actor = auth::authenticate(&mut conn, &first.token, T0).unwrap();
    assert_eq!(actor.device_id.as_deref(), Some(phone));

    // Li again on the same phone: still registered since T0.
    let again = sign_in(
        &mut conn,
        "li",
        PASSWORD,
        Some(&phone.to_uppercase()),
        T0 + 10,
    )
    .unwrap();
    assert_eq!(again.device.as_ref().unwrap().registered_at, T0);
    assert!(auth::authenticate(&mut conn, &first.token, T0 + 10).is_ok());

    // The phone is handed to Wang: it is his now, and Li's tokens on it stop working.
    let wangs = sign_in(&mut conn, "wang", PASSWORD, Some(phone), T0 + 20).unwrap();
    let device = devices::by_id(&mut conn, phone).unwrap().unwrap();
    assert_eq!(device.user_id, wang.id);
    assert_eq!(device.registered_at, T0 + 20);
    assert_eq!(
        auth_error(auth::authenticate(&mut conn, &first.token, T0 + 21)),
        AuthError::Revoked
    );
    assert_eq!(
        auth_error(auth::authenticate(&mut conn, &again.token, T0 + 21)),
        AuthError::Revoked
    );
    assert!(
        auth::authenticate(&mut conn, &li_laptop.token, T0 + 21).is_ok(),
        "Li's other sessions live on"
    );
    assert!(auth::authenticate(&mut conn, &wangs.token, T0 + 21).is_ok());
    assert!(devices::for_user(&mut conn, &li.id).unwrap().is_empty());
    assert_eq!(devices::for_user(&mut conn, &wang.id).unwrap().len(), 1);
}

fn device_last_seen_is_kept_to_the_minute(url: &DbUrl) {
    let mut conn = open(url);
    account(&mut conn, "li", Role::Interviewer, None);
    let phone = "0195d2c4-7a3e-7c41-9a55-3f1d2e4b6a71";
    let s = sign_in(&mut conn, "li", PASSWORD, Some(phone), T0).unwrap();
    let seen = |conn: &mut DbConnection| devices::by_id(conn, phone).unwrap().unwrap().last_seen;
    auth::authenticate(&mut conn, &s.token, T0 + 30_000).unwrap();
    assert_eq!(seen(&mut conn), T0, "no write within the minute");
    auth::authenticate(&mut conn, &s.token, T0 + 61_000).unwrap();
    assert_eq!(seen(&mut conn), T0 + 61_000);
}

fn projects_have_unique_codes_and_json_settings(url: &DbUrl) {
    let mut conn = open(url);
    let settings = json!({"seed": 20261121, "languages": ["zh", "en"], "name_zh": "城市调查", "nested": {"x": 1.5}});
    let p = projects::create(
        &mut conn,
        &projects::NewProject {
            code: "cgss2026",
            name: " China General Social Survey 2026 ",
            settings: Some(settings.clone()),
        },
        T0,
    )
    .unwrap();
    assert_eq!(p.name, "China General Social Survey 2026");
    let again = projects::by_id(&mut conn, &p.id).unwrap();
    assert_eq!(again, p);
    assert_eq!(again.settings, settings, "settings round-trip exactly");
    assert_eq!(projects::by_code(&mut conn, "cgss2026").unwrap().id, p.id);
    let dup = projects::create(
        &mut conn,
        &projects::NewProject {
            code: "cgss2026",
            name: "Again",
            settings: None,
        },
        T0,
    );
    assert!(
        matches!(
            dup,
            Err(StoreError::AlreadyExists {
                what: "project",
                field: "code"
            })
        ),
        "{dup:?}"
    );
    let bad: [(&str, &str, Option<serde_json::Value>, &str); 4] = [
        ("", "x", None, "code"),
        ("has space", "x", None, "code"),
        ("ok", "  ", None, "name"),
        ("ok", "x", Some(json!([1, 2])), "settings"),
    ];
    for (code, name, settings, field) in bad {
        let r = projects::create(
            &mut conn,
            &projects::NewProject {
                code,
                name,
                settings,
            },
            T0,
        );
        assert!(
            matches!(r, Err(StoreError::Invalid(ref f)) if f.field == field),
            "{code:?}: {r:?}"
        );
    }
    projects::create(
        &mut conn,
        &projects::NewProject {
            code: "a-pilot",
            name: "Pilot",
            settings: None,
        },
        T0 + 1,
    )
    .unwrap();
    let codes: Vec<String> = projects::list(&mut conn)
        .unwrap()
        .into_iter()
        .map(|p| p.code)
        .collect();
    assert_eq!(codes, vec!["a-pilot", "cgss2026"]);
    assert_eq!(
        projects::by_code(&mut conn, "a-pilot").unwrap().settings,
        json!({})
    );
    assert!(matches!(
        projects::by_code(&mut conn, "nope"),
        Err(StoreError::NotFound { what: "project" })
    ));
}

fn a_failed_write_leaves_nothing_behind(url: &DbUrl) {
    let mut conn = open(url);
    let r: Result<(), StoreError> = db::write(&mut conn, |conn| {
        account(conn, "ghost", Role::Supervisor, Some("phantoms"));
        projects::create(
            conn,
            &projects::NewProject {
                code: "ghost",
                name: "Ghost",
                settings: None,
            },
            T0,
        )?;
        Err(StoreError::Stale { what: "test" })
    });
    assert!(matches!(r, Err(StoreError::Stale { .. })));
    assert_eq!(users::count(&mut conn).unwrap(), 0);
    assert!(teams::list(&mut conn).unwrap().is_empty());
    assert!(projects::list(&mut conn).unwrap().is_empty());
}

diesel::table! {
    counters (id) {
        id -> Integer,
        v -> BigInt,
    }
}

/// Two connections each add 1 to a counter 40 times with read-then-write transactions
/// ([`db::write`]) and a compare-and-swap update ([`db::expect_updated`]), retrying when they
/// lose: no increment is lost on either database. (SQLite's `BEGIN IMMEDIATE` serialises the
/// writers, so they never lose; PostgreSQL's read committed lets both read the same value, and
/// the compare-and-swap catches it.)
fn concurrent_read_then_write_updates_lose_nothing(url: &DbUrl) {
    let mut conn = open(url);
    diesel::sql_query("CREATE TABLE counters (id INTEGER PRIMARY KEY, v BIGINT NOT NULL)")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("INSERT INTO counters (id, v) VALUES (1, 0)")
        .execute(&mut conn)
        .unwrap();
    let increments = 40;
    let retries: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut conn = url.connect().unwrap();
                    let mut retries = 0;
                    for _ in 0..increments {
                        loop {
                            let r: Result<(), StoreError> = db::write(&mut conn, |c| {
                                let v: i64 =
                                    counters::table.find(1).select(counters::v).first(c)?;
                                std::thread::sleep(Duration::from_millis(1));
                                let n = diesel::update(
                                    counters::table.find(1).filter(counters::v.eq(v)),
                                )
                                .set(counters::v.eq(v + 1))
                                .execute(c)?;
                                db::expect_updated(n, "counter")
                            });
                            match r {
                                Ok(()) => break,
                                Err(StoreError::Stale { .. }) => retries += 1,
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                    retries
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let v: i64 = counters::table
        .find(1)
        .select(counters::v)
        .first(&mut conn)
        .unwrap();
    assert_eq!(v, 2 * increments as i64, "after {retries} retries");
    if url.backend() == db::Backend::Sqlite {
        assert_eq!(retries, 0, "BEGIN IMMEDIATE serialises SQLite writers");
    }
}
