//! `mapframe frame check | number | stats | generate`, run as a user runs them.

use mapframe_e2e::{mapframe, shared_data, stderr, stdout};
use serde_json::Value;
use std::path::Path;

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(out)))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn the_demo_check_reports_each_planted_mistake_and_exits_one() {
    let out = mapframe(&["frame", "check", "--demo", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for code in [
        "duplicate_address",
        "residential_building_without_dwellings",
        "building_outside_area",
        "near_duplicate_dwellings",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    for f in v["findings"].as_array().unwrap() {
        assert!(
            f["severity"].is_string() && f["message"].is_string() && f["ids"].is_array(),
            "{f}"
        );
    }
    assert!(v["summary"]["errors"].as_u64().unwrap() > 0);
    assert_eq!(v["summary"]["areas"], 6);
}

#[test]
fn the_human_report_does_not_drift() {
    let out = mapframe(&["frame", "check", "--demo"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn a_clean_generated_city_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("city.geojson");
    let out = mapframe(&[
        "frame",
        "generate",
        "-o",
        s(&city),
        "--areas",
        "4",
        "--buildings-per-area",
        "16",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = mapframe(&["frame", "check", s(&city), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(json_of(&out)["summary"]["errors"], 0);
}

#[test]
fn kunming_footprints_check_with_their_own_ids() {
    let Some(buildings) = shared_data("kunming-jinjiang-buildings.geojson") else {
        return;
    };
    let out = mapframe(&[
        "frame",
        "check",
        s(&buildings),
        "--area-key",
        "community",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "footprints alone have no dwellings: {}",
        stderr(&out)
    );
    let v = json_of(&out);
    let missing: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "residential_building_without_dwellings")
        .collect();
    assert_eq!(missing.len(), 90);
    assert!(
        missing.iter().any(|f| f["ids"][0] == 322667424),
        "OSM ids come back as the input wrote them"
    );
    assert_eq!(v["summary"]["buildings"], 140);
}

#[test]
fn kunming_with_generated_dwellings_numbers_and_keeps_every_property() {
    let Some(buildings) = shared_data("kunming-jinjiang-buildings.geojson") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let listing = dir.path().join("listing.geojson");
    let numbered = dir.path().join("numbered.geojson");
    let out = mapframe(&[
        "frame",
        "generate",
        "--from-buildings",
        s(&buildings),
        "--area-key",
        "community",
        "-o",
        s(&listing),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("added 8326 dwelling(s)"),
        "{}",
        stderr(&out)
    );
    let out = mapframe(&["frame", "number", s(&listing), "-o", s(&numbered)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&numbered).unwrap()).unwrap();
    let features = v["features"].as_array().unwrap();
    let b = features
        .iter()
        .find(|f| f["id"] == 322667424)
        .expect("the building keeps its OSM id");
    assert_eq!(b["properties"]["height"], 52.2);
    assert_eq!(b["properties"]["community"], "金色年华");
    assert!(b["properties"]["serpentine"].as_u64().unwrap() >= 1);
    let out = mapframe(&["frame", "check", s(&numbered), "--json"]);
    let report = json_of(&out);
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        !codes
            .iter()
            .any(|c| c.contains("listing_number") || *c == "listing_not_numbered"),
        "{codes:?}"
    );
    assert!(
        !codes.contains(&"residential_building_without_dwellings"),
        "{codes:?}"
    );
    let out = mapframe(&["frame", "stats", s(&numbered), "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let st = json_of(&out);
    assert_eq!(st["total"]["buildings"], 140);
    assert_eq!(st["total"]["dwellings"], 8326);
    assert_eq!(st["areas"].as_array().unwrap().len(), 16);
}

#[test]
fn unreadable_input_exits_two_naming_file_feature_and_property() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.geojson");
    std::fs::write(
        &bad,
        r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","id":1,"properties":{"area":"A1","building":"apartments"},"geometry":{"type":"Point","coordinates":[102.7,25.0]}},
            {"type":"Feature","id":2,"properties":{"area":"A1","levels":"tall"},"geometry":{"type":"Point","coordinates":[102.7,25.0]}}
        ]}"#,
    )
    .unwrap();
    let cases: Vec<(Vec<String>, Vec<String>)> = vec![
        (
            vec![bad.display().to_string()],
            vec![
                bad.display().to_string(),
                "feature 1 (id 2)".into(),
                "property \"levels\"".into(),
            ],
        ),
        (
            vec!["/nonexistent/listing.geojson".into()],
            vec!["/nonexistent/listing.geojson".into(), "cannot read".into()],
        ),
    ];
    for (args, says) in cases {
        let mut all = vec!["frame", "check"];
        all.extend(args.iter().map(String::as_str));
        let out = mapframe(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        for s in says {
            assert!(
                stderr(&out).contains(&s),
                "{args:?}: {s:?} not in {}",
                stderr(&out)
            );
        }
    }
    let garbage = dir.path().join("garbage.geojson");
    std::fs::write(
        &garbage,
        "{\"type\": \"FeatureCollection\",\n \"features\": [}",
    )
    .unwrap();
    let out = mapframe(&["frame", "stats", s(&garbage)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 2, column"), "{}", stderr(&out));
}

#[test]
fn a_failed_number_leaves_the_previous_output_intact() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.geojson");
    std::fs::write(&out_path, "previous good output").unwrap();
    let bad = dir.path().join("bad.geojson");
    std::fs::write(&bad, "{\"type\":\"FeatureCollection\",\"features\":[]}").unwrap();
    let out = mapframe(&["frame", "number", s(&bad), "-o", s(&out_path)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no features"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap(),
        "previous good output"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary file left behind"
    );
}

#[test]
fn the_documented_example_reads_and_checks() {
    let doc =
        std::fs::read_to_string(mapframe_e2e::workspace_root().join("docs/listing-geojson.md"))
            .unwrap();
    let start = doc.find("```json\n").expect("an example") + "```json\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let example = dir.path().join("example.geojson");
    std::fs::write(&example, &doc[start..end]).unwrap();
    let out = mapframe(&["frame", "stats", s(&example), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let st = json_of(&out);
    assert_eq!(
        (
            st["total"]["buildings"].as_u64(),
            st["total"]["dwellings"].as_u64()
        ),
        (Some(1), Some(2))
    );
    let out = mapframe(&["frame", "check", s(&example), "--json"]);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{}",
        stderr(&out)
    );
}
