//! The HTTP API end to end: real `mapframe serve` processes on SQLite and on PostgreSQL, signing
//! in and out, the permission matrix, problem+json for every kind of bad input, the OpenAPI
//! document, compression, and several servers sharing one database.

use mapframe_e2e::http::{Client, Reply};
use mapframe_e2e::pg::PgCluster;
use mapframe_e2e::server::{ServerProcess, add_user, fresh_pg_database, migrate};
use serde_json::{Value, json};

const PASSWORD: &str = "a long secret";
const NOBODY: &str = "0195d2c4-0000-7000-8000-000000000000";

/// A server with five accounts: `admin`; `sup` (supervisor) and `int`, `int2` (interviewers) in
/// team north; `far` (interviewer) in team south.
struct Fixture {
    server: ServerProcess,
    database: &'static str,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgCluster>,
}

fn seed(db: &str) {
    migrate(db);
    add_user(db, "admin", "admin", None, PASSWORD);
    add_user(db, "sup", "supervisor", Some("north"), PASSWORD);
    add_user(db, "int", "interviewer", Some("north"), PASSWORD);
    add_user(db, "int2", "interviewer", Some("north"), PASSWORD);
    add_user(db, "far", "interviewer", Some("south"), PASSWORD);
}

fn on_sqlite(extra: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("mapframe.db").display());
    seed(&db);
    let server = ServerProcess::start_with(&db, extra).unwrap_or_else(|e| panic!("{e}"));
    Fixture {
        server,
        database: "sqlite",
        _dir: Some(dir),
        _pg: None,
    }
}

fn on_postgres() -> Fixture {
    let pg = PgCluster::start().expect("PostgreSQL is needed for this test (install postgresql)");
    let db = fresh_pg_database(&pg, "api");
    seed(&db);
    let server = ServerProcess::start(&db).unwrap_or_else(|e| panic!("{e}"));
    Fixture {
        server,
        database: "postgres",
        _dir: None,
        _pg: Some(pg),
    }
}

fn sign_in(f: &Fixture, username: &str) -> Client {
    f.server
        .client()
        .sign_in(username, PASSWORD)
        .unwrap_or_else(|r| panic!("{username} signs in: {r}\n{}", f.server.log()))
}

