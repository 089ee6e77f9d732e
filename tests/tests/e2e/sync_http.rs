//! Sync over HTTP against real `mapframe serve` processes, on SQLite and on PostgreSQL: phones
//! (sync-core `Replica`s over memory storage) interview offline and sync through
//! `POST …/sync/push` and `…/sync/pull` (JSON and binary), a supervisor reviews on the web, and
//! at the end every replica equals the server. Also: two servers on one PostgreSQL taking pushes
//! from many devices at once keep one gap-free log.

use mapframe_e2e::http::{Client, Reply};
use mapframe_e2e::pg::PgCluster;
use mapframe_e2e::server::{ServerProcess, add_user, fresh_pg_database, migrate};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use sync_core::sync::log::AckStatus;
use sync_core::sync::{
    Change, DeviceId, Entity, EntityKind, FieldValue, Hlc, IdMint, Identity, MemoryReplicaStorage,
    MergeContext, OpBody, OpId, Operation, PullRequest, PullResponse, PushAck, PushRequest,
    Replica, Role, Target, UserId, decode_binary, decode_json, encode_binary, encode_json,
};
use uuid::Uuid;

const PASSWORD: &str = "a long secret";
const CBOR: &str = "application/vnd.mapframe.sync+cbor";
const AREA: Uuid = Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_a4ea);
const T0: u64 = 1_777_624_200_000;

struct Fixture {
    server: ServerProcess,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgCluster>,
}

fn seed(db: &str) {
    migrate(db);
    add_user(db, "admin", "admin", None, PASSWORD);
    add_user(db, "sup", "supervisor", Some("north"), PASSWORD);
    add_user(db, "int1", "interviewer", Some("north"), PASSWORD);
    add_user(db, "int2", "interviewer", Some("north"), PASSWORD);
}

fn on_sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("mapframe.db").display());
    seed(&db);
    let server = ServerProcess::start(&db).unwrap_or_else(|e| panic!("{e}"));
    Fixture {
        server,
        _dir: Some(dir),
        _pg: None,
    }
}

fn on_postgres() -> Fixture {
    let pg = PgCluster::start().expect("PostgreSQL is needed for this test (install postgresql)");
    let db = fresh_pg_database(&pg, "sync");
    seed(&db);
    let server = ServerProcess::start(&db).unwrap_or_else(|e| panic!("{e}"));
    Fixture {
        server,
        _dir: None,
        _pg: Some(pg),
    }
}

/// A phone: a replica, its signed-in client and the project it syncs.
pub(crate) struct Phone {
    name: &'static str,
    pub(crate) client: Client,
    pub(crate) replica: Replica<MemoryReplicaStorage>,
    mint: IdMint,
    clock: u64,
    base: String,
    binary: bool,
}

fn sign_in_device(server: &ServerProcess, user: &str, device: Uuid) -> Client {
    server
        .client()
        .sign_in_with(&json!({"username": user, "password": PASSWORD,
                              "device_id": device.to_string(), "device_name": user}))
        .unwrap_or_else(|r| panic!("{user} signs in: {r}"))
}

impl Phone {
    pub(crate) fn new(
        server: &ServerProcess,
        name: &'static str,
        user: &str,
        role: Role,
        project: &str,
        n: u64,
    ) -> Phone {
        let device = Uuid::now_v7();
        let client = sign_in_device(server, user, device);
        let me = client.get("/api/v1/me").json();
        let user_id: Uuid = me["user"]["id"].as_str().unwrap().parse().unwrap();
        let identity = Identity {
            device: DeviceId::from_uuid(device),
            user: UserId::from_uuid(user_id),
            role,
        };
        let replica = Replica::create(
            MemoryReplicaStorage::new(),
            identity,
            MergeContext::default(),
        )
        .expect("a new replica");
        Phone {
            name,
            client,
            replica,
            mint: IdMint::new(n),
            clock: T0,
            base: format!("/api/v1/projects/{project}/sync"),
            binary: n.is_multiple_of(2),
        }
    }

    pub(crate) fn op_id(&mut self) -> OpId {
        self.clock += 1_000;
        self.mint.op_id(self.clock)
    }

