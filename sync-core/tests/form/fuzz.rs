//! The XLSForm reader, the compiler and the engine never panic on arbitrary sheets and answers.

use proptest::prelude::*;
use serde_json::json;
use sync_core::form::engine::{CompiledForm, Session, ViewOptions};
use sync_core::form::household::household_workbook;
use sync_core::form::xlsform::{Sheet, Workbook, read_form};

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z_]{1,6}",
        prop_oneof![
            Just("text"),
            Just("integer"),
            Just("select_one yn"),
            Just("select_multiple yn or_other"),
            Just("begin_group"),
            Just("end_group"),
            Just("begin repeat"),
            Just("end_repeat"),
            Just("calculate"),
            Just("note"),
            Just("yes"),
            Just("${a} > 1"),
            Just("${b}"),
            Just("."),
            Just("count(${r})"),
            Just("if("),
            Just("selected(${a}, 'x')"),
            Just("type"),
            Just("name"),
            Just("label"),
            Just("relevant"),
            Just("calculation"),
            Just("list_name"),
            Just("label::中文 (zh)"),
            Just("a"),
            Just("b"),
            Just("r"),
            Just("yn"),
            Just("x"),
        ]
        .prop_map(str::to_string),
        any::<String>(),
    ]
}

fn grid() -> impl Strategy<Value = Vec<Vec<String>>> {
    proptest::collection::vec(proptest::collection::vec(cell(), 0..6), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_workbooks_never_panic(survey in grid(), choices in grid(), answers in proptest::collection::vec(("[a-z]{1,2}", cell()), 0..6)) {
        let wb = Workbook { sheets: vec![Sheet { name: "survey".into(), rows: survey }, Sheet { name: "choices".into(), rows: choices }] };
        if let Ok(form) = read_form(&wb)
            && let Ok(compiled) = CompiledForm::compile(form)
        {
            let obj: serde_json::Map<String, serde_json::Value> = answers.into_iter().map(|(k, v)| (k, json!(v))).collect();
            if let Ok(mut s) = Session::from_json(&compiled, &serde_json::Value::Object(obj)) {
                let _ = s.view(&ViewOptions::default());
            }
        }
    }

    #[test]
    fn the_household_form_takes_any_answers_without_panicking(
        values in proptest::collection::vec(prop_oneof![Just(json!(null)), Just(json!(-1)), Just(json!(1e300)), Just(json!("yes")), Just(json!("")), Just(json!([1])), Just(json!({"a": 1})), Just(json!(true))], 16)
    ) {
        let compiled = CompiledForm::compile(read_form(&household_workbook()).unwrap()).unwrap();
        let names = ["consent", "hh_size", "respondent", "province", "city", "income_sources", "monthly_income", "location", "comments"];
        let mut obj = serde_json::Map::new();
        for (n, v) in names.iter().zip(&values) {
            obj.insert(n.to_string(), v.clone());
        }
        obj.insert("members".into(), json!([{"age": values[9].clone(), "sex": values[10].clone(), "present": values[11].clone(), "relation": values[12].clone()}]));
        if let Ok(mut s) = Session::from_json(&compiled, &serde_json::Value::Object(obj)) {
            let v = s.view(&ViewOptions::default());
            prop_assert!(v.items.len() > 5);
        }
    }
}
