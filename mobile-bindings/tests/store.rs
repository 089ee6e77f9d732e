//! The phone library in Rust, against the contract server (`support`): sign-in, sync, listing,
//! interviews, restarts, retries, conflicts, errors.

mod support;

use mobile_bindings::{
    AnswerValue, DwellingInput, FieldError, FieldStore, Occupancy, Point, RespondentRule,
    RetryPolicy, VisitInput, WireFormat,
};
use std::sync::Arc;
use support::ContractServer;
use sync_core::sync::FieldValue;

fn phone(
    dir: &tempfile::TempDir,
    name: &str,
    server: &ContractServer,
    user: &str,
) -> Arc<FieldStore> {
    let s = FieldStore::open(dir.path().join(name).display().to_string()).unwrap();
    s.set_retry_policy(RetryPolicy {
        attempts: 6,
        base_delay_ms: 5,
        max_delay_ms: 50,
        timeout_ms: 10_000,
    });
    s.sign_in(
        server.url.clone(),
        server.project.clone(),
        user.into(),
        "pw".into(),
    )
    .unwrap();
    s
}

fn case(server: &ContractServer, k: usize) -> String {
    server.cases[k].to_string()
}

/// Answers the current question and moves on.
fn answer_next(s: &FieldStore, case: &str, v: AnswerValue) {
    s.answer(case.into(), v).unwrap();
    s.next(case.into()).unwrap();
}

#[test]
fn a_day_offline_survives_a_restart_mid_interview() {
    let server = ContractServer::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let c = case(&server, 0);
    let (device, member) = {
        let s = phone(&dir, "a.db", &server, "int1");
        let r = s.sync().unwrap();
        assert!(r.synced, "{r:?}");
        assert_eq!(s.cases().unwrap().len(), 2);
        let areas = s.areas().unwrap();
        assert_eq!(areas.len(), 1);
        assert_eq!(areas[0].name, "Test community");
        assert!(!s.dwellings(areas[0].id.clone(), false).unwrap().is_empty());
        let v = s.start_interview(c.clone(), Some("en".into())).unwrap();
        assert_eq!(v.status, "in_progress");
        // intro note, then consent.
        let mut v = s.current(c.clone()).unwrap();
        while v.question.as_ref().unwrap().name != "consent" {
            v = s.next(c.clone()).unwrap();
        }
        answer_next(&s, &c, AnswerValue::Choice { name: "yes".into() });
        answer_next(&s, &c, AnswerValue::Integer { value: 1 });
        let m = s.add_member(c.clone(), "members".into(), vec![]).unwrap();
        let q = s.current(c.clone()).unwrap().question.unwrap();
        assert_eq!(
            (q.name.as_str(), q.instances.clone()),
            ("member_name", vec![m.clone()])
        );
        s.answer(
            c.clone(),
            AnswerValue::Text {
                value: "张伟".into(),
            },
        )
        .unwrap();
        (s.device_id(), m)
        // The app is killed here: the store is dropped without any closing call.
    };
    let s = FieldStore::open(path.display().to_string()).unwrap();
    assert_eq!(s.device_id(), device, "the device id is kept");
    let v = s.current(c.clone()).unwrap();
    let q = v.question.unwrap();
    assert_eq!(q.name, "member_name");
    assert_eq!(q.instances, vec![member.clone()]);
    assert_eq!(q.value.as_deref(), Some("\"张伟\""));
    let answers: serde_json::Value =
        serde_json::from_str(&s.answers_json(c.clone()).unwrap()).unwrap();
    assert_eq!(answers["consent"], "yes");
    assert_eq!(answers["hh_size"], 1);
    assert_eq!(answers["members"][0]["member_name"], "张伟");
    assert_eq!(answers["members"][0]["_id"], member.as_str());
    // Everything is still waiting to be sent, and is sent once.
    assert!(s.status().unwrap().pending_ops >= 4);
    let r = s.sync().unwrap();
    assert!(r.synced, "{r:?}");
    assert_eq!(
        server.field(
            server.cases[0],
            &format!("answers/members[{member}]/member_name")
        ),
        Some(FieldValue::text("张伟"))
    );
}

