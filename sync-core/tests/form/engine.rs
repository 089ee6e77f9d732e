//! The interview engine on the household questionnaire: skip logic, repeats keyed by UUID,
//! calculations across a roster, cascading selects, languages, validation, navigation.

use serde_json::{Value as Json, json};
use sync_core::form::engine::{
    CompiledForm, IssueKind, ItemRef, Session, View, ViewOptions, navigate,
};
use sync_core::form::household::household_workbook;
use sync_core::form::xlsform::read_form;
use uuid::Uuid;

const ZH: &str = "中文 (zh)";
const EN: &str = "English (en)";

fn form() -> CompiledForm {
    CompiledForm::compile(read_form(&household_workbook()).unwrap()).unwrap()
}

fn opts(lang: &str) -> ViewOptions {
    // 2026-11-21T10:00:00+08:00
    ViewOptions {
        language: Some(lang.into()),
        now_ms: 1_795_226_400_000,
        utc_offset_min: 480,
    }
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn member(n: u128, name: &str, sex: &str, age: i64, relation: &str, present: Option<&str>) -> Json {
    let mut m = json!({"_id": id(n).to_string(), "member_name": name, "sex": sex, "age": age, "relation": relation});
    if let Some(p) = present {
        m["present"] = json!(p);
    }
    m
}

fn full_answers() -> Json {
    json!({
        "consent": "yes",
        "hh_size": 3,
        "members": [
            member(1, "张伟", "1", 45, "head", Some("yes")),
            member(2, "李娜", "2", 43, "spouse", Some("no")),
            member(3, "张小明", "1", 12, "child", None),
        ],
        "respondent": 1,
        "province": "yunnan",
        "city": "kunming",
        "income_sources": "wage farm",
        "monthly_income": 6500.5,
    })
}

fn view_of(f: &CompiledForm, answers: &Json, lang: &str) -> View {
    Session::from_json(f, answers)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .view(&opts(lang))
}

fn item<'v>(v: &'v View, path: &str) -> &'v sync_core::form::engine::ItemView {
    v.items
        .iter()
        .find(|i| i.path == path)
        .unwrap_or_else(|| panic!("no item {path}"))
}

#[test]
fn refusing_consent_skips_the_whole_interview() {
    let f = form();
    let v = view_of(&f, &json!({"consent": "no"}), ZH);
    assert!(!item(&v, "main/hh_size").relevant);
    assert!(!item(&v, "main/province").relevant);
    assert!(item(&v, "thanks_refused").relevant);
    assert!(v.issues.is_empty(), "{:?}", v.issues);
    assert!(v.submittable);
    assert_eq!(v.next, None);
}

#[test]
fn a_complete_household_is_submittable_and_counts_eligible_adults() {
    let f = form();
    let v = view_of(&f, &full_answers(), ZH);
    assert!(v.issues.is_empty(), "{:#?}", v.issues);
    assert!(v.submittable);
    // Only the head is 18+ and present.
    assert_eq!(v.calculates["main/eligible_count"], json!(1));
    assert_eq!(
        v.calculates[&format!("main/members[{}]/eligible", id(1))],
        json!(1)
    );
    assert_eq!(
        v.calculates[&format!("main/members[{}]/eligible", id(2))],
        json!(0)
    );
    // The child is under 18: "present" is not asked.
    assert!(!item(&v, &format!("main/members[{}]/present", id(3))).relevant);
    assert_eq!(
        item(&v, "main/eligible_note").label.as_deref(),
        Some("本户共有 1 名符合条件的成年人。")
    );
    assert_eq!(v.repeats[0].expected, Some(3));
    assert_eq!(v.repeats[0].instances, [id(1), id(2), id(3)]);
}

#[test]
fn labels_follow_the_language_and_substitute_roster_names() {
    let f = form();
    let zh = view_of(&f, &full_answers(), ZH);
    let en = view_of(&f, &full_answers(), EN);
    let age = format!("main/members[{}]/age", id(2));
    assert_eq!(item(&zh, &age).label.as_deref(), Some("李娜的年龄（周岁）"));
    assert_eq!(
        item(&en, &age).label.as_deref(),
        Some("Age of 李娜 (completed years)")
    );
    assert_eq!(
        item(&en, "consent").hint.as_deref(),
        Some("Read the whole consent statement aloud.")
    );
    let choices = item(&zh, "main/province").choices.clone().unwrap();
    assert_eq!(
        choices.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(),
        ["云南", "四川"]
    );
}

#[test]
fn city_choices_cascade_from_the_province() {
    let f = form();
    let mut a = full_answers();
    let names = |v: &View| {
        item(v, "main/city")
            .choices
            .clone()
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&view_of(&f, &a, ZH)), ["kunming", "dali"]);
    a["province"] = json!("sichuan");
    a["city"] = json!("chengdu");
    assert_eq!(names(&view_of(&f, &a, ZH)), ["chengdu", "mianyang"]);
}

