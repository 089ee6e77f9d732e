//! `mapframe form inspect | run` on XLSForms written in code as real .xlsx files (and as folders
//! of CSV sheets), as survey teams hand them over.

use mapframe_e2e::{mapframe, stderr, stdout};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use sync_core::form::household::household_workbook;
use sync_core::form::xlsform::Workbook;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Writes a workbook as an .xlsx file.
fn write_xlsx(wb: &Workbook, path: &Path) {
    std::fs::write(path, mapframe_e2e::xlsx_bytes(wb)).unwrap();
}

fn write_csv_folder(wb: &Workbook, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for sheet in &wb.sheets {
        let mut w = csv::Writer::from_path(dir.join(format!("{}.csv", sheet.name))).unwrap();
        let width = sheet.rows.iter().map(Vec::len).max().unwrap_or(0);
        for row in &sheet.rows {
            let mut r = row.clone();
            r.resize(width, String::new());
            w.write_record(&r).unwrap();
        }
        w.flush().unwrap();
    }
}

fn household_xlsx(dir: &Path) -> PathBuf {
    let p = dir.join("household.xlsx");
    write_xlsx(&household_workbook(), &p);
    p
}

#[test]
fn inspect_describes_the_household_form_in_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = household_xlsx(dir.path());
    let out = mapframe(&["form", "inspect", s(&xlsx), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["form_id"], "household_2026");
    assert_eq!(
        v["version"], "2026112101",
        "a numeric version cell reads back without .0"
    );
    assert_eq!(v["default_language"], "中文 (zh)");
    assert_eq!(v["languages"], json!(["中文 (zh)", "English (en)"]));
    let questions = v["questions"].as_array().unwrap();
    assert!(
        questions
            .iter()
            .all(|q| q["type"] != "end_group" && q["type"] != "end_repeat")
    );
    let age = questions.iter().find(|q| q["name"] == "age").unwrap();
    assert_eq!(
        age,
        &json!({
            "name": "age", "type": "integer", "path": "main/members/age", "list": null,
            "labels": {"中文 (zh)": "${member_name}的年龄（周岁）", "English (en)": "Age of ${member_name} (completed years)"},
            "required": "yes", "relevant": null, "constraint": ". >= 0 and . <= 120", "calculation": null,
            "choice_filter": null, "repeat_count": null
        })
    );
    let members = questions.iter().find(|q| q["name"] == "members").unwrap();
    assert_eq!(
        (members["type"].as_str(), members["repeat_count"].as_str()),
        (Some("begin_repeat"), Some("${hh_size}"))
    );
    assert_eq!(
        v["choice_lists"]["sex"][0],
        json!({"name": "1", "labels": {"中文 (zh)": "男", "English (en)": "Male"}})
    );

    // The same form as a folder of CSV sheets reads the same.
    let folder = dir.path().join("household");
    write_csv_folder(&household_workbook(), &folder);
    let out2 = mapframe(&["form", "inspect", s(&folder), "--json"]);
    assert_eq!(out2.status.code(), Some(0), "{}", stderr(&out2));
    let v2: Value = serde_json::from_slice(&out2.stdout).unwrap();
    assert_eq!(v, v2);
}

#[test]
fn authoring_errors_exit_one_and_list_sheet_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = household_workbook();
    let survey = &mut wb.sheets[0].rows;
    survey[9][1] = "hh_size".into(); // row 10: a second hh_size (the repeat's name)
    survey[12][7] = "${nobody} > 1".into(); // row 13: undefined reference
    let xlsx = dir.path().join("bad.xlsx");
    write_xlsx(&wb, &xlsx);
    let out = mapframe(&["form", "inspect", s(&xlsx), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["sheet"] == "survey" && e["row"] == 13 && e["column"] == "relevant"),
        "{v:#}"
    );
    assert!(errors.iter().all(|e| e["message"].is_string()));
    let text = mapframe(&["form", "inspect", s(&xlsx)]);
    assert_eq!(text.status.code(), Some(1));
    assert!(
        stdout(&text)
            .contains("sheet survey, row 13, column relevant: ${nobody} refers to no question"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn files_that_are_not_spreadsheets_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("form.xlsx");
    std::fs::write(&junk, b"this is not a zip file").unwrap();
    let out = mapframe(&["form", "inspect", s(&junk)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a spreadsheet mapframe can read"),
        "{}",
        stderr(&out)
    );
    let out = mapframe(&["form", "inspect", "/nonexistent/form.xlsx"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_shows_the_engine_view_of_a_household() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = household_xlsx(dir.path());
    let answers = dir.path().join("answers.json");
    std::fs::write(
        &answers,
        json!({
            "consent": "yes", "hh_size": 2,
            "members": [
                {"_id": "0190b5a0-0000-7000-8000-000000000001", "member_name": "张伟", "sex": "1", "age": 45, "relation": "head", "present": "yes"},
                {"_id": "0190b5a0-0000-7000-8000-000000000002", "member_name": "李娜", "sex": "2", "age": 43, "relation": "spouse", "present": "yes"}
            ],
            "province": "sichuan"
        })
        .to_string(),
    )
    .unwrap();
    let out = mapframe(&[
        "form",
        "run",
        s(&xlsx),
        "--answers",
        s(&answers),
        "--lang",
        "English (en)",
        "--json",
        "--now",
        "2026-11-21T10:00:00+08:00",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["calculates"]["main/eligible_count"], 2);
    assert_eq!(v["submittable"], false);
    assert_eq!(v["next"]["name"], "respondent");
    let city = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == "main/city")
        .unwrap();
    assert_eq!(
        city["choices"],
        json!([{"name": "chengdu", "label": "Chengdu"}, {"name": "mianyang", "label": "Mianyang"}])
    );
    let out = mapframe(&[
        "form",
        "run",
        s(&xlsx),
        "--answers",
        s(&answers),
        "--lang",
        "Klingon",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("has no language \"Klingon\""),
        "{}",
        stderr(&out)
    );
}
