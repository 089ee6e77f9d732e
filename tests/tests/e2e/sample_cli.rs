//! `mapframe sample draw | verify | release`, run as a statistician runs them.

use mapframe_e2e::{mapframe, stderr, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A frame of 23 villages in two counties with household counts.
fn villages(dir: &Path) -> PathBuf {
    let mut csv = String::from("village,households,county,road_order\n");
    for i in 1..=23 {
        csv.push_str(&format!(
            "V{i:02},{},{},{}\n",
            40 + (i * 37) % 160,
            if i <= 10 { "east" } else { "west" },
            24 - i
        ));
    }
    let p = dir.join("villages.csv");
    std::fs::write(&p, csv).unwrap();
    p
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn systematic_draw_writes_one_row_per_unit_with_exact_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let frame = villages(dir.path());
    let out = mapframe(&[
        "sample",
        "draw",
        "--frame",
        s(&frame),
        "--id",
        "village",
        "--method",
        "systematic",
        "--n",
        "5",
        "--seed",
        "2026",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = csv_rows(&stdout(&out));
    assert_eq!(
        rows[0],
        [
            "id",
            "stratum",
            "selected",
            "hits",
            "prob",
            "weight",
            "certainty",
            "replicate"
        ]
    );
    assert_eq!(rows.len(), 24);
    assert_eq!(rows.iter().skip(1).filter(|r| r[2] == "true").count(), 5);
    for r in &rows[1..] {
        assert_eq!(r[4].parse::<f64>().unwrap(), 5.0 / 23.0, "{r:?}");
        if r[2] == "true" {
            assert_eq!(r[5], "4.6");
        }
    }
}

#[test]
fn a_stratified_pps_draw_verifies_and_a_changed_frame_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let frame = villages(dir.path());
    let json = dir.path().join("draw.json");
    let args = [
        "sample",
        "draw",
        "--frame",
        s(&frame),
        "--id",
        "village",
        "--size",
        "households",
        "--stratum",
        "county",
        "--sort",
        "road_order",
        "--method",
        "pps-systematic",
        "--certainty",
        "--n",
        "6",
        "--seed",
        "7",
        "--format",
        "json",
        "-o",
        s(&json),
    ];
    let out = mapframe(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["record"]["format"], "mapframe.selection/1");
    assert_eq!(v["record"]["seed"], 7);
    assert!(
        v["record"]["frame"]["hash"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(v["units"].as_array().unwrap().len(), 23);
    let selected: Vec<&Value> = v["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["selected"] == true)
        .collect();
    assert_eq!(selected.len(), 6);
    for u in &selected {
        let w = u["weight"].as_f64().unwrap();
        assert!((w * u["prob"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    }

    let out = mapframe(&["sample", "verify", s(&json), "--frame", s(&frame)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).starts_with("reproduced"), "{}", stdout(&out));

    let changed = dir.path().join("changed.csv");
    std::fs::write(
        &changed,
        std::fs::read_to_string(&frame)
            .unwrap()
            .replace("V03,", "V03x,"),
    )
    .unwrap();
    let out = mapframe(&["sample", "verify", s(&json), "--frame", s(&changed)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("not the one the sample was drawn from"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn reserve_replicates_are_released_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let frame = villages(dir.path());
    let record = dir.path().join("record.json");
    let out = mapframe(&[
        "sample",
        "draw",
        "--frame",
        s(&frame),
        "--id",
        "village",
        "--method",
        "srs",
        "--n",
        "4",
        "--reserve",
        "4",
        "--replicate-size",
        "2",
        "--seed",
        "11",
        "--record",
        s(&record),
        "-o",
        s(&dir.path().join("units.csv")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let released = dir.path().join("released.json");
    let units = dir.path().join("units2.csv");
    let out = mapframe(&[
        "sample",
        "release",
        s(&record),
        "--frame",
        s(&frame),
        "--note",
        "week 2",
        "-o",
        s(&released),
        "--units",
        s(&units),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("released replicate 3"),
        "{}",
        stderr(&out)
    );
    let rows = csv_rows(&std::fs::read_to_string(&units).unwrap());
    assert_eq!(rows.iter().skip(1).filter(|r| r[2] == "true").count(), 6);
    assert!(
        rows.iter()
            .skip(1)
            .all(|r| r[4].parse::<f64>().unwrap() == 6.0 / 23.0)
    );
    let out = mapframe(&["sample", "verify", s(&released), "--frame", s(&frame)]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let again = dir.path().join("again.json");
    assert_eq!(
        mapframe(&[
            "sample",
            "release",
            s(&released),
            "--frame",
            s(&frame),
            "-o",
            s(&again)
        ])
        .status
        .code(),
        Some(0)
    );
    let out = mapframe(&[
        "sample",
        "release",
        s(&again),
        "--frame",
        s(&frame),
        "-o",
        s(&dir.path().join("x.json")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no reserve replicate left"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_frames_are_refused_with_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &[&str], &str); 9] = [
        (
            "duplicate id",
            b"id,size\na,1\nb,2\na,3\n",
            &["--size", "size"],
            "row 4, column \"id\": id \"a\" is already used in row 2",
        ),
        (
            "zero size",
            b"id,size\na,1\nb,0\n",
            &["--size", "size"],
            "row 3, column \"size\": the size must be positive",
        ),
        (
            "negative size",
            b"id,size\na,1\nb,-4\n",
            &["--size", "size"],
            "row 3, column \"size\": the size must be positive",
        ),
        (
            "missing size",
            b"id,size\na,1\nb,\n",
            &["--size", "size"],
            "row 3, column \"size\": the size is missing",
        ),
        (
            "unknown column",
            b"id,size\na,1\n",
            &["--size", "hh"],
            "column \"hh\": no such column; the header has: id, size",
        ),
        (
            "ragged row",
            b"id,size\na,1\nb,2,3\n",
            &["--size", "size"],
            "row 3: this row has 3 field(s) but the header has 2",
        ),
        (
            "not UTF-8",
            b"id,size\na,1\n\xff\xfe,2\n",
            &["--size", "size"],
            "row 3, column \"id\": not UTF-8",
        ),
        (
            "n larger than N",
            b"id,size\na,1\nb,2\n",
            &["--size", "size", "--n", "5"],
            "the sample (5) is larger than the frame (2 units)",
        ),
        (
            "oversized unit",
            b"id,size\na,100\nb,1\nc,1\n",
            &["--size", "size", "--n", "2"],
            "use --certainty",
        ),
    ];
    for (what, bytes, extra, says) in cases {
        let frame = dir.path().join("frame.csv");
        std::fs::write(&frame, bytes).unwrap();
        let mut args = vec![
            "sample",
            "draw",
            "--frame",
            s(&frame),
            "--id",
            "id",
            "--method",
            "pps-systematic",
            "--seed",
            "1",
        ];
        if !extra.contains(&"--n") {
            args.extend(["--n", "1"]);
        }
        args.extend(extra);
        let out = mapframe(&args);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(says),
            "{what}: expected {says:?} in\n{}",
            stderr(&out)
        );
        assert!(
            stdout(&out).is_empty(),
            "{what}: nothing is written on failure"
        );
    }
}

#[test]
fn pps_methods_need_a_size_column() {
    let dir = tempfile::tempdir().unwrap();
    let frame = villages(dir.path());
    let out = mapframe(&[
        "sample",
        "draw",
        "--frame",
        s(&frame),
        "--id",
        "village",
        "--method",
        "pps-wr",
        "--n",
        "3",
        "--seed",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("needs --size"), "{}", stderr(&out));
}

#[test]
fn a_numbered_listing_is_a_dwelling_frame_stratified_by_area() {
    let dir = tempfile::tempdir().unwrap();
    let town = dir.path().join("town.geojson");
    assert_eq!(
        mapframe(&[
            "frame",
            "generate",
            "-o",
            s(&town),
            "--areas",
            "4",
            "--buildings-per-area",
            "9"
        ])
        .status
        .code(),
        Some(0)
    );
    let record = dir.path().join("record.json");
    let out = mapframe(&[
        "sample",
        "draw",
        "--frame",
        s(&town),
        "--method",
        "systematic",
        "--n-per-stratum",
        "6",
        "--seed",
        "3",
        "--record",
        s(&record),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = csv_rows(&stdout(&out));
    let picked: Vec<&Vec<String>> = rows.iter().skip(1).filter(|r| r[2] == "true").collect();
    assert_eq!(picked.len(), 24);
    for area in ["A0001", "A0002", "A0003", "A0004"] {
        assert_eq!(picked.iter().filter(|r| r[1] == area).count(), 6, "{area}");
    }
    let out = mapframe(&["sample", "verify", s(&record), "--frame", s(&town)]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = mapframe(&[
        "sample",
        "draw",
        "--frame",
        s(&town),
        "--id",
        "x",
        "--method",
        "srs",
        "--n",
        "2",
        "--seed",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("brings its own columns"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_multistage_sample_lists_households_with_stage_probabilities_and_weights() {
    let dir = tempfile::tempdir().unwrap();
    let town = dir.path().join("town.geojson");
    assert_eq!(
        mapframe(&[
            "frame",
            "generate",
            "-o",
            s(&town),
            "--areas",
            "8",
            "--buildings-per-area",
            "16"
        ])
        .status
        .code(),
        Some(0)
    );
    let out = mapframe(&[
        "sample",
        "multistage",
        s(&town),
        "--psus",
        "3",
        "--take",
        "10",
        "--seed",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = csv_rows(&stdout(&out));
    assert_eq!(
        rows[0][..6],
        [
            "area",
            "stratum",
            "segment",
            "dwelling",
            "listing_number",
            "household"
        ]
    );
    assert_eq!(rows.len(), 1 + 30);
    let col = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    for r in &rows[1..] {
        let p: f64 = [
            "prob_psu",
            "prob_segment",
            "prob_dwelling",
            "prob_household",
        ]
        .iter()
        .map(|c| r[col(c)].parse::<f64>().unwrap())
        .product();
        let w: f64 = r[col("base_weight")].parse().unwrap();
        assert!((p * w - 1.0).abs() < 1e-9, "{r:?}");
    }
    let out = mapframe(&[
        "sample",
        "multistage",
        s(&town),
        "--take",
        "10",
        "--seed",
        "5",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "neither --psus nor --given-psus"
    );
}