    pub(crate) fn act(&mut self, target: Target, body: OpBody) {
        let id = self.op_id();
        self.replica
            .act(target, body, id, self.clock)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name));
    }

    pub(crate) fn edit(&mut self, target: Target, pairs: &[(&str, FieldValue)]) {
        let id = self.op_id();
        let changes = pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone()));
        self.replica
            .edit(target, changes, id, self.clock)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name));
    }

    pub(crate) fn post_push(&self, request: &PushRequest) -> PushAck {
        let reply = if self.binary {
            self.client.request(
                "POST",
                &format!("{}/push", self.base),
                &[("Content-Type", CBOR), ("Accept", CBOR)],
                Some(encode_binary(request).unwrap()),
            )
        } else {
            self.client.post_raw(
                &format!("{}/push", self.base),
                "application/json",
                encode_json(request).unwrap().into_bytes(),
            )
        };
        assert_eq!(reply.status, 200, "{}: push: {reply}", self.name);
        if self.binary {
            decode_binary(&reply.bytes).expect("a binary ack")
        } else {
            decode_json(&reply.bytes).expect("a JSON ack")
        }
    }

    pub(crate) fn post_pull(&self, request: &PullRequest) -> PullResponse {
        let body = if self.binary {
            encode_binary(request).unwrap()
        } else {
            encode_json(request).unwrap().into_bytes()
        };
        let ct = if self.binary {
            CBOR
        } else {
            "application/json"
        };
        let reply = self.client.request(
            "POST",
            &format!("{}/pull", self.base),
            &[("Content-Type", ct)],
            Some(body),
        );
        assert_eq!(reply.status, 200, "{}: pull: {reply}", self.name);
        if self.binary {
            decode_binary(&reply.bytes).expect("a binary pull response")
        } else {
            decode_json(&reply.bytes).expect("a JSON pull response")
        }
    }

    /// Pushes everything (in batches of 50), then pulls until complete.
    pub(crate) fn sync(&mut self) {
        loop {
            let request = self.replica.push_request(50);
            if request.ops.is_empty() {
                break;
            }
            let ack = self.post_push(&request);
            self.replica.apply_push_ack(&ack).unwrap();
            if ack
                .acks
                .iter()
                .any(|a| matches!(a.status, AckStatus::Gap { .. }))
            {
                panic!("{}: gap {ack:?}", self.name);
            }
        }
        self.pull();
    }

    pub(crate) fn pull(&mut self) {
        for _ in 0..100 {
            let response = self.post_pull(&self.replica.pull_request(100));
            self.replica.apply_pull(&response).unwrap();
            if response.complete {
                return;
            }
        }
        panic!("{}: pull never completed", self.name);
    }

    pub(crate) fn entity(&self, id: Uuid) -> &Entity {
        self.replica
            .entity(id)
            .unwrap_or_else(|| panic!("{} has no {id}", self.name))
    }
}

pub(crate) fn interview(id: Uuid) -> Target {
    Target::new(EntityKind::Interview, id)
}

pub(crate) fn text(s: &str) -> FieldValue {
    FieldValue::text(s)
}

pub(crate) fn fields(pairs: &[(&str, FieldValue)]) -> BTreeMap<String, FieldValue> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

fn user_id(admin: &Client, name: &str) -> String {
    let users = admin.get("/api/v1/users").json();
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == name)
        .map(|u| u["id"].as_str().unwrap().to_string())
        .unwrap()
}

fn assert_problem(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{reply}");
    assert_eq!(reply.code(), code, "{reply}");
}

fn case(interviewer: &str, n: u64) -> OpBody {
    OpBody::Create {
        scope: Uuid::nil(), // replaced by the caller: an interview's scope is its own id
        fields: fields(&[
            ("interviewer", text(interviewer)),
            ("area", text(&AREA.to_string())),
            (
                "dwelling",
                text(&Uuid::from_u128(u128::from(n)).to_string()),
            ),
            ("status", text("assigned")),
        ]),
    }
}

