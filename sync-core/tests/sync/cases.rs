//! The named merge cases of DESIGN.md §3, one test each, through phones, the wire and the server.
//! Where the order of arrival could matter, each case runs in both orders and must end the same.

use crate::support::*;
use sync_core::sync::entity::{
    DWELLING_FIELD, EXISTENCE_KEY, RETIRED_FIELD, STATUS_FIELD, STRUCTURE_KEY, VISITS_COUNTER,
    WORKFLOW_KEY,
};
use sync_core::sync::{
    AckStatus, ConflictKind, Decision, Entity, FieldValue, OpBody, Part, Position, Role, Verdict,
};
use uuid::Uuid;

const LISTER: Role = Role::Lister;
const INTERVIEWER: Role = Role::Interviewer;
const SUPERVISOR: Role = Role::Supervisor;

/// Devices 0 and 1 act offline; their work reaches the server in `order`; everyone syncs.
fn deliver(w: &mut World, order: [usize; 2]) {
    for i in order {
        w.push_device(Some(i), usize::MAX, Delivery::Normal);
    }
    w.sync_all();
}

/// An open conflict as (key, kind, devices, values).
type OpenConflict = (String, ConflictKind, Vec<Uuid>, Vec<Option<FieldValue>>);

/// The open conflicts of an entity.
fn conflicts(e: &Entity) -> Vec<OpenConflict> {
    e.open_conflicts()
        .map(|c| {
            (
                c.key.clone(),
                c.kind.clone(),
                c.entries.iter().map(|x| x.device.uuid()).collect(),
                c.entries.iter().map(|x| x.value.clone()).collect(),
            )
        })
        .collect()
}

fn assert_replicas_match_server(w: &World) {
    for d in &w.devices {
        let r = d.replica();
        assert!(r.is_synced(), "{:?} not synced", d.id());
        for (id, e) in r.entities() {
            assert_eq!(Some(e), w.server.get(id), "{id} differs on {:?}", d.id());
        }
    }
}

#[test]
fn same_field_edited_on_two_phones_keeps_both_values() {
    for order in [[0, 1], [1, 0]] {
        let mut w = World::new(&[LISTER, LISTER, SUPERVISOR], 1, false);
        w.sync_all();
        let d = w.seeded.dwellings[0];
        w.edit(0, dwelling(d), &[("occupancy", text("vacant"))])
            .unwrap();
        w.edit(1, dwelling(d), &[("occupancy", text("business"))])
            .unwrap();
        deliver(&mut w, order);
        let e = w.server_entity(d);
        let open = conflicts(e);
        assert_eq!(open.len(), 1, "{order:?}");
        let (key, kind, devices, values) = &open[0];
        assert_eq!((key.as_str(), kind), ("occupancy", &ConflictKind::Value));
        assert_eq!(
            devices,
            &[w.devices[0].id().uuid(), w.devices[1].id().uuid()]
        );
        assert_eq!(values, &[Some(text("vacant")), Some(text("business"))]);
        // Provisional: same rank, smallest value in canonical order.
        assert_eq!(e.get("occupancy"), Some(&text("business")));
        assert_replicas_match_server(&w);

        // The supervisor resolves it; everyone sees the decision.
        let id = e.open_conflicts().next().unwrap().id;
        w.act(
            2,
            dwelling(d),
            OpBody::ResolveConflict {
                conflict: id,
                decision: Decision::Value(text("vacant")),
            },
        )
        .unwrap();
        w.sync_all();
        let e = w.server_entity(d);
        assert_eq!(e.get("occupancy"), Some(&text("vacant")));
        assert_eq!(e.open_conflicts().count(), 0);
        let record = e.conflict(id).unwrap();
        assert_eq!(record.entries.len(), 2, "both values stay in the record");
        assert_replicas_match_server(&w);
    }
}

#[test]
fn different_fields_merge_silently() {
    for order in [[0, 1], [1, 0]] {
        let mut w = World::new(&[LISTER, LISTER], 1, false);
        w.sync_all();
        let d = w.seeded.dwellings[0];
        w.edit(0, dwelling(d), &[("occupancy", text("vacant"))])
            .unwrap();
        w.edit(1, dwelling(d), &[("notes", text("dog at the gate"))])
            .unwrap();
        deliver(&mut w, order);
        let e = w.server_entity(d);
        assert_eq!(e.get("occupancy"), Some(&text("vacant")));
        assert_eq!(e.get("notes"), Some(&text("dog at the gate")));
        assert!(e.conflicts.is_empty());
        assert_replicas_match_server(&w);
    }
}

