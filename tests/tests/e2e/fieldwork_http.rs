//! The whole survey over HTTP, on SQLite and on PostgreSQL, through the endpoints a team uses: a
//! supervisor imports the listing, uploads the questionnaire, freezes the frame, draws the sample
//! and assigns areas; two phones (sync-core replicas over HTTP) receive their areas and cases, list
//! a new dwelling and interview offline, push with duplicated and interrupted requests; the
//! supervisor approves one interview and returns another; coverage, the CSV exports and the
//! listing export then agree with what was done.

use crate::sync_http::{Phone, fields, interview, text};
use mapframe_e2e::http::Client;
use mapframe_e2e::pg::PgCluster;
use mapframe_e2e::server::{ServerProcess, add_user, fresh_pg_database, migrate};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use sync_core::listing::geojson::{ExportOptions, write_listing};
use sync_core::sync::{EntityKind, FieldValue, OpBody, Role, Target};
use sync_core::synthetic::{CityOptions, city};
use uuid::Uuid;

const PASSWORD: &str = "a long secret";

fn seed(db: &str) {
    migrate(db);
    add_user(db, "admin", "admin", None, PASSWORD);
    add_user(db, "sup", "supervisor", Some("north"), PASSWORD);
    add_user(db, "int1", "interviewer", Some("north"), PASSWORD);
    add_user(db, "int2", "interviewer", Some("north"), PASSWORD);
}

fn ok(reply: mapframe_e2e::http::Reply, status: u16) -> Value {
    assert_eq!(reply.status, status, "{reply}");
    reply.json()
}

fn items(v: &Value) -> Vec<Value> {
    v["items"]
        .as_array()
        .or_else(|| v.as_array())
        .cloned()
        .unwrap_or_else(|| panic!("{v:#}"))
}

fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn story(server: &ServerProcess) {
    let c = server.client();
    let admin = c.sign_in("admin", PASSWORD).unwrap();
    let sup: Client = c.sign_in("sup", PASSWORD).unwrap();
    let p = ok(
        admin.post("/api/v1/projects", &json!({"code": "hh", "name": "HH"})),
        201,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let api = |path: &str| format!("/api/v1/projects/{p}{path}");

    // The office: listing, questionnaire, frame, sample, assignments.
    let listing = city(&CityOptions {
        areas: 3,
        buildings_per_area: 10,
        dwellings_per_building: 6,
        ..CityOptions::default()
    });
    let text_listing = write_listing(&listing, &ExportOptions::default());
    ok(
        sup.post_raw(
            &api("/listing"),
            "application/geo+json",
            text_listing.into_bytes(),
        ),
        201,
    );
    let form =
        sync_core::form::xlsform::read_form(&sync_core::form::household::household_workbook())
            .unwrap();
    ok(
        sup.post_raw(
            &api("/forms"),
            "application/json",
            serde_json::to_vec(&form).unwrap(),
        ),
        201,
    );
    ok(sup.post(&api("/frames"), &json!({})), 201);
    let design = json!({
        "psu": {"draw": {"size": {"total": 2}, "allocation": {"method": "proportional"}, "certainty": true}},
        "segment": false, "take": 4, "include_vacant": true, "household": "one"
    });
    let sample = ok(
        sup.post(
            &api("/samples"),
            &json!({"seed": 11, "design": design, "form_id": "household_2026"}),
        ),
        201,
    );
    assert_eq!(sample["cases"], 8, "{sample:#}");
    let cases = items(&ok(sup.get(&api("/interviews?limit=100")), 200));
    let mut sampled_areas: Vec<String> = cases
        .iter()
        .map(|c| c["area"].as_str().unwrap().to_string())
        .collect();
    sampled_areas.sort();
    sampled_areas.dedup();
    assert_eq!(sampled_areas.len(), 2);
    for (area, who) in sampled_areas.iter().zip(["int1", "int2"]) {
        let a = ok(
            sup.post(
                &api("/assignments"),
                &json!({"interviewer": who, "area": area}),
            ),
            201,
        );
        assert_eq!(a["cases"], 4, "{a:#}");
    }

    // The field: two phones receive their area and cases.
    let mut one = Phone::new(server, "int1 phone", "int1", Role::Interviewer, &p, 1);
    let mut two = Phone::new(server, "int2 phone", "int2", Role::Interviewer, &p, 2);
    one.sync();
    two.sync();
    let held = |ph: &Phone, kind: EntityKind| -> Vec<Uuid> {
        ph.replica
            .entities()
            .values()
            .filter(|e| e.kind == kind && !e.deleted)
            .map(|e| e.id)
            .collect()
    };
    let area_one: Uuid = sampled_areas[0].parse().unwrap();
    let listed_one = listing
        .dwellings
        .iter()
        .filter(|d| d.area.uuid() == area_one)
        .count();
    assert_eq!(held(&one, EntityKind::Dwelling).len(), listed_one);
    let mine = held(&one, EntityKind::Interview);
    let theirs = held(&two, EntityKind::Interview);
    assert_eq!((mine.len(), theirs.len()), (4, 4));
    assert!(
        mine.iter().all(|id| !theirs.contains(id)),
        "cases are not shared"
    );

    // Offline: a dwelling nobody had listed, two complete interviews (one with a roster of two),
    // a refusal.
    let new_dwelling = Uuid::now_v7();
    one.act(
        Target::new(EntityKind::Dwelling, new_dwelling),
        OpBody::Create {
            scope: area_one,
            fields: fields(&[
                ("area", text(&area_one.to_string())),
                ("address/unit", text("1")),
                ("address/floor", text("7")),
                ("address/room", text("702")),
                ("occupancy", text("occupied")),
                ("households", FieldValue::Int(1)),
            ]),
        },
    );
    let complete = |ph: &mut Phone, id: Uuid, members: &[&str]| {
        ph.edit(
            interview(id),
            &[
                ("answers/consent", text("yes")),
                ("answers/hh_size", FieldValue::Int(members.len() as i64)),
                ("answers/monthly_income", FieldValue::Float(4200.0)),
                ("started_at", FieldValue::Int(1_777_624_200_000)),
                ("ended_at", FieldValue::Int(1_777_626_000_000)),
                ("disposition", text("1.1")),
            ],
        );
        for name in members {
            ph.act(
                interview(id),
                OpBody::AddMember {
                    group: "answers/members".into(),
                    instance: Uuid::now_v7(),
                    fields: fields(&[("member_name", text(name)), ("age", FieldValue::Int(40))]),
                },
            );
        }
        ph.act(
            interview(id),
            OpBody::RecordVisit {
                visit: Uuid::now_v7(),
                fields: fields(&[
                    ("at", FieldValue::Int(1_777_624_200_000)),
                    ("result", text("1.1")),
                ]),
            },
        );
        ph.act(interview(id), OpBody::Submit);
    };
    complete(&mut one, mine[0], &["王芳", "李伟"]);
    complete(&mut two, theirs[0], &["张敏"]);
    one.act(
        interview(mine[1]),
        OpBody::RecordVisit {
            visit: Uuid::now_v7(),
            fields: fields(&[
                ("at", FieldValue::Int(1_777_624_300_000)),
                ("result", text("2.111")),
            ]),
        },
    );
    one.edit(interview(mine[1]), &[("disposition", text("2.111"))]);

    // Pushes: the same request twice gets the same acknowledgements; an acknowledgement lost on
    // the way is made good by pushing again.
    let request = one.replica.push_request(usize::MAX);
    let first = one.post_push(&request);
    let again = one.post_push(&request);
    assert_eq!(first, again);
    one.replica.apply_push_ack(&first).unwrap();
    let lost = two.replica.push_request(usize::MAX);
    let _ = two.post_push(&lost); // the answer never reaches the phone
    two.sync();
    one.sync();
    assert!(one.replica.is_synced() && two.replica.is_synced());

    // Review: approve int1's interview, return int2's.
    ok(
        sup.post(
            &api(&format!("/interviews/{}/approve", mine[0])),
            &json!({}),
        ),
        200,
    );
    ok(
        sup.post(
            &api(&format!("/interviews/{}/return", theirs[0])),
            &json!({"note": "Please check the roster."}),
        ),
        200,
    );
    one.sync();
    two.sync();
    assert_eq!(one.entity(mine[0]).text("status"), Some("approved"));
    assert_eq!(two.entity(theirs[0]).text("status"), Some("returned"));

    // Coverage agrees with what was done.
    let cov = ok(sup.get(&api("/coverage")), 200);
    let total = &cov["total"];
    assert_eq!(total["sampled"], 8, "{total:#}");
    assert_eq!(total["assigned"], 8, "{total:#}");
    assert_eq!(total["visited"], 3, "{total:#}");
    assert_eq!(total["completed"], 2, "{total:#}");
    assert_eq!(total["refused"], 1, "{total:#}");
    assert_eq!(total["dispositions"]["1.1"], 2, "{total:#}");
    assert_eq!(
        (&total["submitted"], &total["approved"], &total["returned"]),
        (&json!(0), &json!(1), &json!(1)),
        "{total:#}"
    );
    assert_eq!(total["listed"], listing.dwellings.len() + 1, "{total:#}");
    let map = sup.get(&api("/coverage.geojson"));
    assert_eq!(map.status, 200, "{map}");
    let map: Value = serde_json::from_str(&map.text()).unwrap();
    let completed = map["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["status"] == "completed")
        .count();
    assert_eq!(completed, 2);

    // Exports: one row per case with its design variables; one roster row per member.
    let csv = sup.get(&api(
        "/exports/household_2026/interviews.csv?labels=English%20(en)",
    ));
    assert_eq!(csv.status, 200, "{csv}");
    let rows = csv_rows(&csv.text());
    assert_eq!(rows.len(), 8);
    let row = |id: Uuid| {
        rows.iter()
            .find(|r| r.values().any(|v| *v == id.to_string()))
            .unwrap_or_else(|| panic!("no row for {id}"))
    };
    let approved = row(mine[0]);
    let cell = |r: &BTreeMap<String, String>, prefix: &str| -> String {
        r.iter()
            .find(|(k, _)| k.as_str() == prefix || k.ends_with(&format!("/{prefix}")))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no column {prefix}: {:?}", r.keys().collect::<Vec<_>>()))
    };
    assert_eq!(cell(approved, "status"), "approved");
    assert!(cell(approved, "weight").parse::<f64>().unwrap() > 1.0);
    assert_eq!(cell(row(theirs[0]), "status"), "returned");
    let roster = sup.get(&api("/exports/household_2026/repeats/members.csv"));
    assert_eq!(roster.status, 200, "{roster}");
    assert_eq!(csv_rows(&roster.text()).len(), 3);

    // The listing export has the dwelling the phone added.
    let exported = sup.get(&api("/listing")).text();
    assert!(exported.contains(&new_dwelling.to_string()));
}

/// Runs `story` against a real server on a fresh SQLite file.
fn on_sqlite(story: fn(&ServerProcess)) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("mapframe.db").display());
    seed(&db);
    story(&ServerProcess::start(&db).unwrap_or_else(|e| panic!("{e}")));
}

