//! The phone store at the size of a busy interviewer's device: 10,000 dwellings (with their
//! buildings) and 500 interviews with answers, as the server would have sent them.
//!
//! `cargo bench -p mobile-bindings --bench store` prints the time to open the store (the
//! replica's whole state read from SQLite) and to answer one question with validation (session
//! rebuilt from the case's fields, form engine view, merge, one SQLite transaction). Targets: open
//! under 200 ms, answer under 2 ms.

use mobile_bindings::storage::SqliteStorage;
use mobile_bindings::{AnswerValue, FieldStore};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use sync_core::fieldwork::{self, CaseFields, field};
use sync_core::form::household::household_workbook;
use sync_core::form::xlsform::read_form;
use sync_core::sync::log::{MemoryLog, Principal, Scope};
use sync_core::sync::replica::Identity;
use sync_core::sync::{
    DeviceId, EntityKind, FieldValue, Hlc, MergeContext, OpBody, OpId, Operation, PullRequest,
    PushRequest, Replica, Role, Target, UserId, pull, push,
};
use uuid::Uuid;

const DWELLINGS: usize = 10_000;
const INTERVIEWS: usize = 500;

fn build(path: &std::path::Path) -> Vec<String> {
    let city = sync_core::synthetic::city(&sync_core::synthetic::CityOptions {
        areas: 50,
        buildings_per_area: 25,
        dwellings_per_building: 8,
        ..Default::default()
    });
    assert!(
        city.dwellings.len() >= DWELLINGS,
        "{}",
        city.dwellings.len()
    );
    let admin = Principal {
        user: UserId::from_uuid(Uuid::from_u128(0xad)),
        device: DeviceId::from_uuid(Uuid::from_u128(0x5e)),
        role: Role::Admin,
        scope: Scope::All,
    };
    let me = UserId::from_uuid(Uuid::from_u128(0x1001));
    let mut ops = Vec::new();
    let mut op = |kind: EntityKind, id: Uuid, scope: Uuid, fields: BTreeMap<String, FieldValue>| {
        let n = ops.len() as u64 + 1;
        ops.push(Operation {
            op_id: OpId::from_uuid(Uuid::from_u128(0x1_0000_0000 + u128::from(n))),
            device_id: admin.device,
            device_seq: n,
            author: admin.user,
            role: Role::Admin,
            hlc: Hlc::at(1_700_000_000_000 + n),
            target: Target::new(kind, id),
            base_version: 0,
            body: OpBody::Create { scope, fields },
            extra: Default::default(),
        });
    };
    let codes: BTreeMap<_, _> = city.areas.iter().map(|a| (a.id, a.code.clone())).collect();
    for b in &city.buildings {
        op(
            EntityKind::Building,
            b.id.uuid(),
            b.area.uuid(),
            fieldwork::building(b, &codes[&b.area]),
        );
    }
    for d in city.dwellings.iter().take(DWELLINGS) {
        op(
            EntityKind::Dwelling,
            d.id.uuid(),
            d.area.uuid(),
            fieldwork::dwelling(d, &codes[&d.area]),
        );
    }
    let mut cases = Vec::new();
    for (k, d) in city.dwellings.iter().take(INTERVIEWS).enumerate() {
        let case = Uuid::from_u128(0xca5e_0000 + k as u128);
        let mut f = CaseFields {
            area: d.area.uuid().to_string(),
            area_code: codes[&d.area].clone(),
            dwelling: d.id.uuid().to_string(),
            form: Some("household_2026".into()),
            stratum: "urban".into(),
            psu: codes[&d.area].clone(),
            stage_probs: vec![0.1, 0.2],
            base_weight: 50.0,
            ..Default::default()
        }
        .fields();
        f.insert(field::INTERVIEWER.into(), FieldValue::text(me.to_string()));
        f.insert("answers/consent".into(), FieldValue::text("yes"));
        f.insert("answers/province".into(), FieldValue::text("yunnan"));
        f.insert("answers/city".into(), FieldValue::text("kunming"));
        f.insert("answers/monthly_income".into(), FieldValue::Float(6500.5));
        op(EntityKind::Interview, case, case, f);
        cases.push(case.to_string());
    }
    let mut log = MemoryLog::new();
    for chunk in ops.chunks(1000) {
        let req = PushRequest {
            version: 1,
            device_id: admin.device,
            ops: chunk.to_vec(),
            extra: Default::default(),
        };
        push(&mut log, &admin, &req, &MergeContext::default()).unwrap();
    }
    let device = DeviceId::from_uuid(Uuid::from_u128(0xd1));
    let storage = SqliteStorage::open(path).unwrap();
    storage
        .set_settings(&[
            ("device_id", &device.to_string()),
            ("user_id", &me.to_string()),
            ("username", "int1"),
            ("role", "interviewer"),
            ("project", "bench"),
            ("server_url", "http://127.0.0.1:9"),
            ("token", "t"),
        ])
        .unwrap();
    let form = read_form(&household_workbook()).unwrap();
    storage
        .put_form(
            &form.settings.form_id,
            &form.settings.version,
            &serde_json::to_string(&form).unwrap(),
        )
        .unwrap();
    let identity = Identity {
        device,
        user: me,
        role: Role::Interviewer,
    };
    let mut replica = Replica::create(storage, identity, MergeContext::default()).unwrap();
    let who = Principal {
        user: me,
        device,
        role: Role::Interviewer,
        scope: Scope::All,
    };
    loop {
        let resp = pull(
            &log,
            &who,
            &PullRequest {
                limit: 0,
                ..replica.pull_request(0)
            },
        )
        .unwrap();
        replica.apply_pull(&resp).unwrap();
        if resp.complete {
            break;
        }
    }
    cases
}

fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[times.len() / 2])
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let t = Instant::now();
    let cases = build(&path);
    println!(
        "built a store of {DWELLINGS} dwellings and {INTERVIEWS} interviews in {:.1?}",
        t.elapsed()
    );
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(dir.path().join("phone.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!("store file: {:.1} MiB", size as f64 / (1 << 20) as f64);

    let p = path.display().to_string();
    {
        use sync_core::sync::ReplicaStorage;
        let storage = SqliteStorage::open(&path).unwrap();
        let (best, median) = best_of(7, || storage.load().unwrap());
        println!("load (read and decode the replica): best {best:>8.2?}  median {median:>8.2?}");
    }
    let (best, median) = best_of(7, || FieldStore::open(p.clone()).unwrap());
    println!(
        "open:   best {:>8.2?}  median {:>8.2?}  (target < 200 ms)",
        best, median
    );

    let store = FieldStore::open(p).unwrap();
    assert!(store.cases().unwrap().len() == INTERVIEWS);
    let case = cases[7].clone();
    store
        .start_interview(case.clone(), Some("zh".into()))
        .unwrap();
    store.go_to(case.clone(), "hh_size".into(), vec![]).unwrap();
    let mut n = 0i64;
    let (best, median) = best_of(200, || {
        n += 1;
        store
            .answer(case.clone(), AnswerValue::Integer { value: 1 + n % 20 })
            .unwrap()
    });
    println!(
        "answer: best {:>8.2?}  median {:>8.2?}  (target < 2 ms; validated, merged, committed)",
        best, median
    );
    let (best, median) = best_of(200, || {
        store
            .answer(case.clone(), AnswerValue::Integer { value: 99 })
            .unwrap_err()
    });
    println!(
        "answer refused by its constraint: best {:>8.2?}  median {:>8.2?}",
        best, median
    );
    let (best, median) = best_of(50, || {
        store
            .next(case.clone())
            .and_then(|_| store.previous(case.clone()))
            .unwrap()
    });
    println!(
        "next + previous: best {:>8.2?}  median {:>8.2?}",
        best, median
    );
}