#[test]
fn the_same_value_on_both_phones_is_no_conflict() {
    for order in [[0, 1], [1, 0]] {
        let mut w = World::new(&[LISTER, LISTER], 1, false);
        w.sync_all();
        let d = w.seeded.dwellings[0];
        w.edit(0, dwelling(d), &[("occupancy", text("vacant"))])
            .unwrap();
        w.edit(1, dwelling(d), &[("occupancy", text("vacant"))])
            .unwrap();
        let first = w.push_device(Some(order[0]), usize::MAX, Delivery::Normal);
        let second = w.push_device(Some(order[1]), usize::MAX, Delivery::Normal);
        assert!(matches!(first.acks[0].status, AckStatus::Applied { .. }));
        // The server already holds the value: nothing changes but who said it.
        assert!(
            matches!(second.acks[0].status, AckStatus::Agreed { .. }),
            "{second:?}"
        );
        w.sync_all();
        let e = w.server_entity(d);
        assert_eq!(e.get("occupancy"), Some(&text("vacant")));
        assert!(e.conflicts.is_empty());
        assert_eq!(e.heads("occupancy").len(), 2);
        assert_replicas_match_server(&w);
    }
}

#[test]
fn delete_vs_edit_keeps_the_edit_and_flags_it() {
    for order in [[0, 1], [1, 0]] {
        let mut w = World::new(&[LISTER, LISTER, SUPERVISOR], 1, false);
        w.sync_all();
        let d = w.seeded.dwellings[0];
        w.act(0, dwelling(d), OpBody::Delete).unwrap();
        assert!(
            w.dev(0).replica().entity(d).unwrap().deleted,
            "shown deleted at once"
        );
        w.edit(1, dwelling(d), &[("occupancy", text("vacant"))])
            .unwrap();
        deliver(&mut w, order);
        let e = w.server_entity(d);
        assert!(!e.deleted, "{order:?}: the edit keeps it alive");
        assert_eq!(e.get("occupancy"), Some(&text("vacant")));
        let open = conflicts(e);
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].0, EXISTENCE_KEY);
        assert_eq!(open[0].1, ConflictKind::Existence);
        let mut devices = open[0].2.clone();
        devices.sort();
        assert_eq!(
            devices,
            [w.devices[0].id().uuid(), w.devices[1].id().uuid()]
        );
        assert_replicas_match_server(&w);

        // The supervisor confirms the delete.
        let id = e.open_conflicts().next().unwrap().id;
        w.act(
            2,
            dwelling(d),
            OpBody::ResolveConflict {
                conflict: id,
                decision: Decision::Delete,
            },
        )
        .unwrap();
        w.sync_all();
        assert!(w.server_entity(d).deleted);
        assert_replicas_match_server(&w);
    }
}

#[test]
fn split_vs_move_puts_the_household_in_a_parent_conflict() {
    for order in [[0, 1], [1, 0]] {
        let mut w = World::new(&[LISTER, LISTER], 2, false);
        w.sync_all();
        let (d, other) = (w.seeded.dwellings[0], w.seeded.dwellings[1]);
        let h = w.seeded.households[0];
        let (p1, p2) = (Uuid::from_u128(0x5101), Uuid::from_u128(0x5102));
        let parts = vec![
            Part::new(p1, [("address/room".to_owned(), text("101A"))].into()),
            Part::new(p2, [("address/room".to_owned(), text("101B"))].into()),
        ];
        w.act(0, dwelling(d), OpBody::Split { parts }).unwrap();
        w.act(
            0,
            household(h),
            OpBody::MoveHousehold {
                from: Some(d),
                to: p1,
            },
        )
        .unwrap();
        w.act(
            1,
            household(h),
            OpBody::MoveHousehold {
                from: Some(d),
                to: other,
            },
        )
        .unwrap();
        deliver(&mut w, order);
        assert_eq!(w.server_entity(d).get(RETIRED_FIELD), Some(&text("split")));
        assert!(w.server.get(p1).is_some() && w.server.get(p2).is_some());
        let e = w.server_entity(h);
        let open = conflicts(e);
        assert_eq!(open.len(), 1, "{order:?}");
        assert_eq!(open[0].0, DWELLING_FIELD);
        assert_eq!(open[0].1, ConflictKind::Parent);
        assert_eq!(
            open[0].3,
            [Some(text(&p1.to_string())), Some(text(&other.to_string()))]
        );
        // The same provisional dwelling whatever the order.
        let smaller = p1.to_string().min(other.to_string());
        assert_eq!(e.get(DWELLING_FIELD), Some(&text(&smaller)));
        assert_replicas_match_server(&w);
    }
}