#[test]
fn answers_are_validated_by_the_form_engine_before_they_are_stored() {
    let server = ContractServer::start();
    let dir = tempfile::tempdir().unwrap();
    let s = phone(&dir, "a.db", &server, "int1");
    s.sync().unwrap();
    let c = case(&server, 0);
    s.start_interview(c.clone(), Some("en".into())).unwrap();
    s.go_to(c.clone(), "consent".into(), vec![]).unwrap();
    answer_next(&s, &c, AnswerValue::Choice { name: "yes".into() });
    let pending = s.status().unwrap().pending_ops;
    // (answer, expected code, field)
    let cases: [(AnswerValue, &str); 3] = [
        (AnswerValue::Integer { value: 40 }, "constraint"),
        (
            AnswerValue::Text {
                value: "many".into(),
            },
            "type",
        ),
        (
            AnswerValue::Choice {
                name: "maybe".into(),
            },
            "type",
        ),
    ];
    for (v, code) in cases {
        match s.answer(c.clone(), v.clone()) {
            Err(FieldError::Validation {
                code: got,
                field,
                message,
            }) => {
                assert_eq!(got, code, "{v:?}: {message}");
                assert_eq!(field, "main/hh_size");
            }
            other => panic!("{v:?}: {other:?}"),
        }
    }
    assert_eq!(s.status().unwrap().pending_ops, pending, "nothing stored");
    // The constraint message in the chosen language is on the question.
    let q = s.current(c.clone()).unwrap().question.unwrap();
    assert_eq!(
        q.constraint_message.as_deref(),
        Some("Must be between 1 and 30")
    );
    // Required and unanswered: next is refused.
    match s.next(c.clone()) {
        Err(FieldError::Validation { code, .. }) => assert_eq!(code, "required"),
        other => panic!("{other:?}"),
    }
    // Submitting an unfinished interview names the problem.
    match s.submit(c.clone()) {
        Err(FieldError::Validation { code, .. }) => assert_eq!(code, "not_submittable"),
        other => panic!("{other:?}"),
    }
    // Errors an app acts on.
    let e = FieldStore::open(dir.path().join("b.db").display().to_string())
        .unwrap()
        .sign_in(
            server.url.clone(),
            "demo".into(),
            "int1".into(),
            "wrong".into(),
        )
        .unwrap_err();
    assert!(matches!(e, FieldError::Auth { .. }), "{e:?}");
    assert!(matches!(
        s.case("00000000-0000-0000-0000-000000000000".into()),
        Err(FieldError::NotFound { .. })
    ));
    assert!(matches!(
        s.set_disposition(c.clone(), "9.99".into()),
        Err(FieldError::Validation { .. })
    ));
}

#[test]
fn sync_retries_through_a_dying_server_and_sends_nothing_twice() {
    let server = ContractServer::start();
    let dir = tempfile::tempdir().unwrap();
    let s = phone(&dir, "a.db", &server, "int1");
    s.set_wire_format(WireFormat::Binary);
    s.sync().unwrap();
    let c = case(&server, 1);
    for result in ["2.24", "2.24", "1.1"] {
        s.record_visit(
            c.clone(),
            VisitInput {
                result: result.into(),
                note: String::new(),
                position: None,
            },
        )
        .unwrap();
    }
    // The server stores the push and dies before answering, then is down for two attempts.
    server.fault("drop_after_push", 1);
    let r = s.sync().unwrap();
    assert!(r.synced, "{r:?}");
    assert!(r.attempts >= 3, "{r:?}");
    server.fault("down", 2);
    s.record_visit(
        c.clone(),
        VisitInput {
            result: "1.1".into(),
            note: "done".into(),
            position: None,
        },
    )
    .unwrap();
    let r = s.sync().unwrap();
    assert!(r.synced, "{r:?}");
    assert_eq!(
        server.field(server.cases[1], "counts/visits"),
        Some(FieldValue::Int(4))
    );
    assert_eq!(s.case(c).unwrap().visits, 4);
    let st = server.state.lock().unwrap();
    let stored = st.log.log().len();
    let distinct: std::collections::BTreeSet<_> =
        st.log.log().iter().map(|(_, o)| o.op_id).collect();
    assert_eq!(stored, distinct.len(), "no operation stored twice");
    assert!(
        st.ops_received > 4,
        "the lost acknowledgement made the phone resend"
    );
}

