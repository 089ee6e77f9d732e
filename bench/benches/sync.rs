//! Sync benchmark: the same field-edit workload merged by mapframe and by Automerge, side by side.
//!
//! Workload: 1,000 households with 20 answers each, all synced to three phones. Offline, each
//! phone edits 20 answers of every household (household by household, as an interviewer works),
//! so that phones often edit the same answers concurrently. The server then merges the three
//! phones' edits, one phone after the other.
//!
//! * mapframe: one entity per household; the server merges each operation with `merge_into`.
//! * Automerge: one document per household (the `automerge` crate); each phone's document is a
//!   fork of the base, one change per edit (what an app committing each answer produces); the
//!   server applies each phone's changes to its documents with `apply_changes`.
//!
//! Printed: merged field operations per second for both and the ratio; bytes per operation on the
//! wire — mapframe's compressed binary `PushRequest` in batches of 200 operations against the
//! Automerge changes for the same edits (as sent, and deflated per batch, for fairness) — and the
//! ratios. Target: at least 1M field ops/s merged by mapframe and fewer bytes per op than
//! Automerge. Each timing is the best of several runs on one thread.
//!
//! Run: `cargo bench -p mapframe-bench --bench sync`.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ROOT};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use sync_core::random::Stream;
use sync_core::sync::entity::Entity;
use sync_core::sync::{
    Change, DeviceId, EntityKind, FieldValue, Hlc, IdMint, MergeContext, OpBody, Operation,
    PushRequest, Role, Target, UserId, Verdict, encode_binary, merge_into,
};
use uuid::Uuid;

const HOUSEHOLDS: usize = 1_000;
const FIELDS: usize = 20;
const DEVICES: usize = 3;
const EDITS_PER_HOUSEHOLD: usize = 20;
const BATCH: usize = 200;
const T0: u64 = 1_767_225_600_000;

fn field(i: usize) -> String {
    format!("answers/q{i:02}")
}

/// A plausible answer: a number or one of a few words.
fn answer(s: &mut Stream) -> FieldValue {
    const WORDS: [&str; 6] = ["yes", "no", "don't know", "refused", "rented", "owned"];
    if s.chance(0.6) {
        FieldValue::Int(s.below(120) as i64)
    } else {
        FieldValue::text(WORDS[s.below(WORDS.len() as u64) as usize])
    }
}

/// One edit by one phone: household, field, new value.
#[derive(Clone)]
struct Edit {
    household: usize,
    field: usize,
    value: FieldValue,
}

struct Workload {
    households: Vec<Uuid>,
    base: Vec<Vec<FieldValue>>,
    /// Per device, its edits in the order it made them.
    edits: Vec<Vec<Edit>>,
}

fn workload() -> Workload {
    let mut s = Stream::new(20_260_101);
    let mut mint = IdMint::new(7);
    let households = (0..HOUSEHOLDS).map(|_| mint.uuid(T0)).collect();
    let base: Vec<Vec<FieldValue>> = (0..HOUSEHOLDS)
        .map(|_| (0..FIELDS).map(|_| answer(&mut s)).collect())
        .collect();
    let edits = (0..DEVICES)
        .map(|_| {
            let mut order: Vec<usize> = (0..HOUSEHOLDS).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, s.below(i as u64 + 1) as usize);
            }
            // Every edit changes the value the phone shows (an app does not send non-changes).
            let mut shown: Vec<Vec<FieldValue>> = base.clone();
            let mut out = Vec::with_capacity(HOUSEHOLDS * EDITS_PER_HOUSEHOLD);
            for h in order {
                for _ in 0..EDITS_PER_HOUSEHOLD {
                    let f = s.below(FIELDS as u64) as usize;
                    let mut value = answer(&mut s);
                    while value == shown[h][f] {
                        value = answer(&mut s);
                    }
                    shown[h][f] = value.clone();
                    out.push(Edit {
                        household: h,
                        field: f,
                        value,
                    });
                }
            }
            out
        })
        .collect();
    Workload {
        households,
        base,
        edits,
    }
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> (Duration, T)) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let (d, r) = f();
        best = best.min(d);
        out = Some(r);
    }
    (best, out.expect("one run"))
}

// ----- mapframe -------------------------------------------------------------------------------

struct Mapframe {
    base: HashMap<Uuid, Option<Entity>>,
    /// Per device, its operations in order.
    ops: Vec<Vec<Operation>>,
}

