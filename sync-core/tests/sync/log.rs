//! The server log: idempotent pushes, gaps, refusals kept and shown, scoped and paged pulls.

use crate::support::*;
use std::collections::BTreeSet;
use sync_core::sync::log::{Ack, AckStatus, EntityQuery, LogStore};
use sync_core::sync::{
    Change, DeviceId, EntityKind, FieldValue, MemoryLog, MergeContext, OpBody, OpId, Operation,
    Principal, PullRequest, PushRequest, Role, Scope, Target, UserId, pull, push,
};
use uuid::Uuid;

fn principal(n: u128, role: Role, scope: Scope) -> Principal {
    Principal {
        user: UserId::from_uuid(Uuid::from_u128(0xa000 + n)),
        device: DeviceId::from_uuid(Uuid::from_u128(0xd000 + n)),
        role,
        scope,
    }
}

fn op(who: &Principal, seq: u64, target: Target, base: u64, body: OpBody) -> Operation {
    Operation {
        op_id: OpId::from_uuid(Uuid::from_u128(
            (who.device.uuid().as_u128() << 32) + u128::from(seq),
        )),
        device_id: who.device,
        device_seq: seq,
        author: who.user,
        role: who.role.clone(),
        hlc: sync_core::sync::Hlc::at(T0 + seq),
        target,
        base_version: base,
        body,
        extra: Default::default(),
    }
}

fn create(scope: Uuid, pairs: &[(&str, FieldValue)]) -> OpBody {
    OpBody::Create {
        scope,
        fields: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    }
}

fn edit(field: &str, old: FieldValue, new: FieldValue) -> OpBody {
    OpBody::Edit {
        changes: vec![Change::new(field, old, new)],
    }
}

fn push_ops(log: &mut MemoryLog, who: &Principal, ops: Vec<Operation>) -> Vec<Ack> {
    let request = PushRequest {
        version: 1,
        device_id: who.device,
        ops,
        extra: Default::default(),
    };
    push(log, who, &request, &MergeContext::default())
        .expect("push")
        .acks
}

fn pull_from(
    log: &MemoryLog,
    who: &Principal,
    after: u64,
    known: &[Uuid],
    limit: u32,
) -> sync_core::sync::PullResponse {
    let request = PullRequest {
        version: 1,
        device_id: who.device,
        after,
        known_scopes: known.to_vec(),
        limit,
        extra: Default::default(),
    };
    pull(log, who, &request).expect("pull")
}

const AREA: Uuid = Uuid::from_u128(0xa4ea);
const OTHER_AREA: Uuid = Uuid::from_u128(0xa4eb);

fn dw(n: u128) -> Target {
    Target::new(EntityKind::Dwelling, Uuid::from_u128(0xd0_0000 + n))
}

#[test]
fn a_duplicate_push_returns_the_original_acknowledgement() {
    let mut log = MemoryLog::new();
    let lister = principal(1, Role::Lister, Scope::Keys([AREA].into()));
    let ops = vec![
        op(
            &lister,
            1,
            dw(1),
            0,
            create(AREA, &[("occupancy", text("occupied"))]),
        ),
        op(
            &lister,
            2,
            dw(1),
            1,
            edit("occupancy", text("occupied"), text("vacant")),
        ),
    ];
    let first = push_ops(&mut log, &lister, ops.clone());
    let state = log.get(dw(1).id).cloned();
    let last = log.last_seq().unwrap();
    // The same ops again, the second alone, and one under a new id but a used sequence number.
    assert_eq!(push_ops(&mut log, &lister, ops.clone()), first);
    assert_eq!(
        push_ops(&mut log, &lister, vec![ops[1].clone()]),
        vec![first[1].clone()]
    );
    let mut reused = ops[1].clone();
    reused.op_id = OpId::from_uuid(Uuid::from_u128(0xbad));
    assert_eq!(
        push_ops(&mut log, &lister, vec![reused]),
        vec![first[1].clone()]
    );
    assert_eq!(log.get(dw(1).id).cloned(), state);
    assert_eq!(log.last_seq().unwrap(), last, "nothing new in the log");
}