fn create_case(admin: &mut Phone, interviewer: &str, n: u64) -> Uuid {
    let id = admin.mint.uuid(admin.clock);
    let OpBody::Create { fields, .. } = case(interviewer, n) else {
        unreachable!()
    };
    admin.act(interview(id), OpBody::Create { scope: id, fields });
    id
}

/// The whole story (see the module documentation).
fn fieldwork_story(f: &Fixture) {
    let anon = f.server.client();
    let admin_web = anon.sign_in("admin", PASSWORD).unwrap();
    let created = admin_web.post("/api/v1/projects", &json!({"code": "s1", "name": "Sync"}));
    assert_eq!(created.status, 201, "{created}");
    let project = created.json()["id"].as_str().unwrap().to_string();
    let int1 = user_id(&admin_web, "int1");
    let int2 = user_id(&admin_web, "int2");

    // The administrator's laptop creates the assignment and the cases.
    let mut admin = Phone::new(&f.server, "admin", "admin", Role::Admin, &project, 1);
    let assignment = admin.mint.uuid(admin.clock);
    admin.act(
        Target::new(EntityKind::Assignment, assignment),
        OpBody::Create {
            scope: AREA,
            fields: fields(&[
                ("interviewer", text(&int1)),
                ("area", text(&AREA.to_string())),
                ("task", text("interviewing")),
            ]),
        },
    );
    let c1 = create_case(&mut admin, &int1, 1);
    let c2 = create_case(&mut admin, &int1, 2);
    let c3 = create_case(&mut admin, &int2, 3);
    admin.sync();
    assert!(admin.replica.is_synced());

    // Two phones of int1 (a phone and a tablet); neither sees int2's case.
    let mut a = Phone::new(&f.server, "phone A", "int1", Role::Interviewer, &project, 2);
    let mut b = Phone::new(
        &f.server,
        "tablet B",
        "int1",
        Role::Interviewer,
        &project,
        3,
    );
    a.sync();
    b.sync();
    for p in [&a, &b] {
        let ids: Vec<Uuid> = p.replica.entities().keys().copied().collect();
        let mut want = vec![assignment, c1, c2];
        want.sort();
        assert_eq!(ids, want, "{}", p.name);
    }

    // Offline: answers, a roster member, a visit; c2 is submitted.
    a.edit(
        interview(c1),
        &[
            ("answers/age", FieldValue::Int(34)),
            ("answers/name", text("Li")),
        ],
    );
    a.act(
        interview(c1),
        OpBody::AddMember {
            group: "answers/members".into(),
            instance: Uuid::from_u128(0x11),
            fields: fields(&[("name", text("Wang")), ("age", FieldValue::Int(61))]),
        },
    );
    a.act(
        interview(c1),
        OpBody::RecordVisit {
            visit: Uuid::from_u128(0x21),
            fields: fields(&[("result", text("completed"))]),
        },
    );
    a.edit(interview(c2), &[("answers/age", FieldValue::Int(50))]);
    a.act(interview(c2), OpBody::Submit);
    b.edit(interview(c1), &[("answers/age", FieldValue::Int(35))]);

    // A duplicated push gets the same acknowledgements and changes nothing.
    let request = a.replica.push_request(50);
    let first = a.post_push(&request);
    let again = a.post_push(&request);
    assert_eq!(first, again, "a duplicate push is acknowledged alike");
    a.replica.apply_push_ack(&again).unwrap();
    // An interrupted push: the response is lost, the phone pushes again.
    let lost = b.post_push(&b.replica.push_request(50));
    b.sync();
    a.sync();
    let _ = lost;

    // The concurrent answers are a conflict, on the server and on both devices.
    let sup = anon.sign_in("sup", PASSWORD).unwrap();
    let conflicts = sup.get(&format!("/api/v1/projects/{project}/conflicts"));
    assert_eq!(conflicts.status, 200, "{conflicts}");
    let conflicts = conflicts.json();
    let list = conflicts.as_array().unwrap();
    assert_eq!(list.len(), 1, "{conflicts}");
    assert_eq!(list[0]["entity_id"], c1.to_string());
    assert_eq!(list[0]["key"], "answers/age");
    let values: Vec<&Value> = list[0]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["value"])
        .collect();
    assert_eq!(
        values.len(),
        2,
        "both values kept side by side: {conflicts}"
    );
    for p in [&a, &b] {
        assert_eq!(p.entity(c1).open_conflicts().count(), 1, "{}", p.name);
    }
    // Interviewers see the list too, for their own cases only.
    let int2_web = anon.sign_in("int2", PASSWORD).unwrap();
    let none = int2_web.get(&format!("/api/v1/projects/{project}/conflicts"));
    assert_eq!(none.json(), json!([]), "{none}");

    // The supervisor resolves it; phone A submits c1; the supervisor approves c1 and returns c2.
    let conflict = list[0]["conflict"].as_str().unwrap();
    let resolved = sup.post(
        &format!("/api/v1/projects/{project}/conflicts/{conflict}/resolve"),
        &json!({"entity": c1, "decision": {"value": 35}}),
    );
    assert_eq!(resolved.status, 200, "{resolved}");
    a.sync();
    a.act(interview(c1), OpBody::Submit);
    a.sync();
    b.pull();
    let approve_path = format!("/api/v1/projects/{project}/interviews/{c1}/approve");
    let ahead = sup.post(&approve_path, &json!({"at_version": 999}));
    assert_problem(&ahead, 409, "bad_version");
    let approved = sup.post_raw(&approve_path, "application/json", Vec::new());
    assert_eq!(approved.status, 200, "{approved}");
    assert_eq!(approved.json()["entity"]["fields"]["status"], "approved");
    let returned = sup.post(
        &format!("/api/v1/projects/{project}/interviews/{c2}/return"),
        &json!({"note": "age looks wrong"}),
    );
    assert_eq!(returned.status, 200, "{returned}");
    let no_note = sup.post(
        &format!("/api/v1/projects/{project}/interviews/{c2}/return"),
        &json!({}),
    );
    assert_problem(&no_note, 422, "missing_field");
    let int1_web = anon.sign_in("int1", PASSWORD).unwrap();
    let forbidden = int1_web.post(&approve_path, &json!({}));
    assert_problem(&forbidden, 403, "forbidden");
    let list = sup.get(&format!(
        "/api/v1/projects/{project}/interviews?status=approved"
    ));
    assert_eq!(list.json()["total"], 1, "{list}");
    assert_eq!(list.json()["items"][0]["id"], c1.to_string());
    let mine = int2_web.get(&format!("/api/v1/projects/{project}/interviews"));
    assert_eq!(mine.json()["total"], 1, "int2 sees only c3: {mine}");
    assert_eq!(mine.json()["items"][0]["id"], c3.to_string());
    assert_problem(
        &int2_web.get(&format!("/api/v1/projects/{project}/interviews/{c1}")),
        404,
        "not_found",
    );

    // A late edit from the tablet (made before it saw the approval) is a workflow conflict.
    b.edit(interview(c1), &[("answers/name", text("Li Wei"))]);
    let late = b.post_push(&b.replica.push_request(50));
    assert!(
        matches!(late.acks[0].status, AckStatus::Conflict { .. }),
        "{late:?}"
    );
    b.replica.apply_push_ack(&late).unwrap();
    let c1_now = sup
        .get(&format!("/api/v1/projects/{project}/interviews/{c1}"))
        .json();
    assert_eq!(c1_now["fields"]["status"], "approved");
    assert_eq!(
        c1_now["fields"]["answers/name"], "Li",
        "the approved interview did not change"
    );

    // A push with one invalid operation refuses that one and applies the other.
    let raw = Uuid::now_v7();
    let raw_client = sign_in_device(&f.server, "int2", raw);
    let make = |seq: u64, body: OpBody| Operation {
        op_id: OpId::from_uuid(Uuid::now_v7()),
        device_id: DeviceId::from_uuid(raw),
        device_seq: seq,
        author: UserId::from_uuid(int2.parse().unwrap()),
        role: Role::Interviewer,
        hlc: Hlc::at(T0 + seq),
        target: interview(c3),
        base_version: 1,
        body,
        extra: Default::default(),
    };
    let request = PushRequest {
        version: 1,
        device_id: DeviceId::from_uuid(raw),
        ops: vec![
            make(
                1,
                OpBody::Edit {
                    changes: vec![Change::new("status", text("assigned"), text("approved"))],
                },
            ),
            make(
                2,
                OpBody::Edit {
                    changes: vec![Change::new(
                        "answers/age",
                        FieldValue::Null,
                        FieldValue::Int(40),
                    )],
                },
            ),
        ],
        extra: Default::default(),
    };
    let reply = raw_client.post_raw(
        &format!("/api/v1/projects/{project}/sync/push"),
        "application/json",
        encode_json(&request).unwrap().into_bytes(),
    );
    assert_eq!(reply.status, 200, "{reply}");
    let ack: PushAck = decode_json(&reply.bytes).unwrap();
    assert!(
        matches!(&ack.acks[0].status, AckStatus::Refused { reason, .. } if reason.code == "workflow_field"),
        "{ack:?}"
    );
    assert!(
        matches!(ack.acks[1].status, AckStatus::Applied { .. }),
        "{ack:?}"
    );
    let refusals = int2_web
        .get(&format!("/api/v1/projects/{project}/refusals"))
        .json();
    assert_eq!(refusals.as_array().unwrap().len(), 1, "{refusals}");
    assert_eq!(refusals[0]["reason"]["code"], "workflow_field");
    let sup_refusals = sup
        .get(&format!("/api/v1/projects/{project}/refusals"))
        .json();
    let codes: Vec<&str> = sup_refusals
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["bad_version", "workflow_field"],
        "the supervisor's own refused approval and int2's refusal, in their scope"
    );
    let theirs = int1_web
        .get(&format!("/api/v1/projects/{project}/refusals"))
        .json();
    assert_eq!(theirs, json!([]), "not int1's");

    // Bad messages never reach the database.
    let push = format!("/api/v1/projects/{project}/sync/push");
    assert_problem(
        &raw_client.post_raw(&push, "application/json", b"{".to_vec()),
        400,
        "malformed",
    );
    assert_problem(
        &raw_client.post_raw(&push, CBOR, b"nonsense".to_vec()),
        400,
        "bad_header",
    );
    assert_problem(
        &raw_client.post_raw(&push, "text/plain", b"x".to_vec()),
        415,
        "unsupported_media_type",
    );
    assert_problem(
        &int1_web.post_raw(
            &push,
            "application/json",
            encode_json(&request).unwrap().into_bytes(),
        ),
        400,
        "device_required",
    );
    assert_problem(
        &a.client.post_raw(
            &push,
            "application/json",
            encode_json(&request).unwrap().into_bytes(),
        ),
        400,
        "device_mismatch",
    );

    // Everyone syncs; every replica equals the server.
    for p in [&mut admin, &mut a, &mut b] {
        p.sync();
        assert!(p.replica.is_synced(), "{} is synced", p.name);
    }
    let mut fresh = Phone::new(&f.server, "check", "admin", Role::Admin, &project, 9);
    fresh.pull();
    let server: BTreeMap<Uuid, Entity> = fresh.replica.mirror_entities().clone();
    assert_eq!(server.len(), 4);
    for p in [&admin, &a, &b] {
        for (id, e) in p.replica.entities() {
            assert_eq!(Some(e), server.get(&id), "{} {id}", p.name);
        }
    }
    assert_eq!(a.replica.entities().len(), 3);
    let c1_server = &server[&c1];
    assert_eq!(c1_server.status(), Some("approved"));
    assert!(
        c1_server.open_conflicts().any(|c| c.key == "_workflow"),
        "the late edit waits in a workflow conflict"
    );
    assert_eq!(c1_server.get("answers/age"), Some(&FieldValue::Int(35)));
}