#[test]
fn a_network_failure_keeps_the_work_and_says_network() {
    let server = ContractServer::start();
    let dir = tempfile::tempdir().unwrap();
    let s = phone(&dir, "a.db", &server, "int1");
    s.sync().unwrap();
    s.set_retry_policy(RetryPolicy {
        attempts: 2,
        base_delay_ms: 1,
        max_delay_ms: 1,
        timeout_ms: 5_000,
    });
    s.set_disposition(case(&server, 0), "2.11".into()).unwrap();
    server.fault("error_503", 5);
    assert!(matches!(s.sync(), Err(FieldError::Network { .. })));
    assert_eq!(s.status().unwrap().unacknowledged_ops, 1);
    server.fault("error_503", 0);
    assert!(s.sync().unwrap().synced);
}

#[test]
fn two_phones_editing_one_household_offline_agree_and_both_see_the_conflict() {
    let server = ContractServer::start();
    let dir = tempfile::tempdir().unwrap();
    let a = phone(&dir, "a.db", &server, "int1");
    let b = phone(&dir, "b.db", &server, "int1");
    a.sync().unwrap();
    b.sync().unwrap();
    let c = case(&server, 0);
    for (s, size) in [(&a, 2), (&b, 3)] {
        s.start_interview(c.clone(), None).unwrap();
        s.go_to(c.clone(), "consent".into(), vec![]).unwrap();
        s.answer(c.clone(), AnswerValue::Choice { name: "yes".into() })
            .unwrap();
        s.go_to(c.clone(), "hh_size".into(), vec![]).unwrap();
        s.answer(c.clone(), AnswerValue::Integer { value: size })
            .unwrap();
    }
    for s in [&a, &b, &a] {
        s.sync().unwrap();
    }
    let fa = a.field(c.clone(), "answers/hh_size".into()).unwrap();
    let fb = b.field(c.clone(), "answers/hh_size".into()).unwrap();
    assert_eq!(fa, fb);
    let server_value = server.field(server.cases[0], "answers/hh_size").unwrap();
    assert_eq!(fa, serde_json::to_string(&server_value).unwrap());
    for s in [&a, &b] {
        let conflicts = s.conflicts().unwrap();
        let k = conflicts
            .iter()
            .find(|k| k.key == "answers/hh_size")
            .expect("conflict shown");
        let mut values: Vec<_> = k.entries.iter().filter_map(|e| e.value.clone()).collect();
        values.sort();
        assert_eq!(values, ["2", "3"]);
        // Both phones also stamped `started_at` at their own start: a second, legitimate
        // record when the two starts are a millisecond apart.
        assert_eq!(
            s.status().unwrap().open_conflicts as usize,
            conflicts.len(),
            "{:?}",
            conflicts.iter().map(|k| &k.key).collect::<Vec<_>>()
        );
    }
}

