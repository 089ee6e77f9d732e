//! Questionnaires over HTTP: XLSForm uploads as survey teams make them (real .xlsx files), every
//! version kept, authoring errors located by sheet, row and column, and nothing stored from a
//! refused upload — on SQLite and on PostgreSQL.

use mapframe_e2e::http::{Client, Reply};
use mapframe_e2e::pg::PgCluster;
use mapframe_e2e::server::{ServerProcess, add_user, fresh_pg_database, migrate};
use mapframe_e2e::xlsx_bytes;
use serde_json::{Value, json};
use sync_core::form::household::household_workbook;

const PASSWORD: &str = "a long secret";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn seed(db: &str) {
    migrate(db);
    add_user(db, "admin", "admin", None, PASSWORD);
    add_user(db, "sup", "supervisor", Some("north"), PASSWORD);
    add_user(db, "int", "interviewer", Some("north"), PASSWORD);
}

fn problem(reply: &Reply, status: u16, code: &str) -> Value {
    assert_eq!(reply.status, status, "{reply}");
    assert!(reply.is_problem(), "{reply}");
    assert_eq!(reply.code(), code, "{reply}");
    reply.json()
}

fn set_version(wb: &mut sync_core::form::xlsform::Workbook, version: &str) {
    let settings = wb
        .sheets
        .iter_mut()
        .find(|s| s.name == "settings")
        .expect("settings sheet");
    let col = settings.rows[0]
        .iter()
        .position(|h| h == "version")
        .expect("version column");
    settings.rows[1][col] = version.into();
}

fn scenario(server: &ServerProcess) {
    let c = server.client();
    let admin = c.sign_in("admin", PASSWORD).unwrap();
    let sup = c.sign_in("sup", PASSWORD).unwrap();
    let int = c.sign_in("int", PASSWORD).unwrap();
    let project = admin.post(
        "/api/v1/projects",
        &json!({"code": "hh", "name": "Households"}),
    );
    assert_eq!(project.status, 201, "{project}");
    let p = project.json()["id"].as_str().unwrap().to_string();
    let forms = format!("/api/v1/projects/{p}/forms");
    let upload = |who: &Client, name: &str, bytes: Vec<u8>| {
        who.post_raw(&format!("{forms}?name={name}"), XLSX, bytes)
    };

    // A supervisor uploads the household questionnaire.
    let wb = household_workbook();
    let first = upload(&sup, "household.xlsx", xlsx_bytes(&wb));
    assert_eq!(first.status, 201, "{first}");
    let v = first.json();
    assert_eq!(v["form_id"], "household_2026");
    assert_eq!(v["created"], true);
    assert_eq!(v["source_name"], "household.xlsx");
    assert!(v["questions"].as_u64().unwrap() > 20, "{v:#}");
    assert!(v["form"]["questions"].is_array());
    let version = v["version"].as_str().unwrap().to_string();

    // The same file again changes nothing.
    let again = upload(&sup, "household.xlsx", xlsx_bytes(&wb));
    assert_eq!(again.status, 200, "{again}");
    assert_eq!(again.json()["created"], false);
    assert_eq!(again.json()["sha256"], v["sha256"]);

    // A changed form under the same version is refused; under a new version it is kept beside.
    let mut changed = household_workbook();
    changed.sheets[0].rows[2][2] = "A changed label".into();
    problem(
        &upload(&sup, "household.xlsx", xlsx_bytes(&changed)),
        409,
        "already_exists",
    );
    set_version(&mut changed, "2099010101");
    let second = upload(&admin, "household-v2.xlsx", xlsx_bytes(&changed));
    assert_eq!(second.status, 201, "{second}");

    // Authoring errors: every one located, nothing stored.
    let mut bad = household_workbook();
    bad.sheets[0].rows[12][7] = "${nobody} > 1".into();
    set_version(&mut bad, "2099020202");
    let p422 = problem(
        &upload(&sup, "bad.xlsx", xlsx_bytes(&bad)),
        422,
        "form_invalid",
    );
    let errors = p422["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["sheet"] == "survey" && e["row"] == 13 && e["column"] == "relevant"),
        "{p422:#}"
    );
    problem(
        &upload(&sup, "junk.xlsx", b"this is not a zip file".to_vec()),
        422,
        "spreadsheet_unreadable",
    );
    problem(
        &sup.post_raw(&forms, "application/json", b"{\"settings\": 5}".to_vec()),
        422,
        "form_invalid",
    );

    // Interviewers read forms but may not upload them.
    problem(
        &upload(&int, "household.xlsx", xlsx_bytes(&wb)),
        403,
        "forbidden",
    );
    let list = int.get(&forms);
    assert_eq!(list.status, 200, "{list}");
    let list = list.json();
    let versions: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, [version.as_str(), "2099010101"], "{list:#}");
    let latest = int.get(&format!("{forms}/household_2026"));
    assert_eq!(latest.json()["version"], "2099010101");
    let old = int.get(&format!("{forms}/household_2026?version={version}"));
    assert_eq!(old.json()["sha256"], v["sha256"]);
    problem(&int.get(&format!("{forms}/nothing")), 404, "not_found");
    problem(
        &sup.post_raw(
            "/api/v1/projects/0195d2c4-0000-7000-8000-000000000000/forms",
            XLSX,
            xlsx_bytes(&wb),
        ),
        404,
        "not_found",
    );
}

#[test]
fn forms_are_uploaded_versioned_and_refused_with_located_errors_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("mapframe.db").display());
    seed(&db);
    let server = ServerProcess::start(&db).unwrap_or_else(|e| panic!("{e}"));
    scenario(&server);
}

#[test]
fn forms_are_uploaded_versioned_and_refused_with_located_errors_on_postgres() {
    let pg = PgCluster::start().expect("PostgreSQL is needed for this test (install postgresql)");
    let db = fresh_pg_database(&pg, "forms");
    seed(&db);
    let server = ServerProcess::start(&db).unwrap_or_else(|e| panic!("{e}"));
    scenario(&server);
}