#[test]
fn split_vs_split_applies_one_and_queues_the_other() {
    for order in [[0, 1], [1, 0]] {
        let mut w = World::new(&[LISTER, LISTER], 1, false);
        w.sync_all();
        let d = w.seeded.dwellings[0];
        let split = |a: u128, b: u128| OpBody::Split {
            parts: vec![
                Part::new(Uuid::from_u128(a), Default::default()),
                Part::new(Uuid::from_u128(b), Default::default()),
            ],
        };
        w.act(0, dwelling(d), split(0xa1, 0xa2)).unwrap();
        w.act(1, dwelling(d), split(0xb1, 0xb2)).unwrap();
        // Each phone shows its own split meanwhile.
        assert!(w.dev(1).replica().entity(Uuid::from_u128(0xb1)).is_some());
        deliver(&mut w, order);
        let (won, lost) = if order[0] == 0 {
            ((0xa1, 0xa2), (0xb1, 0xb2))
        } else {
            ((0xb1, 0xb2), (0xa1, 0xa2))
        };
        assert!(w.server.get(Uuid::from_u128(won.0)).is_some());
        assert!(w.server.get(Uuid::from_u128(won.1)).is_some());
        assert!(
            w.server.get(Uuid::from_u128(lost.0)).is_none(),
            "not split twice"
        );
        assert!(w.server.get(Uuid::from_u128(lost.1)).is_none());
        let e = w.server_entity(d);
        let open: Vec<_> = e.open_conflicts().collect();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].key, STRUCTURE_KEY);
        let queued: Vec<_> = open[0]
            .entries
            .iter()
            .filter(|x| x.queued.is_some())
            .collect();
        assert_eq!(queued.len(), 1, "the losing split is kept, unapplied");
        assert_eq!(queued[0].device, w.devices[order[1]].id());
        assert_replicas_match_server(&w);
        // The losing phone no longer shows its parts.
        assert!(
            w.dev(order[1])
                .replica()
                .entity(Uuid::from_u128(lost.0))
                .is_none()
        );
    }
}

#[test]
fn the_same_person_added_to_a_roster_twice_is_flagged() {
    let cases = [
        // (name on phone 0, birth year 0, name on phone 1, birth year 1, flagged)
        ("Wang Fang", 1980, "wang  fang", 1980, true),
        ("Wang Fang", 1980, "Wang Fang", 1981, false),
        ("Wang Fang", 1980, "Li Na", 1980, false),
    ];
    for (n0, y0, n1, y1, flagged) in cases {
        for order in [[0, 1], [1, 0]] {
            let mut w = World::new(&[INTERVIEWER, INTERVIEWER, SUPERVISOR], 1, false);
            w.sync_all();
            let iv = w.seeded.interviews[0];
            let add = |instance: u128, name: &str, year: i64| OpBody::AddMember {
                group: "answers/members".into(),
                instance: Uuid::from_u128(instance),
                fields: [
                    ("name".to_owned(), text(name)),
                    ("sex".to_owned(), text("female")),
                    ("birth_year".to_owned(), FieldValue::Int(year)),
                ]
                .into(),
            };
            w.act(0, interview(iv), add(0x100, n0, y0)).unwrap();
            w.act(1, interview(iv), add(0x200, n1, y1)).unwrap();
            deliver(&mut w, order);
            let e = w.server_entity(iv);
            let present = e.fields.keys().filter(|k| k.ends_with("/_present")).count();
            assert_eq!(present, 2, "both members kept");
            let open = conflicts(e);
            assert_eq!(open.len(), usize::from(flagged), "{n0} / {n1} {order:?}");
            if flagged {
                assert_eq!(open[0].1, ConflictKind::Duplicate);
                assert_replicas_match_server(&w);
                let id = e.open_conflicts().next().unwrap().id;
                w.act(
                    2,
                    interview(iv),
                    OpBody::ResolveConflict {
                        conflict: id,
                        decision: Decision::RemoveMember(Uuid::from_u128(0x200)),
                    },
                )
                .unwrap();
                w.sync_all();
                let e = w.server_entity(iv);
                let removed = format!("answers/members[{}]/_removed", Uuid::from_u128(0x200));
                assert_eq!(e.get(&removed), Some(&FieldValue::Bool(true)));
                assert_eq!(e.open_conflicts().count(), 0);
            }
            assert_replicas_match_server(&w);
        }
    }
}

