//! Ingest benchmark of the sync server: a real `mapframe serve`, 50 simulated phones (threads)
//! pushing interviews over HTTP, on SQLite and on PostgreSQL.
//!
//! ```text
//! cargo build --release --bin mapframe
//! cargo run --release -p mapframe-bench --bin server_bench [-- sqlite|postgres|both|coverage]
//! ```
//!
//! Each phone pushes interviews, one push per interview: a `create` of the case, then its 250
//! answers as edits of `ANSWERS_PER_OP` answers each, then `submit`. Printed: interviews/s,
//! operations/s, p50/p99 push latency; then the latency of a first pull by an interviewer whose
//! area holds 2,000 dwellings. Settings through the environment: `PHONES` (50),
//! `INTERVIEWS_PER_PHONE` (20), `ANSWERS` (250), `ANSWERS_PER_OP` (10).
//!
//! `coverage`: a project of `AREAS` (1,000) areas of ~1,000 dwellings imported through the
//! listing endpoint, then the latency of `GET coverage` and `GET coverage.geojson`.

use mapframe_e2e::http::Client;
use mapframe_e2e::pg::PgCluster;
use mapframe_e2e::server::{ServerProcess, add_user, fresh_pg_database, migrate};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use sync_core::sync::log::AckStatus;
use sync_core::sync::{
    Change, DeviceId, EntityKind, FieldValue, Hlc, OpBody, OpId, Operation, PullRequest,
    PullResponse, PushAck, PushRequest, Role, Target, UserId, decode_json, encode_json,
};
use uuid::Uuid;

const PASSWORD: &str = "a long secret";
const T0: u64 = 1_777_624_200_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Settings {
    phones: usize,
    interviews: usize,
    answers: usize,
    per_op: usize,
}

fn sign_in(server: &ServerProcess, user: &str, device: Uuid) -> Client {
    server
        .client()
        .sign_in_with(&serde_json::json!({"username": user, "password": PASSWORD,
                                          "device_id": device.to_string()}))
        .unwrap_or_else(|r| panic!("sign in: {r}"))
}

/// A phone's outbox for one push: pushes JSON, returns the acknowledgement and the latency.
fn push(client: &Client, project: &str, request: &PushRequest) -> (PushAck, Duration) {
    let body = encode_json(request).expect("encode").into_bytes();
    let start = Instant::now();
    let reply = client.post_raw(
        &format!("/api/v1/projects/{project}/sync/push"),
        "application/json",
        body,
    );
    let took = start.elapsed();
    assert_eq!(reply.status, 200, "{reply}");
    (decode_json(&reply.bytes).expect("an ack"), took)
}

struct Device {
    id: DeviceId,
    user: UserId,
    role: Role,
    seq: u64,
}

impl Device {
    fn op(&mut self, target: Target, base_version: u64, body: OpBody) -> Operation {
        self.seq += 1;
        Operation {
            op_id: OpId::from_uuid(Uuid::now_v7()),
            device_id: self.id,
            device_seq: self.seq,
            author: self.user,
            role: self.role.clone(),
            hlc: Hlc::at(T0 + self.seq),
            target,
            base_version,
            body,
            extra: Default::default(),
        }
    }
    fn request(&self, ops: Vec<Operation>) -> PushRequest {
        PushRequest {
            version: 1,
            device_id: self.id,
            ops,
            extra: Default::default(),
        }
    }
}

