//! The frame over HTTP, on SQLite and on PostgreSQL: a listing imported from GeoJSON (bad
//! features refused all at once, located, nothing stored), the self-check, a frozen frame, a
//! multi-stage draw that creates cases, and an assignment that puts them on an interviewer's
//! phone.

use mapframe_e2e::http::{Client, Reply};
use mapframe_e2e::pg::PgCluster;
use mapframe_e2e::server::{ServerProcess, add_user, fresh_pg_database, migrate};
use serde_json::{Value, json};
use sync_core::listing::geojson::{ExportOptions, write_listing};
use sync_core::synthetic::{CityOptions, city};

const PASSWORD: &str = "a long secret";
const GEOJSON: &str = "application/geo+json";

fn seed(db: &str) {
    migrate(db);
    add_user(db, "admin", "admin", None, PASSWORD);
    add_user(db, "sup", "supervisor", Some("north"), PASSWORD);
    add_user(db, "int", "interviewer", Some("north"), PASSWORD);
    add_user(db, "far", "interviewer", Some("south"), PASSWORD);
}

fn problem(reply: &Reply, status: u16, code: &str) -> Value {
    assert_eq!(reply.status, status, "{reply}");
    assert!(reply.is_problem(), "{reply}");
    assert_eq!(reply.code(), code, "{reply}");
    reply.json()
}

fn dwellings(c: &Client, p: &str) -> usize {
    let r = c.get(&format!("/api/v1/projects/{p}/listing"));
    assert_eq!(r.status, 200, "{r}");
    let v: Value = serde_json::from_str(&r.text()).unwrap();
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["layer"] == "dwelling")
        .count()
}