fn assert_problem(reply: &Reply, status: u16, code: &str) -> Value {
    assert_eq!(reply.status, status, "{reply}");
    assert!(
        reply.is_problem(),
        "{:?}: {reply}",
        reply.header("content-type")
    );
    let p = reply.json();
    assert_eq!(p["code"], code, "{reply}");
    assert_eq!(p["status"], status);
    assert_eq!(p["type"], format!("urn:mapframe:problem:{code}"));
    assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
    assert!(p["detail"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
    p
}

// --- signing in and out, accounts, projects ---------------------------------------------------

fn sessions_and_resources(f: &Fixture) {
    let anon = f.server.client();
    let health = anon.get("/healthz");
    assert_eq!(health.status, 200, "{health}");
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(health.json()["database"], f.database);

    let reply = anon.post(
        "/api/v1/sessions",
        &json!({"username": "Admin", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 201, "{reply}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let session = reply.json();
    let token = session["token"].as_str().unwrap();
    assert_eq!(token.len(), 43);
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["user"]["username"], "admin");
    assert_eq!(session["user"]["role"], "admin");
    assert!(session["user"].get("password_hash").is_none());
    assert!(session["expires_at"].as_str().unwrap().ends_with('Z'));
    let admin = anon.with_token(token);

    for (username, password) in [("admin", "wrong password"), ("nobody", PASSWORD)] {
        let r = anon.post(
            "/api/v1/sessions",
            &json!({"username": username, "password": password}),
        );
        assert_problem(&r, 401, "bad_credentials");
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer"))
        );
    }

    let me = admin.get("/api/v1/me");
    assert_eq!(me.status, 200, "{me}");
    assert_eq!(me.json()["user"]["username"], "admin");
    assert_eq!(me.json()["device_id"], Value::Null);

    // A phone signs in with its device id; `me` shows it.
    let phone = "0195d2c4-7a3e-7c41-9a55-3f1d2e4b6a70";
    let int = anon
        .sign_in_with(&json!({"username": "int", "password": PASSWORD,
                              "device_id": phone, "device_name": "Redmi 12"}))
        .unwrap_or_else(|r| panic!("{r}"));
    let me = int.get("/api/v1/me").json();
    assert_eq!(me["device_id"], phone);
    assert_eq!(me["user"]["team"], "north");

    // Sign out: that token stops working, others do not.
    let second = sign_in(f, "int");
    assert_eq!(int.delete("/api/v1/sessions/current").status, 204);
    assert_problem(&int.get("/api/v1/me"), 401, "token_revoked");
    assert_eq!(second.get("/api/v1/me").status, 200);

    // Projects.
    let created = admin.post(
        "/api/v1/projects",
        &json!({"code": "cgss2026", "name": "中国综合社会调查 2026", "settings": {"seed": 7}}),
    );
    assert_eq!(created.status, 201, "{created}");
    let project = created.json();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/projects/{}", project["id"].as_str().unwrap()).as_str())
    );
    assert_eq!(project["settings"], json!({"seed": 7}));
    let dup = admin.post(
        "/api/v1/projects",
        &json!({"code": "cgss2026", "name": "x"}),
    );
    let p = assert_problem(&dup, 409, "already_exists");
    assert_eq!(p["field"], "code");
    let list = second.get("/api/v1/projects");
    assert_eq!(list.status, 200);
    assert_eq!(list.json()[0]["name"], "中国综合社会调查 2026");

    // Accounts made over the API can sign in.
    let made = admin.post(
        "/api/v1/users",
        &json!({"username": "Zhao", "display_name": "赵敏", "role": "supervisor",
                "team": "east", "password": "zhao's long secret"}),
    );
    assert_eq!(made.status, 201, "{made}");
    assert_eq!(made.json()["team"], "east");
    let dup = admin.post(
        "/api/v1/users",
        &json!({"username": "zhao", "role": "interviewer", "password": "whatever long"}),
    );
    assert_eq!(
        assert_problem(&dup, 409, "already_exists")["field"],
        "username"
    );
    let zhao = anon.sign_in("zhao", "zhao's long secret").unwrap();
    assert_eq!(
        zhao.get("/api/v1/me").json()["user"]["display_name"],
        "赵敏"
    );
    let users = admin.get("/api/v1/users").json();
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "far", "int", "int2", "sup", "zhao"]);
}

#[test]
fn signing_in_accounts_and_projects_on_sqlite() {
    sessions_and_resources(&on_sqlite(&[]));
}

#[test]
fn signing_in_accounts_and_projects_on_postgres() {
    sessions_and_resources(&on_postgres());
}

// --- the permission matrix ---------------------------------------------------------------------