#[test]
fn listing_edits_and_the_self_check_offline() {
    let server = ContractServer::start();
    let dir = tempfile::tempdir().unwrap();
    let s = phone(&dir, "a.db", &server, "int1");
    s.sync().unwrap();
    let area = s.areas().unwrap()[0].id.clone();
    let before = s.dwellings(area.clone(), false).unwrap();
    let d = before[0].clone();
    s.set_occupancy(d.id.clone(), Occupancy::Vacant).unwrap();
    s.move_to(
        d.id.clone(),
        Point {
            lon: d.position.unwrap().lon + 0.00001,
            lat: d.position.unwrap().lat,
            accuracy_m: Some(5.0),
        },
    )
    .unwrap();
    let parts = s
        .split_dwelling(
            before[1].id.clone(),
            vec![
                DwellingInput {
                    door_number: Some("101A".into()),
                    ..Default::default()
                },
                DwellingInput {
                    door_number: Some("101B".into()),
                    ..Default::default()
                },
            ],
        )
        .unwrap();
    let added = s
        .add_dwelling(
            area.clone(),
            DwellingInput {
                building_id: d.building_id.clone(),
                door_number: Some("9-9".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let after = s.dwellings(area.clone(), false).unwrap();
    assert_eq!(after.len(), before.len() + 2, "split 1 into 2, added 1");
    assert_eq!(
        s.dwelling(d.id.clone()).unwrap().occupancy,
        Occupancy::Vacant
    );
    assert!(after.iter().any(|x| x.id == added));
    assert!(parts.iter().all(|p| after.iter().any(|x| &x.id == p)));
    assert_eq!(s.dwelling(before[1].id.clone()).unwrap().parts, parts);
    let findings = s.self_check(Some(area.clone())).unwrap();
    assert!(
        findings
            .iter()
            .all(|f| !f.code.is_empty() && !f.message_zh.is_empty())
    );
    assert!(matches!(
        s.move_to(
            d.id.clone(),
            Point {
                lon: 500.0,
                lat: 0.0,
                accuracy_m: None
            }
        ),
        Err(FieldError::Validation { .. })
    ));
    let r = s.sync().unwrap();
    assert!(r.synced && r.refused == 0, "{r:?}");
    assert_eq!(s.dwellings(area, false).unwrap().len(), before.len() + 2);
}

#[test]
fn a_whole_interview_with_a_roster_and_respondent_selection_is_submitted() {
    let server = ContractServer::start();
    let dir = tempfile::tempdir().unwrap();
    let s = phone(&dir, "a.db", &server, "int1");
    s.sync().unwrap();
    let c = case(&server, 0);
    s.start_interview(c.clone(), Some("zh".into())).unwrap();
    s.go_to(c.clone(), "consent".into(), vec![]).unwrap();
    answer_next(&s, &c, AnswerValue::Choice { name: "yes".into() });
    answer_next(&s, &c, AnswerValue::Integer { value: 2 });
    let people = [("张伟", "1", 45, "head"), ("李娜", "2", 43, "spouse")];
    for (name, sex, age, relation) in people {
        s.add_member(c.clone(), "members".into(), vec![]).unwrap();
        answer_next(&s, &c, AnswerValue::Text { value: name.into() });
        answer_next(&s, &c, AnswerValue::Choice { name: sex.into() });
        answer_next(&s, &c, AnswerValue::Integer { value: age });
        answer_next(
            &s,
            &c,
            AnswerValue::Choice {
                name: relation.into(),
            },
        );
        answer_next(&s, &c, AnswerValue::Choice { name: "yes".into() });
    }
    let chosen = s
        .select_respondent(
            c.clone(),
            "members".into(),
            RespondentRule::Kish { table: "F".into() },
        )
        .unwrap();
    assert_eq!(chosen.eligible, 2);
    assert!((chosen.probability - 0.5).abs() < 1e-9);
    // Walk the rest, answering whatever comes with the first choice or a plausible value.
    let mut v = s.current(c.clone()).unwrap();
    let mut guard = 0;
    while !v.at_end && guard < 50 {
        guard += 1;
        let q = v.question.clone().unwrap();
        if q.value.is_none() && !q.read_only && !q.type_word.starts_with("note") {
            let a = if !q.choices.is_empty() {
                AnswerValue::Choice {
                    name: q.choices[0].name.clone(),
                }
            } else if q.type_word == "integer" {
                AnswerValue::Integer { value: 1 }
            } else if q.type_word == "geopoint" {
                AnswerValue::Location {
                    point: Point {
                        lon: 102.71,
                        lat: 25.04,
                        accuracy_m: Some(5.0),
                    },
                }
            } else if q.type_word == "decimal" {
                AnswerValue::Decimal { value: 1000.0 }
            } else {
                AnswerValue::Text { value: "x".into() }
            };
            s.answer(c.clone(), a).unwrap();
        }
        v = s.next(c.clone()).unwrap();
    }
    assert!(v.at_end && v.submittable, "{:?}", v.issues);
    s.record_visit(
        c.clone(),
        VisitInput {
            result: "1.1".into(),
            note: String::new(),
            position: None,
        },
    )
    .unwrap();
    s.set_disposition(c.clone(), "1.1".into()).unwrap();
    assert_eq!(s.submit(c.clone()).unwrap().status, "submitted");
    assert!(s.sync().unwrap().synced);
    assert_eq!(
        server.field(server.cases[0], "status"),
        Some(FieldValue::text("submitted"))
    );
    assert_eq!(s.case(c).unwrap().respondent, Some(chosen.instance_id));
}