/// Runs `story` against a real server on a fresh database of a throwaway PostgreSQL cluster.
fn on_postgres(name: &str, story: fn(&ServerProcess)) {
    let pg = PgCluster::start().expect("PostgreSQL is needed for this test (install postgresql)");
    let db = fresh_pg_database(&pg, name);
    seed(&db);
    story(&ServerProcess::start(&db).unwrap_or_else(|e| panic!("{e}")));
}

#[test]
fn a_survey_from_listing_to_exports_on_sqlite() {
    on_sqlite(story);
}

#[test]
fn a_survey_from_listing_to_exports_on_postgres() {
    on_postgres("survey", story);
}

/// A one-stage dwelling sample with a reserve: releasing a replicate creates cases for its
/// dwellings and brings the probability and weight of the stratum's cases up to date; nothing is
/// left to release at the end.
fn reserve_story(server: &ServerProcess) {
    let c = server.client();
    let admin = c.sign_in("admin", PASSWORD).unwrap();
    let sup: Client = c.sign_in("sup", PASSWORD).unwrap();
    let p = ok(
        admin.post(
            "/api/v1/projects",
            &json!({"code": "rs", "name": "Reserve"}),
        ),
        201,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let api = |path: &str| format!("/api/v1/projects/{p}{path}");
    let listing = city(&CityOptions {
        areas: 3,
        buildings_per_area: 10,
        dwellings_per_building: 6,
        ..CityOptions::default()
    });
    ok(
        sup.post_raw(
            &api("/listing"),
            "application/geo+json",
            write_listing(&listing, &ExportOptions::default()).into_bytes(),
        ),
        201,
    );
    // Before any sample: nothing to release.
    assert_eq!(sup.get(&api("/reserve")).status, 409);
    ok(sup.post(&api("/frames"), &json!({})), 201);
    let bad = sup.post(
        &api("/samples"),
        &json!({"seed": 5, "stage": "dwellings", "design": {"method": "srs", "size": {"per_stratum": "four"}}}),
    );
    assert_eq!(bad.status, 422, "{bad}");
    assert_eq!(bad.json()["code"], "invalid_field");
    assert!(
        bad.json()["field"].as_str().unwrap().starts_with("design"),
        "{bad}"
    );
    let design = json!({"method": "srs", "size": {"per_stratum": 4},
                        "reserve": {"units": 4, "replicate_size": 2}});
    let sample = ok(
        sup.post(
            &api("/samples"),
            &json!({"seed": 5, "stage": "dwellings", "design": design}),
        ),
        201,
    );
    assert_eq!(sample["cases"], 12, "{sample:#}");
    let reserve = ok(sup.get(&api("/reserve")), 200);
    let strata = reserve["strata"].as_array().unwrap().clone();
    assert_eq!(strata.len(), 3, "{reserve:#}");
    for s in &strata {
        assert_eq!(s["held"], 4, "{s}");
        assert_eq!(s["replicates"], 4, "{s}");
        assert_eq!(s["released"], 2, "{s}");
    }
    let stratum = strata[0]["stratum"].as_str().unwrap().to_string();
    let cases_of = |stratum: &str| -> Vec<Value> {
        items(&ok(sup.get(&api("/interviews?limit=500")), 200))
            .iter()
            .map(|c| {
                ok(
                    sup.get(&api(&format!("/interviews/{}", c["id"].as_str().unwrap()))),
                    200,
                )
            })
            .filter(|e| e["fields"]["design/stratum"] == stratum)
            .collect()
    };
    let p1 = |e: &Value| e["fields"]["design/p1"].as_f64().unwrap();
    let before = cases_of(&stratum);
    assert_eq!(before.len(), 4);
    // One interviewer holds the stratum's area: the dwellings released there go to them.
    let held_by = ok(
        sup.post(
            &api("/assignments"),
            &json!({"interviewer": "int1", "area": stratum}),
        ),
        201,
    );
    assert_eq!(held_by["cases"], 4, "{held_by:#}");

    let released = ok(
        sup.post(
            &api("/reserve/release"),
            &json!({"stratum": stratum, "note": "refusals in the towers"}),
        ),
        200,
    );
    assert_eq!(released["cases"], 2, "{released:#}");
    assert_eq!(released["reweighted"], 4, "{released:#}");
    assert_eq!(released["assigned"], 2, "{released:#}");
    assert_eq!(released["approved_unchanged"], 0, "{released:#}");
    let after = cases_of(&stratum);
    assert_eq!(after.len(), 6);
    for e in &after {
        assert_eq!(e["fields"]["interviewer"], held_by["interviewer"], "{e:#}");
        // SRS within the stratum: 6 of N instead of 4 of N.
        assert!((p1(e) - p1(&before[0]) * 1.5).abs() < 1e-12, "{e:#}");
        let w = e["fields"]["design/weight"].as_f64().unwrap();
        assert!((w * p1(e) - 1.0).abs() < 1e-9, "{e:#}");
    }
    let reserve = ok(sup.get(&api("/reserve")), 200);
    assert_eq!(reserve["releases"][0]["note"], "refusals in the towers");
    // The last replicate of every stratum at once, then nothing is left.
    let all = ok(sup.post(&api("/reserve/release"), &json!({})), 200);
    assert_eq!(all["cases"], 6, "{all:#}");
    let none = sup.post(&api("/reserve/release"), &json!({"stratum": stratum}));
    assert_eq!(none.status, 409, "{none}");
    assert_eq!(none.json()["code"], "no_reserve_left");
    let unknown = sup.post(&api("/reserve/release"), &json!({"stratum": "nowhere"}));
    assert_eq!(unknown.status, 409, "{unknown}");
    assert_eq!(unknown.json()["code"], "unknown_stratum");
    assert_eq!(
        items(&ok(sup.get(&api("/interviews?limit=500")), 200)).len(),
        20
    );
}

#[test]
fn a_dwelling_sample_releases_its_reserve_on_sqlite() {
    on_sqlite(reserve_story);
}

#[test]
fn a_dwelling_sample_releases_its_reserve_on_postgres() {
    on_postgres("reserve", reserve_story);
}