fn mapframe_setup(w: &Workload) -> Mapframe {
    let ctx = MergeContext::default();
    let area = Uuid::from_u128(0xa4ea);
    let admin = DeviceId::from_uuid(Uuid::from_u128(0xd000));
    let mut mint = IdMint::new(11);
    let mut base = HashMap::new();
    for (i, id) in w.households.iter().enumerate() {
        let op = Operation {
            op_id: mint.op_id(T0),
            device_id: admin,
            device_seq: i as u64 + 1,
            author: UserId::from_uuid(Uuid::from_u128(0xa000)),
            role: Role::Admin,
            hlc: Hlc::at(T0),
            target: Target::new(EntityKind::Household, *id),
            base_version: 0,
            body: OpBody::Create {
                scope: area,
                fields: w.base[i]
                    .iter()
                    .enumerate()
                    .map(|(f, v)| (field(f), v.clone()))
                    .collect(),
            },
            extra: Default::default(),
        };
        let mut slot = None;
        merge_into(&mut slot, &op, &ctx);
        base.insert(*id, slot);
    }
    let ops = w
        .edits
        .iter()
        .enumerate()
        .map(|(d, edits)| {
            let device = DeviceId::from_uuid(Uuid::from_u128(0xd001 + d as u128));
            let author = UserId::from_uuid(Uuid::from_u128(0xa001 + d as u128));
            // What the phone shows: the base, then its own edits.
            let mut shown: HashMap<(usize, usize), FieldValue> = HashMap::new();
            edits
                .iter()
                .enumerate()
                .map(|(k, e)| {
                    let old = shown
                        .insert((e.household, e.field), e.value.clone())
                        .unwrap_or_else(|| w.base[e.household][e.field].clone());
                    let now = T0 + 1_000 * k as u64;
                    Operation {
                        op_id: mint.op_id(now),
                        device_id: device,
                        device_seq: k as u64 + 1,
                        author,
                        role: Role::Interviewer,
                        hlc: Hlc::at(now),
                        target: Target::new(EntityKind::Household, w.households[e.household]),
                        base_version: 1,
                        body: OpBody::Edit {
                            changes: vec![Change::new(field(e.field), old, e.value.clone())],
                        },
                        extra: Default::default(),
                    }
                })
                .collect()
        })
        .collect();
    Mapframe { base, ops }
}

/// Merges every phone's operations into a copy of the base; returns the time and the conflicts.
fn mapframe_merge(m: &Mapframe) -> (Duration, usize) {
    let ctx = MergeContext::default();
    let mut state = m.base.clone();
    let t = Instant::now();
    let mut conflicts = 0;
    for ops in &m.ops {
        for op in ops {
            if let Some(slot) = state.get_mut(&op.target.id) {
                let merged = merge_into(slot, op, &ctx);
                if let Verdict::Conflict { .. } = merged.verdict {
                    conflicts += 1;
                }
            }
        }
    }
    let d = t.elapsed();
    let open: usize = state
        .values()
        .flatten()
        .map(|e| e.open_conflicts().count())
        .sum();
    std::hint::black_box(conflicts);
    (d, open)
}

fn mapframe_wire_bytes(m: &Mapframe) -> usize {
    m.ops
        .iter()
        .flat_map(|ops| ops.chunks(BATCH))
        .map(|batch| {
            let request = PushRequest {
                version: 1,
                device_id: batch[0].device_id,
                ops: batch.to_vec(),
                extra: Default::default(),
            };
            encode_binary(&request).expect("encode").len()
        })
        .sum()
}

// ----- Automerge ------------------------------------------------------------------------------

struct Am {
    /// The base document of each household and its heads.
    base: Vec<(AutoCommit, Vec<ChangeHash>)>,
    /// Per device, per edit (in order), the change it produced.
    changes: Vec<Vec<(usize, automerge::Change)>>,
}

fn put(doc: &mut AutoCommit, key: &str, v: &FieldValue) {
    let r = match v {
        FieldValue::Int(n) => doc.put(ROOT, key, *n),
        FieldValue::Text(t) => doc.put(ROOT, key, t.as_str()),
        _ => doc.put(ROOT, key, ()),
    };
    r.expect("automerge put");
}

fn automerge_setup(w: &Workload) -> Am {
    let base: Vec<(AutoCommit, Vec<ChangeHash>)> = (0..HOUSEHOLDS)
        .map(|h| {
            let mut doc = AutoCommit::new().with_actor(ActorId::from(b"server".to_vec()));
            for (f, v) in w.base[h].iter().enumerate() {
                put(&mut doc, &field(f), v);
            }
            doc.commit();
            let heads = doc.get_heads();
            (doc, heads)
        })
        .collect();
    let changes = w
        .edits
        .iter()
        .enumerate()
        .map(|(d, edits)| {
            let mut docs: HashMap<usize, AutoCommit> = HashMap::new();
            let mut out = Vec::with_capacity(edits.len());
            for e in edits {
                let doc = docs.entry(e.household).or_insert_with(|| {
                    base[e.household]
                        .0
                        .clone()
                        .fork()
                        .with_actor(ActorId::from(format!("phone-{d}").into_bytes()))
                });
                put(doc, &field(e.field), &e.value);
                let hash = doc.commit().expect("a change per edit");
                let change = doc.get_change_by_hash(&hash).expect("the change just made");
                out.push((e.household, change));
            }
            out
        })
        .collect();
    Am { base, changes }
}