fn scenario(server: &ServerProcess) {
    let c = server.client();
    let admin = c.sign_in("admin", PASSWORD).unwrap();
    let sup = c.sign_in("sup", PASSWORD).unwrap();
    let int = c.sign_in("int", PASSWORD).unwrap();
    let p = admin
        .post("/api/v1/projects", &json!({"code": "f", "name": "Frame"}))
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let listing = city(&CityOptions {
        areas: 4,
        buildings_per_area: 12,
        dwellings_per_building: 8,
        defects: true,
        ..CityOptions::default()
    });
    let text = write_listing(&listing, &ExportOptions::default());
    let import = |who: &Client, query: &str, body: &str| {
        who.post_raw(
            &format!("/api/v1/projects/{p}/listing{query}"),
            GEOJSON,
            body.as_bytes().to_vec(),
        )
    };

    // Interviewers do not import; a bad crs is named.
    problem(&import(&int, "", &text), 403, "forbidden");
    let bad_crs = problem(&import(&sup, "?crs=utm50", &text), 422, "invalid_field");
    assert_eq!(bad_crs["field"], "crs");

    let first = import(&sup, "?crs=wgs84", &text);
    assert_eq!(first.status, 201, "{first}");
    let s = first.json();
    assert_eq!(s["areas_created"], 4);
    assert_eq!(
        s["dwellings"].as_u64().unwrap() as usize,
        listing.dwellings.len()
    );
    assert_eq!(s["refused"], 0);
    assert_eq!(dwellings(&sup, &p), listing.dwellings.len());

    // The same file again changes nothing.
    let again = import(&sup, "", &text).json();
    assert_eq!(again["areas_kept"], 4);
    assert_eq!(again["dwellings"], 0);
    assert_eq!(
        again["unchanged"].as_u64().unwrap() as usize,
        listing.dwellings.len() + listing.buildings.len()
    );

    // Bad features: every one located, nothing stored.
    let mut v: Value = serde_json::from_str(&text).unwrap();
    let features = v["features"].as_array_mut().unwrap();
    let n = features.len();
    features[n - 1]["geometry"] = json!({"type": "Point", "coordinates": ["east", 25.0]});
    features.push(json!({"type": "Feature", "id": "extra-1", "geometry": null,
                         "properties": {"layer": "dwelling", "area": "A001"}}));
    let bad = problem(&import(&sup, "", &v.to_string()), 422, "listing_invalid");
    let errors = bad["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["feature"] == n - 1), "{bad:#}");
    assert!(
        errors
            .iter()
            .all(|e| e["message"].is_string() && e["code"].is_string())
    );
    problem(
        &import(&sup, "", "{\"type\": \"FeatureCollection\", "),
        422,
        "listing_invalid",
    );
    assert_eq!(dwellings(&sup, &p), listing.dwellings.len());

    // Areas for the phones' maps; the self-check finds the planted defects.
    let areas = int.get(&format!("/api/v1/projects/{p}/areas"));
    assert_eq!(areas.status, 200, "{areas}");
    let areas: Value = serde_json::from_str(&areas.text()).unwrap();
    assert_eq!(areas["features"].as_array().unwrap().len(), 4);
    let code = areas["features"][0]["properties"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let check = sup.get(&format!("/api/v1/projects/{p}/selfcheck"));
    assert_eq!(check.status, 200, "{check}");
    assert!(!check.json()["findings"].as_array().unwrap().is_empty());
    problem(
        &int.get(&format!("/api/v1/projects/{p}/selfcheck")),
        403,
        "forbidden",
    );

    // Freeze, draw, assign.
    problem(
        &sup.post(
            &format!("/api/v1/projects/{p}/samples"),
            &json!({"seed": 7, "design": design()}),
        ),
        404,
        "not_found",
    );
    let frame = sup.post(&format!("/api/v1/projects/{p}/frames"), &json!({}));
    assert_eq!(frame.status, 201, "{frame}");
    let hash = frame.json()["hash"].as_str().unwrap().to_string();
    assert!(
        hash.len() >= 64
            && hash[hash.len() - 64..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit()),
        "{hash}"
    );
    let sample = sup.post(
        &format!("/api/v1/projects/{p}/samples"),
        &json!({"seed": 7, "design": design(), "form_id": "household_2026"}),
    );
    assert_eq!(sample.status, 201, "{sample}");
    let sample = sample.json();
    assert_eq!(sample["psus"], 2);
    assert_eq!(sample["cases"], 10, "{sample:#}");
    let bad_design = sup.post(
        &format!("/api/v1/projects/{p}/samples"),
        &json!({"seed": 7, "design": {"psu": "given"}}),
    );
    assert_eq!(bad_design.status, 422, "{bad_design}");

    // Assign every sampled area to `int`; another team's interviewer is not the supervisor's.
    let mut assigned = 0;
    for f in areas["features"].as_array().unwrap() {
        let code = f["properties"]["code"].as_str().unwrap();
        let a = sup.post(
            &format!("/api/v1/projects/{p}/assignments"),
            &json!({"interviewer": "int", "area": code}),
        );
        assert_eq!(a.status, 201, "{a}");
        assigned += a.json()["cases"].as_u64().unwrap();
    }
    assert_eq!(assigned, 10);
    problem(
        &sup.post(
            &format!("/api/v1/projects/{p}/assignments"),
            &json!({"interviewer": "far", "area": code}),
        ),
        403,
        "forbidden",
    );
    problem(
        &sup.post(
            &format!("/api/v1/projects/{p}/assignments"),
            &json!({"interviewer": "int", "area": "NOPE"}),
        ),
        404,
        "not_found",
    );
    let list = int.get(&format!("/api/v1/projects/{p}/interviews?limit=100"));
    assert_eq!(list.status, 200, "{list}");
    let list = list.json();
    let items = list["items"]
        .as_array()
        .or_else(|| list.as_array())
        .unwrap();
    assert_eq!(items.len(), 10, "{list:#}");
}

/// Two PSUs by PPS, five dwellings each, one household per dwelling.
fn design() -> Value {
    json!({
        "psu": {"draw": {"size": {"total": 2}, "allocation": {"method": "proportional"}, "certainty": true}},
        "segment": false,
        "take": 5,
        "include_vacant": true,
        "household": "one"
    })
}

#[test]
fn the_frame_is_imported_checked_frozen_sampled_and_assigned_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("mapframe.db").display());
    seed(&db);
    let server = ServerProcess::start(&db).unwrap_or_else(|e| panic!("{e}"));
    scenario(&server);
}

#[test]
fn the_frame_is_imported_checked_frozen_sampled_and_assigned_on_postgres() {
    let pg = PgCluster::start().expect("PostgreSQL is needed for this test (install postgresql)");
    let db = fresh_pg_database(&pg, "frame");
    seed(&db);
    let server = ServerProcess::start(&db).unwrap_or_else(|e| panic!("{e}"));
    scenario(&server);
}
