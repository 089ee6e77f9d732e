//! `mapframe rates`, run as a statistician runs it on a CSV of final dispositions.

use mapframe_e2e::{mapframe, stderr, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(out)))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Writes `cases.csv` into the directory.
fn cases(dir: &tempfile::TempDir, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.path().join("cases.csv");
    std::fs::write(&path, contents).unwrap();
    path
}

/// I=400, P=50, R=150, NC=100, O=20, UH=60, UO=40, NE=180, written with a spread of codes (and
/// spreadsheet forms) from each category.
fn example_csv() -> String {
    let mut csv = String::from("case,disp\n");
    let mut n = 0;
    for (code, times) in [
        ("1.1", 400),
        ("1.2", 50),
        ("2.111", 100),
        ("2.12", 50),
        ("2.24", 70),
        ("2.2", 30),
        ("2.332", 20),
        ("3.11", 60),
        ("3.21", 40),
        ("4.61", 120),
        ("4.5", 60),
    ] {
        for _ in 0..times {
            n += 1;
            csv.push_str(&format!("{n},{code}\n"));
        }
    }
    csv
}

fn assert_close(v: &Value, key: &str, want: f64) {
    let got = v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number: {v}"));
    assert!((got - want).abs() < 1e-12, "{key}: got {got}, want {want}");
}