#[test]
fn an_edit_made_before_an_approval_arrives_after_it_as_a_conflict() {
    let mut w = World::new(&[INTERVIEWER, SUPERVISOR, INTERVIEWER], 1, true);
    w.sync_all();
    let iv = w.seeded.interviews[0];
    // The interviewer corrects an answer offline; the supervisor approves what they saw.
    w.edit(0, interview(iv), &[("answers/age", FieldValue::Int(41))])
        .unwrap();
    w.approve(1, iv).unwrap();
    w.sync(1);
    let approved = w.server_entity(iv).clone();
    assert_eq!(approved.status(), Some("approved"));
    let ack = w.sync(0);
    assert!(matches!(ack.acks[0].status, AckStatus::Conflict { .. }));
    let e = w.server_entity(iv);
    assert_eq!(e.status(), Some("approved"));
    assert_eq!(
        e.get("answers/age"),
        None,
        "not applied to an approved interview"
    );
    assert_eq!(e.fields, approved.fields);
    let c = e.open_conflict(WORKFLOW_KEY).unwrap();
    assert!(
        c.entries.iter().any(|x| x.queued.is_some()),
        "the edit is kept"
    );
    let id = c.id;
    w.sync_all();
    assert_replicas_match_server(&w);

    // Someone who has seen the approval cannot edit: refused on the phone itself.
    let refused = w.edit(2, interview(iv), &[("answers/age", FieldValue::Int(40))]);
    assert_eq!(refused.unwrap_err().code(), "interview_approved");
    // The first interviewer's next edit queues behind the queued one, to keep its order.
    let queued = w.edit(0, interview(iv), &[("answers/age", FieldValue::Int(42))]);
    assert!(matches!(queued, Ok(Verdict::Conflict { .. })), "{queued:?}");
    w.sync_all();
    assert_eq!(w.server_entity(iv).fields, approved.fields);

    // The supervisor reopens through the conflict: the queued edits apply, in order.
    w.act(
        1,
        interview(iv),
        OpBody::ResolveConflict {
            conflict: id,
            decision: Decision::Reopen,
        },
    )
    .unwrap();
    w.sync_all();
    let e = w.server_entity(iv);
    assert_eq!(e.status(), Some("in_progress"));
    assert_eq!(e.get("answers/age"), Some(&FieldValue::Int(42)));
    assert_replicas_match_server(&w);
}

#[test]
fn an_approval_made_before_an_edit_arrives_after_it_and_does_not_apply() {
    let mut w = World::new(&[INTERVIEWER, SUPERVISOR], 1, true);
    w.sync_all();
    let iv = w.seeded.interviews[0];
    w.edit(0, interview(iv), &[("answers/age", FieldValue::Int(41))])
        .unwrap();
    w.approve(1, iv).unwrap();
    w.sync(0);
    w.sync(1);
    let e = w.server_entity(iv);
    assert_eq!(
        e.status(),
        Some("submitted"),
        "approved what the supervisor had not seen"
    );
    assert_eq!(e.get("answers/age"), Some(&FieldValue::Int(41)));
    let c = e.open_conflict(WORKFLOW_KEY).unwrap();
    let mut devices: Vec<_> = c.entries.iter().map(|x| x.device).collect();
    devices.sort();
    assert_eq!(devices, [w.devices[0].id(), w.devices[1].id()]);
    w.sync_all();
    assert_replicas_match_server(&w);
}

#[test]
fn positions_last_writer_wins_and_far_apart_ones_are_flagged() {
    let base = Position::new(102.7000, 25.0400);
    let near = Position::new(102.7002, 25.0401); // ~23 m
    let far = Position::new(102.7020, 25.0400); // ~200 m
    for (other, flagged) in [(near, false), (far, true)] {
        let mut w = World::new(&[LISTER, LISTER], 1, false);
        let d = w.seeded.dwellings[0];
        w.sync_all();
        w.edit(0, dwelling(d), &[("position", base.into())])
            .unwrap();
        w.edit(1, dwelling(d), &[("position", other.into())])
            .unwrap();
        deliver(&mut w, [0, 1]);
        let e = w.server_entity(d);
        assert_eq!(e.get("position"), Some(&other.into()), "last writer wins");
        let open = conflicts(e);
        assert_eq!(open.len(), usize::from(flagged));
        if flagged {
            assert_eq!(open[0].1, ConflictKind::Position);
        }
        assert_replicas_match_server(&w);
    }
}

