//! The specification of the CSV exports: column order and content as snapshots, labels and choice
//! columns, answers a newer form wrote, repeats (nested too), and a property: whatever the
//! answers, the CSV parses back with one row per interview and one cell per column.

use super::*;
use crate::fieldwork::CaseFields;
use crate::form::xlsform::{Sheet, Workbook, read_form};
use crate::sync::Position;
use proptest::prelude::*;

const T0: i64 = 1_772_323_200_000;

fn workbook(survey: &[&[&str]], choices: &[&[&str]]) -> Workbook {
    let sheet = |name: &str, rows: &[&[&str]]| Sheet {
        name: name.into(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect(),
    };
    Workbook {
        sheets: vec![
            sheet("survey", survey),
            sheet("choices", choices),
            sheet(
                "settings",
                &[
                    &["form_id", "version", "default_language"],
                    &["hh", "3", "English (en)"],
                ],
            ),
        ],
    }
}

/// A small household form: a group, a select_one, a select_multiple, a roster with a nested
/// repeat of jobs, a note (no column).
fn form() -> Form {
    let survey: &[&[&str]] = &[
        &["type", "name", "label::English (en)", "label::中文 (zh)"],
        &["note", "intro", "Hello", "您好"],
        &["begin_group", "hh", "Household", "住户"],
        &["integer", "size", "Size", "人数"],
        &["select_one tenure", "tenure", "Tenure", "住房产权"],
        &["end_group", "", "", ""],
        &["select_multiple fuel", "fuel", "Fuels", "燃料"],
        &["text", "comment", "Comment", "备注"],
        &["begin_repeat", "members", "Members", "成员"],
        &["text", "name", "Name", "姓名"],
        &["integer", "age", "Age", "年龄"],
        &["begin_repeat", "jobs", "Jobs", "工作"],
        &["text", "job", "Job", "职业"],
        &["end_repeat", "", "", ""],
        &["end_repeat", "", "", ""],
    ];
    let choices: &[&[&str]] = &[
        &[
            "list_name",
            "name",
            "label::English (en)",
            "label::中文 (zh)",
        ],
        &["tenure", "own", "Owned", "自有"],
        &["tenure", "rent", "Rented", "租住"],
        &["fuel", "gas", "Gas", "燃气"],
        &["fuel", "coal", "Coal", "煤"],
        &["fuel", "power", "Electricity", "电"],
    ];
    read_form(&workbook(survey, choices)).unwrap_or_else(|e| panic!("{e}"))
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn interview(n: u128, area_code: &str, answers: &[(&str, FieldValue)]) -> Entity {
    let mut e = Entity::new(EntityKind::Interview, uuid(n), uuid(n));
    e.version = 3;
    e.fields = CaseFields {
        area: uuid(1).to_string(),
        area_code: area_code.into(),
        dwelling: uuid(n + 1000).to_string(),
        form: Some("hh".into()),
        form_version: Some("3".into()),
        stratum: "urban".into(),
        psu: area_code.into(),
        segment: Some("s2".into()),
        stage_probs: vec![0.25, 0.125],
        base_weight: 32.0,
        replicate: Some(1),
        position: Some(geo::Point::new(113.6, 34.7)),
        ..CaseFields::default()
    }
    .fields();
    for (k, v) in answers {
        e.fields.insert(format!("answers/{k}"), v.clone());
    }
    e
}

fn member(m: u128) -> String {
    format!(
        "members[{}]",
        uuid(0x0190_0000_0000_7000_8000_0000_0000_0000 + m)
    )
}

fn cases() -> Vec<Entity> {
    let m1 = member(1);
    let m2 = member(2);
    let m3 = member(3);
    let job = format!("{m1}/jobs[{}]", uuid(0x5000));
    let mut done = interview(
        20,
        "A1",
        &[
            ("size", FieldValue::Int(3)),
            ("tenure", "rent".into()),
            ("fuel", "gas power".into()),
            ("comment", "two doors, \"east\" one\nlocked".into()),
            (&format!("{m1}/_present"), FieldValue::Int(1)),
            (&format!("{m1}/name"), "王芳".into()),
            (&format!("{m1}/age"), FieldValue::Int(41)),
            (&format!("{job}/_present"), FieldValue::Int(2)),
            (&format!("{job}/job"), "teacher".into()),
            (&format!("{m2}/_present"), FieldValue::Int(1)),
            (&format!("{m2}/name"), "李强".into()),
            (&format!("{m2}/nickname"), "强子".into()),
            (&format!("{m3}/name"), "removed one".into()),
            (&format!("{m3}/_removed"), FieldValue::Bool(true)),
            // A newer form version's question.
            ("water_source", "well".into()),
        ],
    );
    done.fields
        .insert("disposition".into(), FieldValue::text("1.1"));
    done.fields.insert("status".into(), "approved".into());
    done.fields.insert(
        "interviewer".into(),
        FieldValue::text(uuid(0xAAAA).to_string()),
    );
    done.fields.insert("started_at".into(), FieldValue::Int(T0));
    done.fields
        .insert("ended_at".into(), FieldValue::Int(T0 + 2_700_000));
    done.fields.insert(
        "position".into(),
        FieldValue::Position(Position {
            accuracy_m: Some(6.5),
            ..Position::new(113.6002, 34.7001)
        }),
    );
    // A list-valued select_multiple, a choice no list has.
    let mut partial = interview(
        10,
        "A1",
        &[
            ("fuel", FieldValue::List(vec!["coal".into(), "wood".into()])),
            ("tenure", "own".into()),
        ],
    );
    let visit = format!("visits[{}]", uuid(0x7000));
    partial
        .fields
        .insert(format!("{visit}/result"), FieldValue::text("2.24"));
    partial
        .fields
        .insert(format!("{visit}/at"), FieldValue::Int(T0 - 86_400_000));
    let untouched = interview(30, "A0", &[]);
    let mut deleted = interview(40, "A0", &[("size", FieldValue::Int(9))]);
    deleted.deleted = true;
    let not_an_interview = Entity::new(EntityKind::Dwelling, uuid(50), uuid(1));
    vec![done, partial, untouched, deleted, not_an_interview]
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[test]
fn interviews_with_design_variables_and_answers() {
    let csv = text(interviews_csv(&form(), &cases(), &ExportOptions::default()).unwrap());
    insta::assert_snapshot!("interviews_plain", csv);
}

#[test]
fn interviews_with_labels_choice_columns_and_local_time() {
    let options = ExportOptions {
        labels: Some("中文 (zh)".into()),
        choice_columns: true,
        utc_offset_minutes: 480,
    };
    let csv = text(interviews_csv(&form(), &cases(), &options).unwrap());
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let answers_from = header.iter().position(|h| h == "gps_accuracy").unwrap() + 1;
    assert_eq!(
        &header[answers_from..],
        [
            "hh/size",
            "hh/tenure",
            "hh/tenure_label",
            "fuel",
            "fuel/gas",
            "fuel/coal",
            "fuel/power",
            "fuel_label",
            "comment",
            "water_source"
        ]
    );
    insta::assert_snapshot!("interviews_labelled", csv);
}

#[test]
fn repeats_one_file_each() {
    let f = form();
    let all = cases();
    assert_eq!(repeat_groups(&f, &all), ["members", "jobs"]);
    let members = text(repeat_csv(&f, "members", &all, &ExportOptions::default()).unwrap());
    insta::assert_snapshot!("repeat_members", members);
    let jobs = text(repeat_csv(&f, "jobs", &all, &ExportOptions::default()).unwrap());
    insta::assert_snapshot!("repeat_jobs", jobs);
    // A group the form does not have still comes out, from the data.
    let mut extra = all.clone();
    extra[0].fields.insert(
        format!("answers/vehicles[{}]/kind", uuid(0x9000)),
        "e-bike".into(),
    );
    assert_eq!(repeat_groups(&f, &extra), ["members", "jobs", "vehicles"]);
    let vehicles = text(repeat_csv(&f, "vehicles", &extra, &ExportOptions::default()).unwrap());
    assert_eq!(
        vehicles,
        format!(
            "interview_id,instance_id,instance_order,kind\n{},{},1,e-bike\n",
            uuid(20),
            uuid(0x9000)
        )
    );
}

#[test]
fn a_bad_offset_is_an_error() {
    let options = ExportOptions {
        utc_offset_minutes: 24 * 60,
        ..ExportOptions::default()
    };
    let err = interviews_csv(&form(), &cases(), &options).unwrap_err();
    assert_eq!(err.code(), "bad_utc_offset");
}

fn value() -> impl Strategy<Value = FieldValue> {
    let leaf = prop_oneof![
        Just(FieldValue::Null),
        any::<bool>().prop_map(FieldValue::Bool),
        any::<i64>().prop_map(FieldValue::Int),
        any::<f64>().prop_map(FieldValue::Float),
        ".{0,12}".prop_map(FieldValue::Text),
        "[a-z ,\"\n\r]{0,12}".prop_map(FieldValue::Text),
        (-180.0..180.0f64, -90.0..90.0f64)
            .prop_map(|(x, y)| FieldValue::Position(Position::new(x, y))),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(FieldValue::Bytes),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(FieldValue::List),
            proptest::collection::btree_map("[a-z]{1,3}", inner, 0..3).prop_map(FieldValue::Map),
        ]
    })
}

fn answer_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("size".to_string()),
        Just("tenure".to_string()),
        Just("fuel".to_string()),
        Just("comment".to_string()),
        "[a-z]{1,4}",
        "[^\\[\\]/]{1,6}",
        (0u128..3, prop_oneof![Just("name"), Just("age"), Just("x")])
            .prop_map(|(m, leaf)| format!("{}/{leaf}", member(m))),
        (0u128..2, 0u128..2).prop_map(|(m, j)| format!(
            "{}/jobs[{}]/job",
            member(m),
            uuid(0x5000 + j)
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_answers_make_a_well_formed_csv(
        answers in proptest::collection::vec(
            proptest::collection::btree_map(answer_key(), value(), 0..8),
            0..6,
        ),
        labels in any::<bool>(),
        choice_columns in any::<bool>(),
    ) {
        let entities: Vec<Entity> = answers
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let pairs: Vec<(&str, FieldValue)> =
                    a.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                interview(i as u128 + 1, "A1", &pairs)
            })
            .collect();
        let f = form();
        let options = ExportOptions {
            labels: labels.then(|| "English (en)".to_string()),
            choice_columns,
            utc_offset_minutes: 0,
        };
        let check = |bytes: Vec<u8>| -> (usize, usize) {
            let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(bytes.as_slice());
            let width = r.headers().unwrap().len();
            let mut rows = 0;
            for record in r.records() {
                let record = record.unwrap();
                assert_eq!(record.len(), width);
                rows += 1;
            }
            (rows, width)
        };
        let (rows, _) = check(interviews_csv(&f, &entities, &options).unwrap());
        prop_assert_eq!(rows, entities.len());
        for group in repeat_groups(&f, &entities) {
            let (rows, _) = check(repeat_csv(&f, &group, &entities, &options).unwrap());
            let expected: usize = entities
                .iter()
                .map(|e| Answers::of(e).by_instance.keys().filter(|s| s.last().is_some_and(|(g, _)| *g == group)).count())
                .sum();
            prop_assert_eq!(rows, expected);
        }
    }
}