#[test]
fn json_output_is_one_flat_object_with_every_rate_and_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = cases(&dir, example_csv());
    let out = mapframe(&[
        "rates",
        "--dispositions",
        s(&path),
        "--code-column",
        "disp",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = [
        "RR1", "RR2", "RR3", "RR4", "RR5", "RR6", "COOP1", "COOP2", "COOP3", "COOP4", "REF1",
        "REF2", "REF3", "CON1", "CON2", "CON3", "I", "P", "R", "NC", "O", "UH", "UO", "NE", "e",
        "e_method", "cases", "weighted",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);

    for (key, n) in [
        ("I", 400),
        ("P", 50),
        ("R", 150),
        ("NC", 100),
        ("O", 20),
        ("UH", 60),
        ("UO", 40),
        ("NE", 180),
        ("cases", 1000),
    ] {
        assert_eq!(v[key], n, "{key}");
    }
    assert_eq!(v["weighted"], false);
    assert_eq!(v["e_method"], "proportional");
    // e = 720 / (720 + 180); e(UH+UO) = 80.
    assert_close(&v, "e", 0.8);
    for (key, want) in [
        ("RR1", 400.0 / 820.0),
        ("RR2", 450.0 / 820.0),
        ("RR3", 400.0 / 800.0),
        ("RR4", 450.0 / 800.0),
        ("RR5", 400.0 / 720.0),
        ("RR6", 450.0 / 720.0),
        ("COOP1", 400.0 / 620.0),
        ("COOP2", 450.0 / 620.0),
        ("COOP3", 400.0 / 600.0),
        ("COOP4", 450.0 / 600.0),
        ("REF1", 150.0 / 820.0),
        ("REF2", 150.0 / 800.0),
        ("REF3", 150.0 / 720.0),
        ("CON1", 620.0 / 820.0),
        ("CON2", 620.0 / 800.0),
        ("CON3", 620.0 / 720.0),
    ] {
        assert_close(&v, key, want);
    }
}

#[test]
fn a_given_e_replaces_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let path = cases(&dir, example_csv());
    let out = mapframe(&[
        "rates",
        "--dispositions",
        s(&path),
        "--code-column",
        "DISP",
        "--e",
        "0.25",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["e_method"], "given");
    assert_close(&v, "e", 0.25);
    // e(UH+UO) = 25: the e-denominator is 745; RR1 does not use e.
    assert_close(&v, "RR3", 400.0 / 745.0);
    assert_close(&v, "REF2", 150.0 / 745.0);
    assert_close(&v, "CON2", 620.0 / 745.0);
    assert_close(&v, "RR1", 400.0 / 820.0);

    for bad in ["1.5", "-0.1", "most"] {
        let out = mapframe(&[
            "rates",
            "--dispositions",
            s(&path),
            "--code-column",
            "disp",
            "--e",
            bad,
        ]);
        assert_eq!(out.status.code(), Some(2), "--e {bad}");
        assert!(stderr(&out).contains("--e"), "{}", stderr(&out));
    }
}

const AREAS: &str = "case,disp,w,area\n\
1,1.1,2.5,A2\n\
2,1.1,1.5,A10\n\
3,2.11,3,A2\n\
4,4.61,0,A2\n\
5,3.18,1,A10\n\
6,2.1,0.5,A10\n\
7,2.24,1,金色年华\n";

#[test]
fn weights_make_counts_sums_of_weights() {
    let dir = tempfile::tempdir().unwrap();
    let path = cases(&dir, AREAS);
    let out = mapframe(&[
        "rates",
        "--dispositions",
        s(&path),
        "--code-column",
        "disp",
        "--weight",
        "w",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["weighted"], true);
    assert_eq!(v["cases"], 7);
    // I = 2.5 + 1.5; R = 3 + 0.5; NC = 1; UH = 1; NE = 0.
    assert_close(&v, "I", 4.0);
    assert_close(&v, "R", 3.5);
    assert_close(&v, "NE", 0.0);
    assert_close(&v, "RR1", 4.0 / 9.5);
    assert_close(&v, "COOP1", 4.0 / 7.5);
}

#[test]
fn by_gives_rates_per_group_and_overall() {
    let dir = tempfile::tempdir().unwrap();
    let path = cases(&dir, AREAS);
    let out = mapframe(&[
        "rates",
        "--dispositions",
        s(&path),
        "--code-column",
        "disp",
        "--by",
        "area",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["by"], "area");
    let groups: Vec<&str> = v["groups"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(groups, ["A2", "A10", "金色年华"], "natural order");
    assert_eq!(v["overall"]["cases"], 7);
    assert_eq!(v["overall"]["weighted"], false);
    let a2 = &v["groups"]["A2"];
    for (key, n) in [("cases", 3), ("I", 1), ("R", 1), ("NE", 1), ("UH", 0)] {
        assert_eq!(a2[key], n, "A2 {key}");
    }
    // A2: I=1, R=1, NE=1 → RR1 = 1/2; e = 2/3.
    assert_close(a2, "RR1", 0.5);
    assert_close(a2, "e", 2.0 / 3.0);
    // 金色年华: one non-contact → no cooperation rate (nobody was reached).
    let g = &v["groups"]["金色年华"];
    assert_eq!(g["COOP1"], Value::Null);
    assert_eq!(g["RR1"], 0.0);
    insta::assert_snapshot!("by_area_json", stdout(&out));
}

#[test]
fn the_text_report_does_not_drift() {
    let dir = tempfile::tempdir().unwrap();
    let path = cases(&dir, AREAS);
    let out = mapframe(&[
        "rates",
        "--dispositions",
        s(&path),
        "--code-column",
        "disp",
        "--weight",
        "w",
        "--by",
        "area",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out).replace(s(&path), "cases.csv"));
}

#[test]
fn a_bad_code_exits_two_naming_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = cases(&dir, "case,disp\n1,1.1\n2,1.2\n\n3,5.1\n4,2\n");
    let out = mapframe(&["rates", "--dispositions", s(&path), "--code-column", "disp"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "nothing printed on failure: {}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("cases.csv: row 5, column \"disp\": unknown disposition code \"5.1\""),
        "{err}"
    );
    assert!(
        err.contains("cases.csv: row 6, column \"disp\": \"2\" is the whole category"),
        "every problem is listed: {err}"
    );
}

#[test]
fn a_bad_weight_exits_two_naming_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = cases(&dir, "case,disp,w\n1,1.1,1\n2,1.1,-2\n");
    let out = mapframe(&[
        "rates",
        "--dispositions",
        s(&path),
        "--code-column",
        "disp",
        "--weight",
        "w",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cases.csv: row 3, column \"w\": negative weight -2"),
        "{err}"
    );
}

#[test]
fn a_missing_column_exits_two_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = cases(&dir, "case,disp\n1,1.1\n");
    for (flag, column) in [
        ("--code-column", "disposition"),
        ("--weight", "weight"),
        ("--by", "interviewer"),
    ] {
        let mut args = vec!["rates", "--dispositions", s(&path)];
        if flag != "--code-column" {
            args.extend(["--code-column", "disp"]);
        }
        args.extend([flag, column]);
        let out = mapframe(&args);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("column \"{column}\": no such column")),
            "{err}"
        );
        assert!(err.contains("case, disp"), "the header is shown: {err}");
    }
}

#[test]
fn unreadable_files_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    let path = cases(&dir, b"case,disp\n1,1.1\n2,\xb7\xf1\n");
    let out = mapframe(&["rates", "--dispositions", s(&path), "--code-column", "disp"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cases.csv: row 3, column \"disp\": not UTF-8"),
        "{err}"
    );

    let missing = dir.path().join("missing.csv");
    let out = mapframe(&[
        "rates",
        "--dispositions",
        s(&missing),
        "--code-column",
        "disp",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.csv"), "{}", stderr(&out));
}