/// Every endpoint × {anonymous, admin, supervisor, interviewer} × {own, same team, other team}.
fn permission_matrix(f: &Fixture) {
    let anon = f.server.client();
    let admin = sign_in(f, "admin");
    let sup = sign_in(f, "sup");
    let int = sign_in(f, "int");
    let id = |c: &Client| {
        c.get("/api/v1/me").json()["user"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (admin_id, sup_id, int_id) = (id(&admin), id(&sup), id(&int));
    let int2_id = {
        let users = admin.get("/api/v1/users").json();
        let find = |name: &str| {
            users
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["username"] == name)
                .map(|u| u["id"].as_str().unwrap().to_string())
                .unwrap()
        };
        (find("int2"), find("far"))
    };
    let (north_id, south_id) = int2_id;
    // A project with a questionnaire, for the project-scoped rows.
    let project = admin.post("/api/v1/projects", &json!({"code": "matrix", "name": "M"}));
    let p = project.json()["id"].as_str().unwrap().to_string();
    let form =
        sync_core::form::xlsform::read_form(&sync_core::form::household::household_workbook())
            .unwrap();
    let form = serde_json::to_value(&form).unwrap();
    let uploaded = admin.request(
        "POST",
        &format!("/api/v1/projects/{p}/forms"),
        &[("Content-Type", "application/json")],
        Some(form.to_string().into_bytes()),
    );
    assert_eq!(uploaded.status, 201, "{uploaded}");

    let base = format!("/api/v1/projects/{p}");
    let tiny = sync_core::synthetic::city(&sync_core::synthetic::CityOptions {
        areas: 1,
        buildings_per_area: 2,
        dwellings_per_building: 2,
        ..Default::default()
    });
    let area_code = tiny.areas[0].code.clone();
    let geojson: Value = serde_json::from_str(&sync_core::listing::geojson::write_listing(
        &tiny,
        &Default::default(),
    ))
    .unwrap();
    let draw = json!({"seed": 1, "form_id": "household_2026", "design": {
        "psu": {"draw": {"size": {"total": 1}, "allocation": {"method": "proportional"}, "certainty": true}},
        "segment": false, "take": 1, "include_vacant": true, "household": "one"}});
    let push = json!({"version": 1, "device_id": NOBODY, "ops": []});
    let pull = json!({"version": 1, "device_id": NOBODY, "after": 0});

    let actors: [(&str, &Client, &str); 4] = [
        ("anonymous", &anon, &admin_id),
        ("admin", &admin, &admin_id),
        ("supervisor", &sup, &sup_id),
        ("interviewer", &int, &int_id),
    ];
    // Expected statuses for [anonymous, admin, supervisor, interviewer].
    type Row<'a> = (&'a str, String, Option<Value>, [u16; 4]);
    let mut n = 0;
    let mut rows = |own: &str| -> Vec<Row<'static>> {
        n += 1;
        vec![
            ("GET", "/healthz".into(), None, [200, 200, 200, 200]),
            (
                "GET",
                "/api/v1/openapi.json".into(),
                None,
                [200, 200, 200, 200],
            ),
            ("GET", "/api/v1/me".into(), None, [401, 200, 200, 200]),
            ("GET", "/api/v1/projects".into(), None, [401, 200, 200, 200]),
            (
                "POST",
                "/api/v1/projects".into(),
                Some(json!({"code": format!("p{n}"), "name": "P"})),
                [401, 201, 403, 403],
            ),
            ("GET", "/api/v1/users".into(), None, [401, 200, 403, 403]),
            (
                "POST",
                "/api/v1/users".into(),
                Some(json!({"username": format!("u{n}"), "role": "interviewer",
                            "team": "north", "password": PASSWORD})),
                [401, 201, 403, 403],
            ),
            // own account
            (
                "GET",
                format!("/api/v1/users/{own}"),
                None,
                [401, 200, 200, 200],
            ),
            // an interviewer in the supervisor's (and the interviewer's) team
            (
                "GET",
                format!("/api/v1/users/{north_id}"),
                None,
                [401, 200, 200, 403],
            ),
            // an interviewer in another team
            (
                "GET",
                format!("/api/v1/users/{south_id}"),
                None,
                [401, 200, 403, 403],
            ),
            (
                "GET",
                format!("/api/v1/users/{NOBODY}"),
                None,
                [401, 404, 404, 404],
            ),
            (
                "GET",
                format!("/api/v1/projects/{p}/forms"),
                None,
                [401, 200, 200, 200],
            ),
            (
                "POST",
                format!("/api/v1/projects/{p}/forms"),
                Some(form.clone()),
                [401, 200, 200, 403],
            ),
            (
                "GET",
                format!("/api/v1/projects/{p}/forms/household_2026"),
                None,
                [401, 200, 200, 200],
            ),
            (
                "GET",
                format!("/api/v1/projects/{NOBODY}/forms"),
                None,
                [401, 404, 404, 404],
            ),
            // the frame: supervisors and administrators; areas for everyone
            (
                "POST",
                format!("{base}/listing"),
                Some(geojson.clone()),
                [401, 201, 201, 403],
            ),
            ("GET", format!("{base}/listing"), None, [401, 200, 200, 403]),
            ("GET", format!("{base}/areas"), None, [401, 200, 200, 200]),
            (
                "GET",
                format!("{base}/selfcheck"),
                None,
                [401, 200, 200, 403],
            ),
            (
                "POST",
                format!("{base}/frames"),
                Some(json!({})),
                [401, 201, 201, 403],
            ),
            (
                "POST",
                format!("{base}/samples"),
                Some(draw.clone()),
                [401, 201, 201, 403],
            ),
            // a multi-stage sample: its reserve is not released over this endpoint
            ("GET", format!("{base}/reserve"), None, [401, 409, 409, 403]),
            (
                "POST",
                format!("{base}/reserve/release"),
                Some(json!({"note": "low response"})),
                [401, 409, 409, 403],
            ),
            // an interviewer of the supervisor's team, and one of another team
            (
                "POST",
                format!("{base}/assignments"),
                Some(json!({"interviewer": "int", "area": area_code})),
                [401, 201, 201, 403],
            ),
            (
                "POST",
                format!("{base}/assignments"),
                Some(json!({"interviewer": "far", "area": area_code})),
                [401, 201, 403, 403],
            ),
            (
                "GET",
                format!("{base}/coverage"),
                None,
                [401, 200, 200, 403],
            ),
            (
                "GET",
                format!("{base}/coverage.geojson"),
                None,
                [401, 200, 200, 403],
            ),
            (
                "GET",
                format!("{base}/exports/household_2026/interviews.csv"),
                None,
                [401, 200, 200, 403],
            ),
            (
                "GET",
                format!("{base}/exports/household_2026/repeats/members.csv"),
                None,
                [401, 200, 200, 403],
            ),
            (
                "GET",
                format!("/api/v1/projects/{NOBODY}/coverage"),
                None,
                [401, 404, 404, 403],
            ),
            // sync: these tokens name no device
            (
                "POST",
                format!("{base}/sync/push"),
                Some(push.clone()),
                [401, 400, 400, 400],
            ),
            (
                "POST",
                format!("{base}/sync/pull"),
                Some(pull.clone()),
                [401, 400, 400, 400],
            ),
            (
                "POST",
                format!("/api/v1/projects/{NOBODY}/sync/pull"),
                Some(pull.clone()),
                [401, 400, 400, 400],
            ),
            // review: everyone lists their scope; only supervisors act
            (
                "GET",
                format!("{base}/interviews"),
                None,
                [401, 200, 200, 200],
            ),
            (
                "GET",
                format!("/api/v1/projects/{NOBODY}/interviews"),
                None,
                [401, 404, 404, 404],
            ),
            (
                "GET",
                format!("{base}/interviews/{NOBODY}"),
                None,
                [401, 404, 404, 404],
            ),
            (
                "POST",
                format!("{base}/interviews/{NOBODY}/approve"),
                Some(json!({})),
                [401, 404, 404, 403],
            ),
            (
                "POST",
                format!("{base}/interviews/{NOBODY}/return"),
                Some(json!({"note": "n"})),
                [401, 404, 404, 403],
            ),
            (
                "POST",
                format!("{base}/interviews/{NOBODY}/reopen"),
                Some(json!({"note": "n"})),
                [401, 404, 404, 403],
            ),
            (
                "GET",
                format!("{base}/conflicts"),
                None,
                [401, 200, 200, 200],
            ),
            (
                "POST",
                format!("{base}/conflicts/{NOBODY}/resolve"),
                Some(json!({"entity": NOBODY, "decision": "keep_current"})),
                [401, 404, 404, 403],
            ),
            (
                "GET",
                format!("{base}/refusals"),
                None,
                [401, 200, 200, 200],
            ),
        ]
    };
    let mut failures = Vec::new();
    for (i, (who, client, own)) in actors.iter().enumerate() {
        for (method, path, body, expected) in rows(own) {
            let reply = match &body {
                Some(b) => client.request(
                    method,
                    &path,
                    &[("Content-Type", "application/json")],
                    Some(b.to_string().into_bytes()),
                ),
                None => client.request(method, &path, &[], None),
            };
            let want = expected[i];
            let code_ok = match want {
                401 => reply.is_problem() && reply.code() == "token_missing",
                403 => reply.is_problem() && reply.code() == "forbidden",
                404 => reply.is_problem() && reply.code() == "not_found",
                _ => true,
            };
            if reply.status != want || !code_ok {
                failures.push(format!("{who} {method} {path}: want {want}, got {reply}"));
            }
        }
    }
    // Signing out, last (it revokes the tokens used above).
    for (i, (who, client, _)) in actors.iter().enumerate() {
        let reply = client.delete("/api/v1/sessions/current");
        let want = [401, 204, 204, 204][i];
        if reply.status != want {
            failures.push(format!(
                "{who} DELETE /api/v1/sessions/current: want {want}, got {reply}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn permission_matrix_on_sqlite() {
    permission_matrix(&on_sqlite(&[]));
}

#[test]
fn permission_matrix_on_postgres() {
    permission_matrix(&on_postgres());
}

// --- bad input ---------------------------------------------------------------------------------

#[test]
fn bad_input_gets_problem_json_with_a_stable_code() {
    let f = on_sqlite(&[]);
    let anon = f.server.client();
    let admin = sign_in(&f, "admin");
    let json_ct = [("Content-Type", "application/json")];

    let r = anon.post_raw(
        "/api/v1/sessions",
        "application/json",
        b"{\"username\": \"admin\",\n \"password\": }".to_vec(),
    );
    let p = assert_problem(&r, 400, "malformed_json");
    assert!(
        p["detail"].as_str().unwrap().contains("line 2, column"),
        "{p}"
    );

    let r = anon.post("/api/v1/sessions", &json!({"username": 5, "password": "x"}));
    let p = assert_problem(&r, 422, "invalid_field");
    assert_eq!(p["field"], "username");
    assert!(
        p["detail"].as_str().unwrap().contains("expected a string"),
        "{p}"
    );

    let r = anon.post("/api/v1/sessions", &json!({"username": "admin"}));
    assert_eq!(
        assert_problem(&r, 422, "missing_field")["field"],
        "password"
    );

    let r = anon.post_raw("/api/v1/sessions", "application/json", Vec::new());
    assert_problem(&r, 400, "malformed_json");

    let r = anon.post(
        "/api/v1/sessions",
        &json!({"username": "admin", "password": PASSWORD, "device_id": "phone-1"}),
    );
    assert_eq!(
        assert_problem(&r, 422, "invalid_field")["field"],
        "device_id"
    );

    let r = admin.post(
        "/api/v1/users",
        &json!({"username": "x", "role": "root", "password": PASSWORD}),
    );
    assert_eq!(assert_problem(&r, 422, "invalid_field")["field"], "role");
    let r = admin.post(
        "/api/v1/users",
        &json!({"username": "x", "role": "supervisor", "password": PASSWORD}),
    );
    assert_eq!(assert_problem(&r, 422, "invalid_field")["field"], "team");
    let r = admin.post(
        "/api/v1/users",
        &json!({"username": "x", "role": "interviewer", "password": "short"}),
    );
    assert_eq!(
        assert_problem(&r, 422, "invalid_field")["field"],
        "password"
    );
    let r = admin.post(
        "/api/v1/projects",
        &json!({"code": "has space", "name": "x"}),
    );
    assert_eq!(assert_problem(&r, 422, "invalid_field")["field"], "code");
    let r = admin.post(
        "/api/v1/projects",
        &json!({"code": "ok", "name": "x", "settings": {"tiles": [1, {"url": 5}]}}),
    );
    assert_eq!(r.status, 201, "settings are free-form JSON: {r}");

    let r = admin.post_raw("/api/v1/projects", "text/plain", b"code=x".to_vec());
    assert_problem(&r, 415, "unsupported_media_type");
    let r = admin.request("POST", "/api/v1/projects", &[], Some(b"{}".to_vec()));
    assert_problem(&r, 415, "unsupported_media_type");

    // Bodies are bounded (1 MiB): a 2 MiB one is refused, and the connection still answers.
    let big = format!(
        "{{\"code\": \"big\", \"name\": \"{}\"}}",
        "x".repeat(2 << 20)
    );
    let r = admin.post_raw("/api/v1/projects", "application/json", big.into_bytes());
    assert_problem(&r, 413, "payload_too_large");
    assert_eq!(admin.get("/api/v1/projects").status, 200);

    // Routes and methods that do not exist.
    assert_problem(&anon.get("/api/v1/nothing-here"), 404, "not_found");
    assert_problem(&anon.get("/favicon.ico"), 404, "not_found");
    assert_problem(&anon.get("/api/v1/docs/no-such-file.js"), 404, "not_found");
    let r = admin.request("PUT", "/api/v1/projects", &json_ct, Some(b"{}".to_vec()));
    assert_problem(&r, 405, "method_not_allowed");
    let r = anon.request("GET", "/api/v1/sessions", &[], None);
    assert_problem(&r, 405, "method_not_allowed");

    // Tokens that are not tokens.
    for header in [
        "Bearer nonsense",
        "Basic YWRtaW46c2VjcmV0",
        "Bearer",
        &format!("Bearer {}", "A".repeat(43)),
    ] {
        let r = anon.request("GET", "/api/v1/me", &[("Authorization", header)], None);
        assert_problem(&r, 401, "token_invalid");
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.contains("invalid_token")),
            "{header}"
        );
    }
    assert_problem(&anon.get("/api/v1/me"), 401, "token_missing");
}

#[test]
fn tokens_expire() {
    let f = on_sqlite(&["--token-ttl", "3s"]);
    let int = sign_in(&f, "int");
    assert_eq!(int.get("/api/v1/me").status, 200);
    std::thread::sleep(std::time::Duration::from_millis(3_300));
    assert_problem(&int.get("/api/v1/me"), 401, "token_expired");
    assert_eq!(
        sign_in(&f, "int").get("/api/v1/me").status,
        200,
        "signing in again works"
    );
}

// --- the OpenAPI document, Swagger UI, compression ------------------------------------------

#[test]
fn the_openapi_document_describes_every_route_and_swagger_ui_shows_it() {
    let f = on_sqlite(&[]);
    let anon = f.server.client();
    let doc = anon.get("/api/v1/openapi.json");
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    assert_eq!(
        documented,
        [
            "DELETE /api/v1/sessions/current",
            "GET /api/v1/me",
            "GET /api/v1/projects",
            "GET /api/v1/projects/{project}/areas",
            "GET /api/v1/projects/{project}/conflicts",
            "GET /api/v1/projects/{project}/coverage",
            "GET /api/v1/projects/{project}/coverage.geojson",
            "GET /api/v1/projects/{project}/exports/{form_id}/interviews.csv",
            "GET /api/v1/projects/{project}/exports/{form_id}/repeats/{group}.csv",
            "GET /api/v1/projects/{project}/forms",
            "GET /api/v1/projects/{project}/forms/{form_id}",
            "GET /api/v1/projects/{project}/interviews",
            "GET /api/v1/projects/{project}/interviews/{id}",
            "GET /api/v1/projects/{project}/listing",
            "GET /api/v1/projects/{project}/refusals",
            "GET /api/v1/projects/{project}/reserve",
            "GET /api/v1/projects/{project}/selfcheck",
            "GET /api/v1/users",
            "GET /api/v1/users/{id}",
            "GET /healthz",
            "POST /api/v1/projects",
            "POST /api/v1/projects/{project}/assignments",
            "POST /api/v1/projects/{project}/conflicts/{conflict}/resolve",
            "POST /api/v1/projects/{project}/forms",
            "POST /api/v1/projects/{project}/frames",
            "POST /api/v1/projects/{project}/interviews/{id}/approve",
            "POST /api/v1/projects/{project}/interviews/{id}/reopen",
            "POST /api/v1/projects/{project}/interviews/{id}/return",
            "POST /api/v1/projects/{project}/listing",
            "POST /api/v1/projects/{project}/reserve/release",
            "POST /api/v1/projects/{project}/samples",
            "POST /api/v1/projects/{project}/sync/pull",
            "POST /api/v1/projects/{project}/sync/push",
            "POST /api/v1/sessions",
            "POST /api/v1/users",
        ]
    );
    // Every documented operation is routed (no 404/405 from the router).
    for op in &documented {
        let (method, path) = op.split_once(' ').unwrap();
        let path = path.replace("{id}", NOBODY);
        let r = anon.request(
            method,
            &path,
            &[("Content-Type", "application/json")],
            Some(b"{}".to_vec()),
        );
        assert!(![404, 405].contains(&r.status), "{op}: {r}");
    }

    let bare = anon.get("/api/v1/docs");
    assert_eq!(bare.status, 308);
    assert_eq!(bare.header("location"), Some("/api/v1/docs/"));
    let head = anon.request("HEAD", "/healthz", &[], None);
    assert_eq!(head.status, 200, "load balancers probe with HEAD too");
    assert!(head.bytes.is_empty());

    let ui = anon.get("/api/v1/docs/");
    assert_eq!(ui.status, 200, "{ui}");
    assert!(ui.header("content-type").unwrap().starts_with("text/html"));
    assert!(ui.text().to_lowercase().contains("swagger"));
    let init = anon.get("/api/v1/docs/swagger-initializer.js");
    assert_eq!(init.status, 200);
    assert!(
        init.text().contains("/api/v1/openapi.json"),
        "{}",
        init.text()
    );
}

#[test]
fn responses_are_compressed_when_the_client_accepts_it() {
    let f = on_sqlite(&[]);
    let anon = f.server.client();
    let gz = anon.request(
        "GET",
        "/api/v1/openapi.json",
        &[("Accept-Encoding", "gzip")],
        None,
    );
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(&gz.bytes[..2], &[0x1f, 0x8b], "a gzip stream");
    let plain = anon.get("/api/v1/openapi.json");
    assert_eq!(plain.header("content-encoding"), None);
    assert!(
        gz.bytes.len() * 3 < plain.bytes.len(),
        "{} vs {}",
        gz.bytes.len(),
        plain.bytes.len()
    );
    let problem = anon.request(
        "GET",
        "/api/v1/nothing",
        &[("Accept-Encoding", "gzip")],
        None,
    );
    assert_eq!(problem.status, 404);
    assert!(problem.is_problem());
}

// --- several servers on one database ------------------------------------------------------------

/// Two `mapframe serve` processes started at the same moment on one empty database: both migrate
/// safely (one applies, the other waits and finds nothing to do), both serve, and a token issued
/// by one works on the other (no state lives only in a process).
fn two_servers_at_once(db: &str) {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| ServerProcess::start(db));
        let b = s.spawn(|| ServerProcess::start(db));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (a, b) = (
        a.unwrap_or_else(|e| panic!("{e}")),
        b.unwrap_or_else(|e| panic!("{e}")),
    );
    assert_ne!(a.base_url, b.base_url);
    for s in [&a, &b] {
        assert_eq!(s.client().get("/healthz").status, 200, "{}", s.log());
    }
    let migrated = mapframe_e2e::mapframe(&["migrate", "--database-url", db]);
    assert!(mapframe_e2e::stdout(&migrated).contains("up to date"));
    add_user(db, "admin", "admin", None, PASSWORD);
    let on_a = a.client().sign_in("admin", PASSWORD).unwrap();
    let on_b = b.client().with_token(on_a.token().unwrap());
    assert_eq!(on_b.get("/api/v1/me").status, 200);
    let made = on_b.post(
        "/api/v1/projects",
        &json!({"code": "shared", "name": "Shared"}),
    );
    assert_eq!(made.status, 201, "{made}");
    assert_eq!(on_a.get("/api/v1/projects").json()[0]["code"], "shared");
    assert_eq!(on_a.delete("/api/v1/sessions/current").status, 204);
    assert_eq!(on_b.get("/api/v1/me").json()["code"], "token_revoked");
}

#[test]
fn two_servers_started_together_share_one_postgres_database() {
    let pg = PgCluster::start().expect("PostgreSQL is needed for this test (install postgresql)");
    two_servers_at_once(&fresh_pg_database(&pg, "two_servers"));
}

#[test]
fn two_servers_started_together_share_one_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    two_servers_at_once(&format!(
        "sqlite:{}",
        dir.path().join("shared.db").display()
    ));
}