#[test]
fn a_gap_is_refused_with_the_expected_sequence_number_and_nothing_is_stored() {
    let mut log = MemoryLog::new();
    let lister = principal(1, Role::Lister, Scope::Keys([AREA].into()));
    let acks = push_ops(
        &mut log,
        &lister,
        vec![
            op(&lister, 1, dw(1), 0, create(AREA, &[])),
            op(&lister, 3, dw(2), 0, create(AREA, &[])),
        ],
    );
    assert!(matches!(acks[0].status, AckStatus::Applied { .. }));
    assert_eq!(acks[1].status, AckStatus::Gap { expected: 2 });
    assert!(log.get(dw(2).id).is_none());
    // Re-sent in order, both go through.
    let acks = push_ops(
        &mut log,
        &lister,
        vec![
            op(&lister, 2, dw(3), 0, create(AREA, &[])),
            op(&lister, 3, dw(2), 0, create(AREA, &[])),
        ],
    );
    assert!(
        acks.iter()
            .all(|a| matches!(a.status, AckStatus::Applied { .. }))
    );
}

#[test]
fn refused_operations_are_kept_and_shown_to_their_device_and_to_supervisors() {
    let mut log = MemoryLog::new();
    let keys: BTreeSet<Uuid> = [AREA].into();
    let lister = principal(1, Role::Lister, Scope::Keys(keys.clone()));
    let other = principal(2, Role::Lister, Scope::Keys(keys));
    let supervisor = principal(3, Role::Supervisor, Scope::All);
    push_ops(
        &mut log,
        &lister,
        vec![op(&lister, 1, dw(1), 0, create(AREA, &[]))],
    );
    let cases: Vec<(&str, Operation, &str)> = vec![
        (
            "workflow field",
            op(
                &lister,
                2,
                dw(1),
                1,
                edit("_retired", FieldValue::Null, text("x")),
            ),
            "system_field",
        ),
        (
            "bad value",
            op(
                &lister,
                3,
                dw(1),
                1,
                edit("position", FieldValue::Null, text("here")),
            ),
            "bad_value",
        ),
        (
            "unknown target",
            op(
                &lister,
                4,
                dw(9),
                0,
                edit("occupancy", FieldValue::Null, text("x")),
            ),
            "unknown_target",
        ),
        (
            "out of scope",
            op(&lister, 5, dw(8), 0, create(OTHER_AREA, &[])),
            "out_of_scope",
        ),
        (
            "no permission",
            op(
                &lister,
                6,
                Target::new(EntityKind::Interview, Uuid::from_u128(7)),
                0,
                OpBody::Approve { at_version: 1 },
            ),
            "no_permission",
        ),
        (
            "already exists",
            op(&lister, 7, dw(1), 0, create(AREA, &[])),
            "already_exists",
        ),
    ];
    let ops: Vec<Operation> = cases.iter().map(|(_, o, _)| o.clone()).collect();
    let acks = push_ops(&mut log, &lister, ops);
    for ((name, _, code), ack) in cases.iter().zip(&acks) {
        match &ack.status {
            AckStatus::Refused { reason, .. } => assert_eq!(reason.code, *code, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    // A forged author is refused too, and the device's sequence moves on.
    let mut forged = op(
        &lister,
        8,
        dw(1),
        1,
        edit("notes", FieldValue::Null, text("x")),
    );
    forged.author = other.user;
    let ack = push_ops(&mut log, &lister, vec![forged]);
    assert!(
        matches!(&ack[0].status, AckStatus::Refused { reason, .. } if reason.code == "author_mismatch")
    );

    let mine = pull_from(&log, &lister, 0, &[], 0);
    assert_eq!(mine.refusals.len(), cases.len() + 1);
    assert!(mine.refusals.iter().all(|r| !r.reason.message.is_empty()));
    assert!(
        pull_from(&log, &other, 0, &[], 0).refusals.is_empty(),
        "not another lister's business"
    );
    assert_eq!(
        pull_from(&log, &supervisor, 0, &[], 0).refusals.len(),
        cases.len() + 1
    );
    // Pulled after them, they do not come again.
    let again = pull_from(&log, &lister, mine.up_to, &[AREA], 0);
    assert!(again.refusals.is_empty() && again.entities.is_empty());
}

#[test]
fn pull_sends_only_the_scope_and_only_what_changed() {
    let mut log = MemoryLog::new();
    let admin = principal(9, Role::Admin, Scope::All);
    let lister = principal(1, Role::Lister, Scope::Keys([AREA].into()));
    push_ops(
        &mut log,
        &admin,
        vec![
            op(&admin, 1, dw(1), 0, create(AREA, &[])),
            op(&admin, 2, dw(2), 0, create(OTHER_AREA, &[])),
            op(&admin, 3, dw(3), 0, create(AREA, &[])),
        ],
    );
    let first = pull_from(&log, &lister, 0, &[], 0);
    let ids: BTreeSet<Uuid> = first.entities.iter().map(|e| e.id).collect();
    assert_eq!(ids, [dw(1).id, dw(3).id].into());
    assert!(first.complete);
    assert_eq!(first.scopes, vec![AREA]);
    push_ops(
        &mut log,
        &admin,
        vec![op(
            &admin,
            4,
            dw(3),
            1,
            edit("notes", FieldValue::Null, text("x")),
        )],
    );
    let next = pull_from(&log, &lister, first.up_to, &[AREA], 0);
    let ids: Vec<Uuid> = next.entities.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![dw(3).id], "only the changed one");

    // A newly assigned scope comes whole, even from before the cursor.
    let widened = principal(1, Role::Lister, Scope::Keys([AREA, OTHER_AREA].into()));
    let more = pull_from(&log, &widened, next.up_to, &[AREA], 0);
    let ids: Vec<Uuid> = more.entities.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![dw(2).id]);
}

#[test]
fn pull_pages_end_on_sequence_boundaries_and_cover_everything() {
    let mut log = MemoryLog::new();
    let admin = principal(9, Role::Admin, Scope::All);
    let mut ops = vec![op(&admin, 1, dw(1), 0, create(AREA, &[]))];
    ops.push(op(
        &admin,
        2,
        dw(1),
        1,
        OpBody::Split {
            parts: (10..14)
                .map(|n| sync_core::sync::Part::new(dw(n).id, Default::default()))
                .collect(),
        },
    ));
    for n in 20..25 {
        ops.push(op(&admin, n as u64, dw(n), 0, create(AREA, &[])));
    }
    // Renumber so that sequence numbers are gap-free.
    for (i, o) in ops.iter_mut().enumerate() {
        o.device_seq = i as u64 + 1;
    }
    push_ops(&mut log, &admin, ops);
    let mut seen = BTreeSet::new();
    let mut after = 0;
    let mut pages = 0;
    loop {
        let page = pull_from(&log, &admin, after, &[], 2);
        pages += 1;
        assert!(
            page.entities.len() <= 5,
            "a split's 5 entities share a sequence number"
        );
        seen.extend(page.entities.iter().map(|e| e.id));
        assert!(page.up_to >= after);
        after = page.up_to;
        if page.complete {
            break;
        }
        assert!(pages < 20);
    }
    assert_eq!(seen.len(), 1 + 4 + 5);
    let query = EntityQuery {
        scope: Scope::All,
        known: Default::default(),
        after: 0,
        up_to: log.last_seq().unwrap(),
        limit: 1,
    };
    let first = log.changed_entities(&query).unwrap();
    assert!(first.more);
}