#[test]
fn fieldwork_over_http_on_sqlite() {
    fieldwork_story(&on_sqlite());
}

#[test]
fn fieldwork_over_http_on_postgres() {
    fieldwork_story(&on_postgres());
}

/// Two servers on one PostgreSQL, eight devices pushing at once through both: the log has
/// sequence numbers 1..N without gap or duplicate, every operation exactly once, and every
/// acknowledgement agrees with the log.
#[test]
fn two_servers_share_one_gap_free_log() {
    let pg = PgCluster::start().expect("PostgreSQL is needed for this test (install postgresql)");
    let db = fresh_pg_database(&pg, "concurrent");
    seed(&db);
    let one = ServerProcess::start(&db).unwrap_or_else(|e| panic!("{e}"));
    let two = ServerProcess::start(&db).unwrap_or_else(|e| panic!("{e}"));
    let admin = one.client().sign_in("admin", PASSWORD).unwrap();
    let created = admin.post("/api/v1/projects", &json!({"code": "conc", "name": "C"}));
    let project = created.json()["id"].as_str().unwrap().to_string();
    let admin_id: Uuid = user_id(&admin, "admin").parse().unwrap();
    const DEVICES: u64 = 8;
    const PUSHES: u64 = 10;
    const OPS: u64 = 5;
    let acks: Vec<Vec<(OpId, u64)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..DEVICES)
            .map(|d| {
                let server = if d % 2 == 0 { &one } else { &two };
                let project = project.clone();
                s.spawn(move || {
                    let device = Uuid::now_v7();
                    let client = sign_in_device(server, "admin", device);
                    let mut out = Vec::new();
                    let mut seq = 0;
                    for _ in 0..PUSHES {
                        let ops: Vec<Operation> = (0..OPS)
                            .map(|_| {
                                seq += 1;
                                let id = Uuid::now_v7();
                                Operation {
                                    op_id: OpId::from_uuid(Uuid::now_v7()),
                                    device_id: DeviceId::from_uuid(device),
                                    device_seq: seq,
                                    author: UserId::from_uuid(admin_id),
                                    role: Role::Admin,
                                    hlc: Hlc::at(T0 + seq),
                                    target: Target::new(EntityKind::Household, id),
                                    base_version: 0,
                                    body: OpBody::Create {
                                        scope: AREA,
                                        fields: fields(&[("number", FieldValue::Int(seq as i64))]),
                                    },
                                    extra: Default::default(),
                                }
                            })
                            .collect();
                        let request = PushRequest {
                            version: 1,
                            device_id: DeviceId::from_uuid(device),
                            ops,
                            extra: Default::default(),
                        };
                        let reply = client.post_raw(
                            &format!("/api/v1/projects/{project}/sync/push"),
                            "application/json",
                            encode_json(&request).unwrap().into_bytes(),
                        );
                        assert_eq!(reply.status, 200, "{reply}");
                        let ack: PushAck = decode_json(&reply.bytes).unwrap();
                        for a in ack.acks {
                            match a.status {
                                AckStatus::Applied { seq, version: 1 } => out.push((a.op_id, seq)),
                                other => panic!("{other:?}"),
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seqs: Vec<u64> = acks.iter().flatten().map(|(_, s)| *s).collect();
    seqs.sort();
    let n = DEVICES * PUSHES * OPS;
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "gap-free, no duplicate");
    // The log agrees: one pull from the start brings every entity, each at its acknowledged
    // sequence (checked through the pull cursor of one-entity pages).
    let reader = sign_in_device(&two, "admin", Uuid::now_v7());
    let mut request = PullRequest {
        version: 1,
        device_id: reader.get("/api/v1/me").json()["device_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
        after: 0,
        known_scopes: Vec::new(),
        limit: 1,
        extra: Default::default(),
    };
    let by_op: BTreeMap<OpId, u64> = acks.into_iter().flatten().collect();
    assert_eq!(by_op.len() as u64, n, "every operation once");
    let mut pages = 0;
    loop {
        let reply = reader.post_raw(
            &format!("/api/v1/projects/{project}/sync/pull"),
            "application/json",
            encode_json(&request).unwrap().into_bytes(),
        );
        let page: PullResponse = decode_json(&reply.bytes).unwrap();
        for e in &page.entities {
            let head = e.heads("number");
            assert_eq!(by_op.get(&head[0].op), Some(&page.up_to), "entity {}", e.id);
        }
        pages += 1;
        if page.complete {
            break;
        }
        request.after = page.up_to;
    }
    assert_eq!(pages, n);
}