#[test]
fn validation_issues_speak_the_chosen_language() {
    let f = form();
    let mut a = full_answers();
    a["hh_size"] = json!(0);
    a["members"][1]["age"] = json!(130);
    a["members"][1]["relation"] = json!("head");
    a["respondent"] = json!(5);
    let v = view_of(&f, &a, EN);
    let kinds: Vec<(String, IssueKind, String)> = v
        .issues
        .iter()
        .map(|i| (i.item.name.clone(), i.kind.clone(), i.message.clone()))
        .collect();
    assert!(
        kinds.contains(&(
            "hh_size".into(),
            IssueKind::Constraint,
            "Must be between 1 and 30".into()
        )),
        "{kinds:#?}"
    );
    assert!(
        kinds.contains(&(
            "age".into(),
            IssueKind::Constraint,
            "Age must be between 0 and 120".into()
        )),
        "{kinds:#?}"
    );
    assert!(
        kinds.contains(&(
            "relation".into(),
            IssueKind::Constraint,
            "The first member is the head, and there is only one".into()
        )),
        "{kinds:#?}"
    );
    assert!(
        kinds.contains(&(
            "respondent".into(),
            IssueKind::Constraint,
            "Must be between 1 and 1".into()
        )),
        "{kinds:#?}"
    );
    assert!(
        kinds
            .iter()
            .any(|k| k.0 == "members" && k.1 == IssueKind::RepeatCount),
        "hh_size 0 against 3 members: {kinds:#?}"
    );
    assert!(!v.submittable);
    let zh = view_of(&f, &a, ZH);
    assert!(
        zh.issues
            .iter()
            .any(|i| i.message == "年龄应在0到120岁之间")
    );
}

#[test]
fn missing_required_answers_and_wrong_types_are_issues_not_panics() {
    let f = form();
    let mut a = full_answers();
    a.as_object_mut().unwrap().remove("province");
    a["members"][0]["age"] = json!("forty");
    a["monthly_income"] = json!({"amount": 1});
    a["city"] = json!("beijing");
    let v = view_of(&f, &a, ZH);
    let by_name = |n: &str| {
        v.issues
            .iter()
            .filter(|i| i.item.name == n)
            .map(|i| i.kind.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(by_name("province"), [IssueKind::Required]);
    assert_eq!(by_name("age"), [IssueKind::Type]);
    assert_eq!(by_name("monthly_income"), [IssueKind::Type]);
    assert_eq!(by_name("city"), [IssueKind::Type]);
    assert_eq!(
        v.issues
            .iter()
            .find(|i| i.item.name == "province")
            .unwrap()
            .message,
        "此项为必答题。"
    );
}

#[test]
fn the_next_question_is_the_first_one_to_answer_or_correct() {
    let f = form();
    let mut s = Session::from_json(&f, &json!({})).unwrap();
    assert_eq!(s.view(&opts(ZH)).next, Some(ItemRef::top("consent")));
    s.set(&ItemRef::top("consent"), &json!("yes")).unwrap();
    assert_eq!(s.view(&opts(ZH)).next, Some(ItemRef::top("hh_size")));
    s.set(&ItemRef::top("hh_size"), &json!(1)).unwrap();
    s.add_instance("members", &[], id(7)).unwrap();
    let v = s.view(&opts(ZH));
    assert_eq!(
        v.next,
        Some(ItemRef {
            name: "member_name".into(),
            instances: vec![id(7)]
        })
    );
    let after = navigate(&v, &ItemRef::top("hh_size"), true);
    assert_eq!(
        after,
        Some(ItemRef {
            name: "member_name".into(),
            instances: vec![id(7)]
        })
    );
    assert_eq!(
        navigate(
            &v,
            &ItemRef {
                name: "member_name".into(),
                instances: vec![id(7)]
            },
            false
        ),
        Some(ItemRef::top("hh_size"))
    );
}

#[test]
fn roster_members_are_added_and_removed_by_uuid() {
    let f = form();
    let mut s = Session::from_json(&f, &full_answers()).unwrap();
    s.remove_instance("members", &[], id(2)).unwrap();
    assert!(s.remove_instance("members", &[], id(2)).is_err());
    s.add_instance("members", &[], id(9)).unwrap();
    assert_eq!(
        s.add_instance("members", &[], id(9)).unwrap_err().code(),
        "duplicate_instance"
    );
    s.set(
        &ItemRef {
            name: "age".into(),
            instances: vec![id(9)],
        },
        &json!(70),
    )
    .unwrap();
    let json = s.to_json();
    let ids: Vec<&str> = json["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [id(1).to_string(), id(3).to_string(), id(9).to_string()]
    );
    assert_eq!(json["members"][2]["age"], json!(70));
    // Round trip.
    let again = Session::from_json(&f, &json).unwrap();
    assert_eq!(again.to_json(), json);
    let wrong = s
        .set(
            &ItemRef {
                name: "age".into(),
                instances: vec![id(99)],
            },
            &json!(1),
        )
        .unwrap_err();
    assert_eq!(wrong.code(), "unknown_instance");
    assert_eq!(
        s.set(&ItemRef::top("age"), &json!(1)).unwrap_err().code(),
        "wrong_instances"
    );
}

#[test]
fn answers_that_do_not_fit_the_form_are_refused_with_their_path() {
    let f = form();
    let cases = [
        (json!({"nope": 1}), "unknown_question"),
        (json!({"members": {"age": 1}}), "malformed_answers"),
        (
            json!({"members": [{"_id": "not-a-uuid"}]}),
            "malformed_answers",
        ),
        (json!({"age": 3}), "malformed_answers"),
        (json!({"main": 1}), "not_answerable"),
        (json!([1, 2]), "malformed_answers"),
    ];
    for (answers, code) in cases {
        let e = Session::from_json(&f, &answers).unwrap_err();
        assert_eq!(e[0].code(), code, "{answers}: {e:?}");
    }
}
