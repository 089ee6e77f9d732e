//! The Python bindings, generated from the built library, exercised by the unittest scripts in
//! `tests/python/`:
//!
//! * against the contract server (`support`), always: restarts mid-interview, errors, the
//!   sans-I/O sync, and the field day (two phones, a conflict, a server dying mid-sync);
//! * the same field day against a real `mapframe serve` on loopback, set up over its API (project,
//!   listing, form, frame, sample, assignment); an endpoint it needs that the server lacks is a
//!   failure.
//!
//! Skipped, with the reason printed, only when `python3` is not installed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> Option<String> {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| "python3".to_string())
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Generates the Python module (and copies the library beside it) into `out`.
fn generate(out: &Path) {
    let status = Command::new("bash")
        .arg(crate_dir().join("generate.sh"))
        .arg(out)
        .arg("python")
        .status()
        .expect("generate.sh runs");
    assert!(status.success(), "generating the Python bindings failed");
}

fn run_script(py: &str, bindings: &Path, script: &str, env: &[(&str, String)]) {
    let path = crate_dir().join("tests/python").join(script);
    let out = Command::new(py)
        .arg(&path)
        .arg("-v")
        .env("PYTHONPATH", bindings)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("== {script}\n{text}");
    assert!(out.status.success(), "{script} failed:\n{text}");
}

#[test]
fn python_bindings_against_the_contract_server() {
    let Some(py) = python() else {
        println!("SKIPPED: python3 is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let bindings = dir.path().join("python");
    for script in ["test_store.py", "test_field_day.py"] {
        // A fresh server per script: each starts from the morning's state.
        let server = support::ContractServer::start();
        let env = [
            ("MAPFRAME_SERVER_URL", server.url.clone()),
            ("MAPFRAME_PROJECT", server.project.clone()),
            ("MAPFRAME_CONTROL", "1".to_string()),
            ("MAPFRAME_PASSWORD", "pw".to_string()),
        ];
        run_script(&py, &bindings, script, &env);
    }
}

#[test]
fn python_field_day_against_a_real_server() {
    let Some(py) = python() else {
        println!("SKIPPED: python3 is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("server.db").display());
    real::migrate_and_add_users(&db);
    let server = mapframe_e2e::server::ServerProcess::start(&db).expect("mapframe serve starts");
    let missing = real::missing_endpoints(&server);
    assert!(
        missing.is_empty(),
        "the server lacks what a phone needs: {}",
        missing.join(", ")
    );
    let setup = real::set_up_project(&server, dir.path());
    generate(dir.path());
    let bindings = dir.path().join("python");
    let port = server
        .base_url
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let env = [
        ("MAPFRAME_SERVER_URL", server.base_url.clone()),
        ("MAPFRAME_PROJECT", setup),
        ("MAPFRAME_PASSWORD", real::PASSWORD.to_string()),
        ("MAPFRAME_SERVER_PID", server.pid().to_string()),
        (
            "MAPFRAME_BIN",
            mapframe_e2e::mapframe_bin().display().to_string(),
        ),
        ("MAPFRAME_DB", db.clone()),
        ("MAPFRAME_PORT", port),
    ];
    run_script(&py, &bindings, "test_field_day.py", &env);
}

mod real {
    use mapframe_e2e::server::{ServerProcess, add_user, migrate};
    use serde_json::json;
    use sync_core::form::household::household_workbook;
    use sync_core::form::xlsform::read_form;
    use sync_core::listing::geojson::{ExportOptions, write_listing};
    use sync_core::sampling::multistage::{HouseholdStage, MultiStageDesign, PsuStage};

    pub const PASSWORD: &str = "a long secret 123";

    pub fn migrate_and_add_users(db: &str) {
        migrate(db);
        add_user(db, "admin", "admin", None, PASSWORD);
        add_user(db, "sup", "supervisor", Some("team1"), PASSWORD);
        add_user(db, "int1", "interviewer", Some("team1"), PASSWORD);
    }

    /// The endpoints the field day needs that the server's OpenAPI document does not list.
    pub fn missing_endpoints(server: &ServerProcess) -> Vec<String> {
        let doc = server.client().get("/api/v1/openapi.json").text();
        [
            "/sync/push",
            "/sync/pull",
            "/areas",
            "/listing",
            "/frames",
            "/samples",
            "/assignments",
        ]
        .iter()
        .filter(|p| !doc.contains(&format!("/api/v1/projects/{{project}}{p}\"")))
        .map(|p| p.to_string())
        .collect()
    }

    /// Admin creates the project; the supervisor imports a listing, uploads the form, freezes the
    /// frame, draws the sample and assigns the area to `int1`. Returns the project's id.
    pub fn set_up_project(server: &ServerProcess, _dir: &std::path::Path) -> String {
        let c = server.client();
        let admin = c.sign_in("admin", PASSWORD).expect("admin signs in");
        let p = admin.post(
            "/api/v1/projects",
            &json!({"code": "field-day", "name": "Field day"}),
        );
        assert!(p.status < 300, "create project: {}", p.text());
        let project = p.json()["id"].as_str().unwrap_or("field-day").to_string();
        let sup = c.sign_in("sup", PASSWORD).expect("supervisor signs in");
        let mut city = sync_core::synthetic::city(&sync_core::synthetic::CityOptions {
            areas: 1,
            buildings_per_area: 6,
            dwellings_per_building: 4,
            ..Default::default()
        });
        for a in &mut city.areas {
            a.first_stage_prob = Some(0.1);
        }
        let area_code = city.areas[0].code.clone();
        let listing = write_listing(&city, &ExportOptions::default());
        let base = format!("/api/v1/projects/{project}");
        let steps: Vec<(String, &str, Vec<u8>)> = vec![
            (
                format!("{base}/listing"),
                "application/geo+json",
                listing.into_bytes(),
            ),
            (
                format!("{base}/forms"),
                "application/json",
                serde_json::to_vec(&read_form(&household_workbook()).unwrap()).unwrap(),
            ),
            (format!("{base}/frames"), "application/json", b"{}".to_vec()),
            (
                format!("{base}/samples"),
                "application/json",
                serde_json::to_vec(&json!({
                    "seed": 1,
                    "design": MultiStageDesign {
                        psu: PsuStage::Given,
                        segment: false,
                        take: 2,
                        reserve: None,
                        include_vacant: false,
                        household: HouseholdStage::One,
                    },
                    "form_id": "household_2026",
                }))
                .unwrap(),
            ),
            (
                format!("{base}/assignments"),
                "application/json",
                serde_json::to_vec(&json!({"interviewer": "int1", "area": area_code})).unwrap(),
            ),
        ];
        for (path, ct, body) in steps {
            let r = sup.post_raw(&path, ct, body);
            assert!(r.status < 300, "POST {path}: {} {}", r.status, r.text());
        }
        project
    }
}