fn user_id(client: &Client) -> UserId {
    let me = client.get("/api/v1/me").json();
    UserId::from_uuid(me["user"]["id"].as_str().unwrap().parse().unwrap())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn run(backend: &str, db: &str, s: &Settings) {
    migrate(db);
    add_user(db, "admin", "admin", None, PASSWORD);
    add_user(db, "int", "interviewer", Some("north"), PASSWORD);
    let server = ServerProcess::start(db).unwrap_or_else(|e| panic!("{e}"));
    let admin = server.client().sign_in("admin", PASSWORD).unwrap();
    let project = admin
        .post(
            "/api/v1/projects",
            &serde_json::json!({"code": "bench", "name": "Bench"}),
        )
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The interviewer's area: 2,000 dwellings and an assignment, created by the administrator.
    let area = Uuid::now_v7();
    let seeder_id = Uuid::now_v7();
    let seeder = sign_in(&server, "admin", seeder_id);
    let int = sign_in(&server, "int", Uuid::now_v7());
    let int_id = user_id(&int);
    let mut dev = Device {
        id: DeviceId::from_uuid(seeder_id),
        user: user_id(&seeder),
        role: Role::Admin,
        seq: 0,
    };
    let mut ops = vec![
        dev.op(
            Target::new(EntityKind::Assignment, Uuid::now_v7()),
            0,
            OpBody::Create {
                scope: area,
                fields: [
                    ("interviewer".into(), FieldValue::text(int_id.to_string())),
                    ("area".into(), FieldValue::text(area.to_string())),
                    ("task".into(), FieldValue::text("interviewing")),
                ]
                .into(),
            },
        ),
    ];
    for n in 0..2_000 {
        ops.push(
            dev.op(
                Target::new(EntityKind::Dwelling, Uuid::now_v7()),
                0,
                OpBody::Create {
                    scope: area,
                    fields: [
                        ("area".into(), FieldValue::text(area.to_string())),
                        ("listing_number".into(), FieldValue::Int(n)),
                        ("occupancy".into(), FieldValue::text("occupied")),
                        ("households".into(), FieldValue::Int(1)),
                    ]
                    .into(),
                },
            ),
        );
    }
    for chunk in ops.chunks(500) {
        push(&seeder, &project, &dev.request(chunk.to_vec()));
    }

    // Ingest: every phone pushes its interviews, one push per interview. Phones sign in first
    // (an Argon2id hash each, on purpose slow) and the clock starts when all are ready.
    let phones: Vec<(Uuid, Client)> = (0..s.phones)
        .map(|_| {
            let device = Uuid::now_v7();
            (device, sign_in(&server, "admin", device))
        })
        .collect();
    let start = Instant::now();
    let latencies: Vec<Vec<Duration>> = std::thread::scope(|scope| {
        let handles: Vec<_> = phones
            .into_iter()
            .map(|(device, client)| {
                let project = &project;
                scope.spawn(move || {
                    let mut dev = Device {
                        id: DeviceId::from_uuid(device),
                        user: user_id(&client),
                        role: Role::Admin,
                        seq: 0,
                    };
                    let mut took = Vec::with_capacity(s.interviews);
                    for _ in 0..s.interviews {
                        let case = Uuid::now_v7();
                        let target = Target::new(EntityKind::Interview, case);
                        let mut ops = vec![dev.op(
                            target.clone(),
                            0,
                            OpBody::Create {
                                scope: case,
                                fields: [("status".into(), FieldValue::text("assigned"))].into(),
                            },
                        )];
                        let mut q = 0;
                        while q < s.answers {
                            let changes = (q..(q + s.per_op).min(s.answers))
                                .map(|k| {
                                    Change::new(
                                        format!("answers/q{k}"),
                                        FieldValue::Null,
                                        FieldValue::Int(k as i64),
                                    )
                                })
                                .collect();
                            q += s.per_op;
                            ops.push(dev.op(target.clone(), 1, OpBody::Edit { changes }));
                        }
                        ops.push(dev.op(target.clone(), 1, OpBody::Submit));
                        let (ack, t) = push(&client, project, &dev.request(ops));
                        assert!(
                            ack.acks.iter().all(|a| !matches!(
                                a.status,
                                AckStatus::Refused { .. } | AckStatus::Gap { .. }
                            )),
                            "{:?}",
                            ack.acks
                                .iter()
                                .find(|a| matches!(a.status, AckStatus::Refused { .. }))
                        );
                        took.push(t);
                    }
                    took
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = start.elapsed();
    let mut all: Vec<Duration> = latencies.into_iter().flatten().collect();
    all.sort();
    let interviews = all.len();
    let ops_per = 2 + s.answers.div_ceil(s.per_op);
    println!(
        "{backend}: {interviews} interviews ({} ops each, {} answers) from {} phones in {:.2} s: \
         {:.0} interviews/s, {:.0} ops/s; push latency p50 {:.1} ms, p99 {:.1} ms",
        ops_per,
        s.answers,
        s.phones,
        elapsed.as_secs_f64(),
        interviews as f64 / elapsed.as_secs_f64(),
        (interviews * ops_per) as f64 / elapsed.as_secs_f64(),
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
    );

    // Pull: a new phone of the interviewer gets its area (2,000 dwellings and the assignment).
    let mut pulls = Vec::new();
    let mut entities = 0;
    for _ in 0..5 {
        let device = Uuid::now_v7();
        let phone = sign_in(&server, "int", device);
        let mut request = PullRequest {
            version: 1,
            device_id: DeviceId::from_uuid(device),
            after: 0,
            known_scopes: Vec::new(),
            limit: 0,
            extra: Default::default(),
        };
        let start = Instant::now();
        let mut got: BTreeMap<Uuid, ()> = BTreeMap::new();
        loop {
            let reply = phone.post_raw(
                &format!("/api/v1/projects/{project}/sync/pull"),
                "application/json",
                encode_json(&request).unwrap().into_bytes(),
            );
            assert_eq!(reply.status, 200, "{reply}");
            let page: PullResponse = decode_json(&reply.bytes).unwrap();
            got.extend(page.entities.iter().map(|e| (e.id, ())));
            if page.complete {
                break;
            }
            request.after = page.up_to;
            request.known_scopes = page.scopes.clone();
        }
        pulls.push(start.elapsed());
        entities = got.len();
    }
    pulls.sort();
    println!(
        "{backend}: first pull of an interviewer's area ({entities} entities): p50 {:.1} ms, \
         max {:.1} ms",
        percentile(&pulls, 0.5).as_secs_f64() * 1e3,
        pulls.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

/// Coverage of a large project: `AREAS` areas of about 1,000 dwellings each (1,000 areas: 1M
/// dwellings), imported area by area through the listing endpoint, frozen, sampled (50 PSUs × 20
/// dwellings); then the latency of the coverage report and of the coverage map over HTTP.
fn coverage(backend: &str, db: &str) {
    use sync_core::listing::geojson::{ExportOptions, write_listing};
    use sync_core::synthetic::{CityOptions, city};
    let areas = env("AREAS", 1_000);
    migrate(db);
    add_user(db, "admin", "admin", None, PASSWORD);
    let server = ServerProcess::start(db).unwrap_or_else(|e| panic!("{e}"));
    // Freezing a million dwellings takes longer than the client's usual minute.
    let admin = server
        .client()
        .sign_in("admin", PASSWORD)
        .unwrap()
        .with_timeout(Duration::from_secs(1800));
    let project = admin
        .post(
            "/api/v1/projects",
            &serde_json::json!({"code": "big", "name": "Big"}),
        )
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let listing = city(&CityOptions {
        areas,
        buildings_per_area: 100,
        dwellings_per_building: 10,
        ..CityOptions::default()
    });
    let start = Instant::now();
    for area in &listing.areas {
        let part = sync_core::listing::Listing {
            areas: vec![area.clone()],
            buildings: listing
                .buildings
                .iter()
                .filter(|b| b.area == area.id)
                .cloned()
                .collect(),
            dwellings: listing
                .dwellings
                .iter()
                .filter(|d| d.area == area.id)
                .cloned()
                .collect(),
            households: Vec::new(),
        };
        let reply = admin.post_raw(
            &format!("/api/v1/projects/{project}/listing"),
            "application/geo+json",
            write_listing(&part, &ExportOptions::default()).into_bytes(),
        );
        assert_eq!(reply.status, 201, "{reply}");
    }
    let imported = start.elapsed();
    let frame = admin.post(
        &format!("/api/v1/projects/{project}/frames"),
        &serde_json::json!({}),
    );
    assert_eq!(frame.status, 201, "{frame}");
    let sample = admin.post(
        &format!("/api/v1/projects/{project}/samples"),
        &serde_json::json!({"seed": 1, "design": {
            "psu": {"draw": {"size": {"total": 50.min(areas)}, "allocation": {"method": "proportional"}, "certainty": true}},
            "segment": false, "take": 20, "include_vacant": true, "household": "one"}}),
    );
    assert_eq!(sample.status, 201, "{sample}");
    println!(
        "{backend}: imported {} dwellings in {} areas through the listing endpoint in {:.1} s \
         ({:.0} dwellings/s); frozen and sampled ({} cases)",
        listing.dwellings.len(),
        areas,
        imported.as_secs_f64(),
        listing.dwellings.len() as f64 / imported.as_secs_f64(),
        sample.json()["cases"],
    );
    for (what, path) in [("report", "coverage"), ("map", "coverage.geojson")] {
        let mut took = Vec::new();
        let mut bytes = 0;
        for _ in 0..3 {
            let start = Instant::now();
            let reply = admin.get(&format!("/api/v1/projects/{project}/{path}"));
            assert_eq!(reply.status, 200, "{reply}");
            took.push(start.elapsed());
            bytes = reply.bytes.len();
        }
        took.sort();
        println!(
            "{backend}: coverage {what} of {} dwellings: p50 {:.0} ms, max {:.0} ms ({} bytes)",
            listing.dwellings.len(),
            percentile(&took, 0.5).as_secs_f64() * 1e3,
            took.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
            bytes
        );
    }
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "both".into());
    if which == "coverage" {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = format!("sqlite:{}", dir.path().join("big.db").display());
        coverage("sqlite", &db);
        return;
    }
    let s = Settings {
        phones: env("PHONES", 50),
        interviews: env("INTERVIEWS_PER_PHONE", 20),
        answers: env("ANSWERS", 250),
        per_op: env("ANSWERS_PER_OP", 10).max(1),
    };
    if which == "sqlite" || which == "both" {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = format!("sqlite:{}", dir.path().join("bench.db").display());
        run("sqlite", &db, &s);
    }
    if which == "postgres" || which == "both" {
        let pg = PgCluster::start().expect("PostgreSQL (install postgresql)");
        let db = fresh_pg_database(&pg, "bench");
        run("postgres", &db, &s);
    }
}