fn automerge_merge(a: &Am) -> (Duration, usize) {
    let mut servers: Vec<AutoCommit> = a.base.iter().map(|(d, _)| d.clone().fork()).collect();
    // Each phone's changes, grouped per document as a push would carry them.
    let pushes: Vec<Vec<(usize, Vec<automerge::Change>)>> = a
        .changes
        .iter()
        .map(|changes| {
            let mut per: Vec<(usize, Vec<automerge::Change>)> = Vec::new();
            for (h, c) in changes {
                match per.last_mut() {
                    Some((last, v)) if last == h => v.push(c.clone()),
                    _ => per.push((*h, vec![c.clone()])),
                }
            }
            per
        })
        .collect();
    let t = Instant::now();
    for push in pushes {
        for (h, changes) in push {
            servers[h].apply_changes(changes).expect("apply");
        }
    }
    let d = t.elapsed();
    // Automerge keeps concurrent values too: count fields with more than one.
    let mut conflicted = 0;
    for doc in &servers {
        for f in 0..FIELDS {
            use automerge::ReadDoc;
            if doc
                .get_all(ROOT, field(f).as_str())
                .map(|v| v.len())
                .unwrap_or(0)
                > 1
            {
                conflicted += 1;
            }
        }
    }
    (d, conflicted)
}

fn automerge_wire_bytes(a: &Am) -> (usize, usize) {
    let mut raw = 0;
    let mut deflated = 0;
    for changes in &a.changes {
        for batch in changes.chunks(BATCH) {
            let bytes: Vec<u8> = batch
                .iter()
                .flat_map(|(_, c)| c.raw_bytes().to_vec())
                .collect();
            raw += bytes.len();
            deflated += miniz_oxide::deflate::compress_to_vec_zlib(&bytes, 6).len();
        }
    }
    (raw, deflated)
}

fn main() {
    let w = workload();
    let total_ops: usize = w.edits.iter().map(Vec::len).sum();
    println!(
        "workload: {HOUSEHOLDS} households x {FIELDS} answers, {DEVICES} phones x \
         {EDITS_PER_HOUSEHOLD} edits per household = {total_ops} field edits, merged concurrently"
    );

    let t = Instant::now();
    let m = mapframe_setup(&w);
    println!(
        "mapframe: built {} operations in {:.0} ms",
        total_ops,
        t.elapsed().as_secs_f64() * 1e3
    );
    let (mf_time, mf_open) = best_of(7, || mapframe_merge(&m));
    let mf_rate = total_ops as f64 / mf_time.as_secs_f64();
    let mf_bytes = mapframe_wire_bytes(&m);

    let t = Instant::now();
    let a = automerge_setup(&w);
    println!(
        "automerge: built {} changes in {:.0} ms",
        total_ops,
        t.elapsed().as_secs_f64() * 1e3
    );
    let (am_time, am_conflicted) = best_of(3, || automerge_merge(&a));
    let am_rate = total_ops as f64 / am_time.as_secs_f64();
    let (am_raw, am_deflated) = automerge_wire_bytes(&a);

    let per = |b: usize| b as f64 / total_ops as f64;
    println!();
    println!(
        "{:<44} {:>14} {:>14} {:>10}",
        "", "mapframe", "automerge", "ratio"
    );
    println!(
        "{:<44} {:>14.0} {:>14.0} {:>9.1}x",
        "merged field ops/s (best run)",
        mf_rate,
        am_rate,
        mf_rate / am_rate
    );
    println!(
        "{:<44} {:>14.2} {:>14.2}",
        "merge time, ms",
        mf_time.as_secs_f64() * 1e3,
        am_time.as_secs_f64() * 1e3
    );
    println!(
        "{:<44} {:>14.1} {:>14.1} {:>9.2}x",
        "wire bytes/op (mapframe binary vs changes)",
        per(mf_bytes),
        per(am_raw),
        per(am_raw) / per(mf_bytes)
    );
    println!(
        "{:<44} {:>14.1} {:>14.1} {:>9.2}x",
        "wire bytes/op (changes deflated per batch)",
        per(mf_bytes),
        per(am_deflated),
        per(am_deflated) / per(mf_bytes)
    );
    println!(
        "{:<44} {:>14} {:>14}",
        "fields left with concurrent values", mf_open, am_conflicted
    );
    println!();
    let ok_rate = mf_rate >= 1e6;
    let ok_bytes = mf_bytes < am_raw;
    println!(
        "target >= 1M field ops/s merged: {} ({:.2}M); fewer bytes/op than Automerge: {}",
        if ok_rate { "met" } else { "MISSED" },
        mf_rate / 1e6,
        if ok_bytes { "met" } else { "MISSED" }
    );
}
