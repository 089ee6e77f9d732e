//! Reading XLSForm workbooks: what real forms look like, and every authoring error at once.

use sync_core::form::household::household_workbook;
use sync_core::form::model::QuestionKind;
use sync_core::form::xlsform::{Sheet, Workbook, read_form};

fn wb(survey: &[&[&str]], choices: &[&[&str]]) -> Workbook {
    let sheet = |name: &str, rows: &[&[&str]]| Sheet {
        name: name.into(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect(),
    };
    let mut sheets = vec![sheet("survey", survey)];
    if !choices.is_empty() {
        sheets.push(sheet("choices", choices));
    }
    Workbook { sheets }
}

#[test]
fn the_household_questionnaire_reads() {
    let form = read_form(&household_workbook()).expect("the flagship form is valid");
    assert_eq!(form.settings.form_id, "household_2026");
    assert_eq!(form.settings.default_language.as_deref(), Some("中文 (zh)"));
    assert_eq!(form.languages, ["中文 (zh)", "English (en)"]);
    let q = |n: &str| {
        form.questions
            .iter()
            .find(|q| q.name == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    assert_eq!(q("age").path, "main/members/age");
    assert_eq!(q("members").kind, QuestionKind::BeginRepeat);
    assert_eq!(q("members").repeat_count.as_deref(), Some("${hh_size}"));
    assert_eq!(
        q("city").choice_filter.as_deref(),
        Some("province = ${province}")
    );
    assert_eq!(
        q("consent").labels["English (en)"],
        "Do you agree to be interviewed?"
    );
    assert!(q("income_sources").or_other);
    assert_eq!(
        q("income_sources_other").relevant.as_deref(),
        Some("selected(${income_sources}, 'other')")
    );
    assert!(
        form.choices["income_source"]
            .iter()
            .any(|c| c.name == "other")
    );
    assert_eq!(form.choices["city"][0].columns["province"], "yunnan");
    assert_eq!(q("comments").appearance.as_deref(), Some("multiline"));
}

#[test]
fn messy_real_world_sheets_are_accepted() {
    let survey: &[&[&str]] = &[
        &[
            " Type ",
            "NAME",
            "Label::English (en)",
            "constraint message",
            "jr:requiredMsg",
            "media::image",
            "my_column",
        ],
        &["", "", "", "", "", "", ""],
        &[
            "Select_One yn  or_other",
            " likes ",
            "Likes it?",
            "",
            "",
            "pic.png",
            "kept",
        ],
        &["begin group", "g", "Group", "", "", "", ""],
        &["integer", "n", "N", "too big", "needed", "", ""],
        &["end group", "", "", "", "", "", ""],
        &[
            "select_one_from_file towns.csv",
            "town",
            "Town",
            "",
            "",
            "",
            "",
        ],
    ];
    let choices: &[&[&str]] = &[
        &["List Name", "Name", "Label"],
        &["yn", "yes", "Yes"],
        &["yn", "no", "No"],
    ];
    let form = read_form(&wb(survey, choices)).unwrap_or_else(|e| panic!("{e}"));
    let likes = &form.questions[0];
    assert_eq!(
        (
            likes.name.as_str(),
            likes.type_word.as_str(),
            likes.list.as_deref(),
            likes.or_other
        ),
        ("likes", "select_one", Some("yn"), true)
    );
    assert_eq!(
        likes.extra.get("my_column").map(String::as_str),
        Some("kept")
    );
    assert_eq!(
        likes.extra.get("media::image").map(String::as_str),
        Some("pic.png")
    );
    assert_eq!(
        likes.row, 3,
        "rows are numbered as the spreadsheet shows them"
    );
    let n = form.questions.iter().find(|q| q.name == "n").unwrap();
    assert_eq!(n.path, "g/n");
    assert_eq!(n.constraint_message["default"], "too big");
    assert_eq!(n.required_message["default"], "needed");
    assert_eq!(
        form.questions
            .iter()
            .find(|q| q.name == "town")
            .unwrap()
            .list
            .as_deref(),
        Some("towns.csv")
    );
}

#[test]
fn every_authoring_error_is_reported_with_sheet_row_and_column() {
    let survey: &[&[&str]] = &[
        &["type", "name", "label", "relevant", "constraint"],
        &["text", "a", "A", "", ""],
        &["text", "a", "A again", "", ""],
        &["select_one nolist", "b", "B", "", ""],
        &["integer", "c", "C", "${nowhere} > 1", ""],
        &["frobnicate", "d", "D", "", ""],
        &["integer", "", "no name", "", ""],
        &["integer", "2bad", "bad name", "", ""],
        &["begin_group", "g", "G", "", ""],
        &["end_repeat", "", "", "", ""],
        &["begin_repeat", "r", "R", "", ""],
        &["text", "e", "Hello ${ghost}", "", ""],
        &["calculate", "f", "", "", ""],
    ];
    let errors = read_form(&wb(survey, &[])).unwrap_err().0;
    let got: Vec<(Option<usize>, Option<&str>)> = errors
        .iter()
        .map(|e| (e.row, e.column.as_deref()))
        .collect();
    for want in [
        (Some(3), Some("name")),         // duplicate name
        (Some(4), Some("type")),         // unknown choice list
        (Some(6), Some("type")),         // unknown type
        (Some(7), Some("name")),         // missing name
        (Some(8), Some("name")),         // invalid name
        (Some(10), Some("type")),        // end_repeat closing a group
        (Some(11), Some("type")),        // repeat never closed
        (Some(13), Some("calculation")), // calculate without calculation
        (Some(5), Some("relevant")),     // undefined ${nowhere}
        (Some(12), Some("label")),       // undefined ${ghost} in a label
    ] {
        assert!(got.contains(&want), "missing {want:?} in {errors:#?}");
    }
    assert!(errors.iter().all(|e| e.sheet == "survey"));
    let text = errors
        .iter()
        .find(|e| e.row == Some(4))
        .unwrap()
        .to_string();
    assert_eq!(
        text,
        "sheet survey, row 4, column type: the choice list \"nolist\" is not in the choices sheet"
    );
}

#[test]
fn a_workbook_without_a_survey_sheet_says_which_sheets_it_has() {
    let w = Workbook {
        sheets: vec![Sheet {
            name: "Sheet1".into(),
            rows: vec![vec!["x".into()]],
        }],
    };
    let e = read_form(&w).unwrap_err().0;
    assert!(
        e[0].message.contains("no survey sheet (sheets: Sheet1)"),
        "{e:?}"
    );
}

#[test]
fn duplicate_choices_and_choice_rows_without_names_are_errors() {
    let survey: &[&[&str]] = &[&["type", "name", "label"], &["select_one yn", "q", "Q"]];
    let choices: &[&[&str]] = &[
        &["list_name", "name", "label"],
        &["yn", "yes", "Yes"],
        &["yn", "yes", "Yes again"],
        &["yn", "", "nameless"],
    ];
    let errors = read_form(&wb(survey, choices)).unwrap_err().0;
    let at: Vec<(&str, Option<usize>)> = errors.iter().map(|e| (e.sheet.as_str(), e.row)).collect();
    assert_eq!(at, [("choices", Some(3)), ("choices", Some(4))]);
}

#[test]
fn bare_names_are_choice_columns_in_choice_filters_and_mistakes_elsewhere() {
    let survey: &[&[&str]] = &[
        &["type", "name", "label", "relevant", "choice_filter"],
        &["select_one p", "p", "P", "", ""],
        &[
            "select_one c",
            "c",
            "C",
            "",
            "province = ${p} and name != 'x'",
        ],
        &["integer", "age", "Age", "age > 3", ""],
    ];
    let choices: &[&[&str]] = &[
        &["list_name", "name", "label", "province"],
        &["p", "a", "A", ""],
        &["c", "x", "X", "a"],
    ];
    let errors = read_form(&wb(survey, choices)).unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].row, errors[0].column.as_deref()),
        (Some(4), Some("relevant"))
    );
    assert!(
        errors[0].message.contains("refer to questions as ${age}"),
        "{}",
        errors[0].message
    );
}
