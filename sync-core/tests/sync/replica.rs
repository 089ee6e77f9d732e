//! A phone's replica: one-step local edits, restarts from storage, synced only when everything is
//! acknowledged and pulled back.

use crate::support::*;
use sync_core::sync::{AckStatus, FieldValue, OpBody, Role, Verdict};

#[test]
fn a_local_edit_is_shown_at_once_and_waits_in_the_outbox() {
    let mut w = World::new(&[Role::Lister], 1, false);
    w.sync_all();
    assert!(w.dev(0).replica().is_synced());
    let d = w.seeded.dwellings[0];
    w.edit(0, dwelling(d), &[("occupancy", text("vacant"))])
        .unwrap();
    let r = w.devices[0].replica();
    assert_eq!(r.entity(d).unwrap().get("occupancy"), Some(&text("vacant")));
    assert_eq!(
        r.mirror(d).unwrap().get("occupancy"),
        Some(&text("occupied")),
        "the mirror is the server's"
    );
    assert_eq!(r.outbox().len(), 1);
    assert_eq!(r.outbox()[0].op.base_version, r.mirror(d).unwrap().version);
    assert!(!r.is_synced());
}

#[test]
fn not_synced_until_acknowledged_and_pulled_back() {
    let mut w = World::new(&[Role::Lister], 1, false);
    w.sync_all();
    let d = w.seeded.dwellings[0];
    w.edit(0, dwelling(d), &[("notes", text("gate code 1234"))])
        .unwrap();
    w.push_device(Some(0), usize::MAX, Delivery::Normal);
    let r = w.devices[0].replica();
    assert!(r.outbox()[0].ack.is_some(), "acknowledged");
    assert!(!r.is_synced(), "but its effect has not come back yet");
    assert_eq!(
        r.entity(d).unwrap().get("notes"),
        Some(&text("gate code 1234"))
    );
    w.pull_all(0);
    let r = w.devices[0].replica();
    assert!(r.is_synced());
    assert!(r.outbox().is_empty());
    assert_eq!(r.entity(d), w.server.get(d));
}

#[test]
fn a_lost_acknowledgement_is_made_good_by_a_pull_or_a_second_push() {
    for pull_first in [true, false] {
        let mut w = World::new(&[Role::Lister], 1, false);
        w.sync_all();
        let d = w.seeded.dwellings[0];
        w.edit(0, dwelling(d), &[("notes", text("x"))]).unwrap();
        w.act(0, dwelling(d), OpBody::Delete).unwrap();
        let lost = w.push_device(Some(0), usize::MAX, Delivery::LoseAck);
        assert_eq!(w.pending(0).len(), 2);
        if pull_first {
            // The pull shows the server has both: they leave the outbox without an ack.
            w.pull_all(0);
        } else {
            let again = w.push_device(Some(0), usize::MAX, Delivery::Normal);
            assert_eq!(again, lost, "the same acknowledgements");
            w.pull_all(0);
        }
        let r = w.devices[0].replica();
        assert!(r.is_synced(), "pull first: {pull_first}");
        assert!(r.entity(d).unwrap().deleted);
    }
}

#[test]
fn a_restart_keeps_the_outbox_the_mirror_and_what_is_shown() {
    let mut w = World::new(&[Role::Interviewer], 1, false);
    w.sync_all();
    let iv = w.seeded.interviews[0];
    w.edit(0, interview(iv), &[("answers/age", FieldValue::Int(41))])
        .unwrap();
    w.act(0, interview(iv), OpBody::Submit).unwrap();
    // Half of it reaches the server; the acknowledgement is lost with the app.
    w.push_device(Some(0), 1, Delivery::LoseAck);
    let before = w.dev(0).replica().entity(iv).cloned();
    let outbox = w.dev(0).replica().outbox().to_vec();
    let ctx = w.ctx;
    w.dev(0).restart(ctx);
    let r = w.devices[0].replica();
    assert_eq!(r.entity(iv).cloned(), before);
    assert_eq!(r.outbox(), outbox.as_slice());
    // It carries on where it was: the next op takes the next sequence number.
    w.edit(
        0,
        interview(iv),
        &[("answers/income", FieldValue::Int(9000))],
    )
    .unwrap();
    let seqs: Vec<u64> = w.pending(0).iter().map(|e| e.op.device_seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    w.sync(0);
    let r = w.devices[0].replica();
    assert!(r.is_synced());
    assert_eq!(r.entity(iv), w.server.get(iv));
    assert_eq!(w.server_entity(iv).status(), Some("submitted"));
    assert_eq!(
        w.server_entity(iv).get("answers/age"),
        Some(&FieldValue::Int(41))
    );
}

#[test]
fn operations_the_server_refuses_move_to_the_refused_list_with_their_reason() {
    let mut w = World::new(&[Role::Interviewer], 1, false);
    w.sync_all();
    let iv = w.seeded.interviews[0];
    w.edit(0, interview(iv), &[("answers/age", FieldValue::Int(41))])
        .unwrap();
    // The op as an older or tampered phone might send it: a role the account does not hold.
    let mut op = w.pending(0)[0].op.clone();
    op.role = Role::Supervisor;
    let ctx = w.ctx;
    let ack = w.push_ops(Some(0), vec![op], Delivery::LoseAck, ctx);
    assert!(
        matches!(&ack.acks[0].status, AckStatus::Refused { reason, .. } if reason.code == "role_not_held")
    );
    // The phone learns it from the pull, even though the acknowledgement was lost.
    w.pull_all(0);
    let r = w.devices[0].replica();
    assert_eq!(r.refused().len(), 1);
    assert_eq!(r.refused()[0].reason.code, "role_not_held");
    assert!(r.outbox().is_empty());
    assert!(r.is_synced());
    assert_eq!(
        r.entity(iv).unwrap().get("answers/age"),
        None,
        "shown as the server has it"
    );
}

#[test]
fn an_action_that_changes_nothing_is_not_stored() {
    let mut w = World::new(&[Role::Interviewer], 1, true);
    w.sync_all();
    let iv = w.seeded.interviews[0];
    let v = w.act(0, interview(iv), OpBody::Submit).unwrap();
    assert_eq!(v, Verdict::NoOp, "already submitted");
    assert!(w.pending(0).is_empty());
    assert!(w.dev(0).replica().is_synced());
}

#[test]
fn entities_of_a_scope_no_longer_assigned_are_dropped() {
    let mut w = World::new(&[Role::Interviewer], 2, false);
    w.sync_all();
    let (keep, drop) = (w.seeded.interviews[0], w.seeded.interviews[1]);
    assert!(w.dev(0).replica().entity(drop).is_some());
    if let sync_core::sync::Scope::Keys(keys) = &mut w.dev(0).principal.scope {
        keys.remove(&drop);
    }
    w.pull_all(0);
    let r = w.devices[0].replica();
    assert!(r.entity(drop).is_none());
    assert!(r.entity(keep).is_some());
    assert!(!r.meta().known_scopes.contains(&drop));
}