#[test]
fn concurrent_visits_add_up() {
    let mut w = World::new(&[INTERVIEWER, INTERVIEWER], 1, false);
    w.sync_all();
    let iv = w.seeded.interviews[0];
    for (i, v) in [(0, 0x71), (1, 0x72), (1, 0x73)] {
        w.act(
            i,
            interview(iv),
            OpBody::RecordVisit {
                visit: Uuid::from_u128(v),
                fields: [("disposition".to_owned(), text("3.130"))].into(),
            },
        )
        .unwrap();
    }
    deliver(&mut w, [1, 0]);
    let e = w.server_entity(iv);
    assert_eq!(e.get(VISITS_COUNTER), Some(&FieldValue::Int(3)));
    assert!(e.conflicts.is_empty());
    assert_replicas_match_server(&w);
}

#[test]
fn return_and_reopen_follow_the_workflow() {
    let mut w = World::new(&[INTERVIEWER, SUPERVISOR], 1, true);
    w.sync_all();
    let iv = w.seeded.interviews[0];
    w.act(
        1,
        interview(iv),
        OpBody::Return {
            note: "Q12 empty".into(),
        },
    )
    .unwrap();
    w.sync_all();
    assert_eq!(w.server_entity(iv).status(), Some("returned"));
    // Editing a returned interview takes it back to in progress; then it is submitted again.
    w.edit(0, interview(iv), &[("answers/q12", text("yes"))])
        .unwrap();
    assert_eq!(
        w.dev(0).replica().entity(iv).unwrap().status(),
        Some("in_progress")
    );
    w.act(0, interview(iv), OpBody::Submit).unwrap();
    w.sync_all();
    assert_eq!(w.server_entity(iv).status(), Some("submitted"));
    w.approve(1, iv).unwrap();
    w.sync_all();
    assert_eq!(w.server_entity(iv).status(), Some("approved"));
    // Interviewers may not approve, reopen or resolve.
    let no = w.act(
        0,
        interview(iv),
        OpBody::Reopen {
            note: String::new(),
        },
    );
    assert_eq!(no.unwrap_err().code(), "no_permission");
    w.act(
        1,
        interview(iv),
        OpBody::Reopen {
            note: "recheck".into(),
        },
    )
    .unwrap();
    w.sync_all();
    let e = w.server_entity(iv);
    assert_eq!(e.status(), Some("in_progress"));
    assert_eq!(e.heads(STATUS_FIELD)[0].role, Role::Supervisor);
    assert_replicas_match_server(&w);
}

#[test]
fn releasing_a_replicate_twice_concurrently_releases_it_once() {
    let mut w = World::new(&[SUPERVISOR, SUPERVISOR], 1, false);
    w.sync_all();
    let s = w.seeded.sample;
    let release = || OpBody::ReleaseReplicate {
        stratum: "north".into(),
        replicate: 2,
        note: "low response".into(),
    };
    w.act(0, target(sync_core::sync::EntityKind::Sample, s), release())
        .unwrap();
    w.act(1, target(sync_core::sync::EntityKind::Sample, s), release())
        .unwrap();
    w.push_device(Some(0), usize::MAX, Delivery::Normal);
    let second = w.push_device(Some(1), usize::MAX, Delivery::Normal);
    assert!(matches!(second.acks[0].status, AckStatus::NoOp { .. }));
    w.sync_all();
    assert_eq!(
        w.server_entity(s).get("released/north"),
        Some(&FieldValue::Int(2))
    );
    assert_replicas_match_server(&w);
}

#[test]
fn an_edit_the_merge_refuses_is_refused_on_the_phone_and_not_stored() {
    let mut w = World::new(&[LISTER], 1, false);
    w.sync_all();
    let d = w.seeded.dwellings[0];
    let cases = [
        (
            "status_of_a_workflow",
            "_retired",
            text("x"),
            "system_field",
        ),
        (
            "non_finite",
            "area_m2",
            FieldValue::Float(f64::NAN),
            "bad_value",
        ),
        ("bad_path", "a//b", text("x"), "bad_field"),
        ("position_type", "position", text("here"), "bad_value"),
    ];
    for (name, field, value, code) in cases {
        let r = w.edit(0, dwelling(d), &[(field, value)]);
        assert_eq!(r.unwrap_err().code(), code, "{name}");
    }
    assert!(w.pending(0).is_empty());
    assert_eq!(
        w.act(0, dwelling(d), OpBody::Submit).unwrap_err().code(),
        "not_applicable"
    );
    assert!(matches!(
        w.edit(0, dwelling(d), &[("occupancy", text("vacant"))]),
        Ok(Verdict::Applied)
    ));
}
