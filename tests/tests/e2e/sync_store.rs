//! The database behind the sync log (`mapframe_server::sync::DbLog`), on a SQLite file and on
//! PostgreSQL: it must behave exactly like sync-core's reference `MemoryLog`. Random sequences
//! of pushes from several devices — creates that collide, stale and concurrent edits, splits,
//! refused operations (system fields, bad values, unknown targets, out of scope, forged authors,
//! other devices' operations), gaps, duplicated and re-sent requests — go to both, and every
//! acknowledgement and every pull page (all principals, cursors, known scopes and page sizes)
//! must be equal. Named scenarios of sync-core's `log` tests are checked on top.

use mapframe_e2e::pg::PgCluster;
use mapframe_e2e::server::fresh_pg_database;
use mapframe_server::db::{DbConnection, DbUrl, migrate};
use mapframe_server::store::projects::{self, NewProject};
use mapframe_server::sync;
use std::collections::BTreeSet;
use sync_core::sync::log::{AckStatus, LogStore};
use sync_core::sync::{
    Change, DeviceId, EntityKind, FieldValue, Hlc, MemoryLog, MergeContext, OpBody, OpId,
    Operation, Part, Principal, PullRequest, PullResponse, PushRequest, Role, Scope, Target,
    UserId,
};
use uuid::Uuid;

const AREA: Uuid = Uuid::from_u128(0xa4ea);
const OTHER_AREA: Uuid = Uuid::from_u128(0xa4eb);
const T0: u64 = 1_777_624_200_000;

/// A small deterministic generator (splitmix64): the cases are reproducible from their seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn principal(n: u128, role: Role, scope: Scope) -> Principal {
    Principal {
        user: UserId::from_uuid(Uuid::from_u128(0xa000 + n)),
        device: DeviceId::from_uuid(Uuid::from_u128(0xd000 + n)),
        role,
        scope,
    }
}

fn principals() -> Vec<Principal> {
    vec![
        principal(1, Role::Admin, Scope::All),
        principal(2, Role::Lister, Scope::Keys([AREA].into())),
        principal(3, Role::Lister, Scope::Keys([AREA, OTHER_AREA].into())),
        principal(4, Role::Supervisor, Scope::Keys([AREA].into())),
    ]
}

fn dwelling(n: u64) -> Target {
    Target::new(
        EntityKind::Dwelling,
        Uuid::from_u128(0xd0_0000 + u128::from(n)),
    )
}

fn text(s: &str) -> FieldValue {
    FieldValue::text(s)
}

/// Both logs side by side.
struct Pair<'c> {
    memory: MemoryLog,
    conn: &'c mut DbConnection,
    project: String,
}

impl Pair<'_> {
    fn push(&mut self, who: &Principal, ops: Vec<Operation>) {
        let request = PushRequest {
            version: 1,
            device_id: who.device,
            ops,
            extra: Default::default(),
        };
        let want = sync_core::sync::push(&mut self.memory, who, &request, &MergeContext::default())
            .expect("memory push");
        let got = sync::push(self.conn, &self.project, who, &request).expect("database push");
        assert_eq!(got, want, "acknowledgements differ for {request:?}");
    }

    fn pull(&mut self, who: &Principal, after: u64, known: &[Uuid], limit: u32) -> PullResponse {
        let request = PullRequest {
            version: 1,
            device_id: who.device,
            after,
            known_scopes: known.to_vec(),
            limit,
            extra: Default::default(),
        };
        let want = sync_core::sync::pull(&self.memory, who, &request).expect("memory pull");
        let got = sync::pull(self.conn, &self.project, who, &request).expect("database pull");
        assert_eq!(got, want, "pull differs for {request:?} by {who:?}");
        got
    }

    /// Pulls page by page from `after`, comparing every page, until the end or until the
    /// cursor stops moving (scopes the request does not list as known are read from the start
    /// on every page: a phone adds them to `known_scopes` once it has them).
    fn pull_all(&mut self, who: &Principal, mut after: u64, known: &[Uuid], limit: u32) {
        for _ in 0..1_000 {
            let page = self.pull(who, after, known, limit);
            if page.complete || page.up_to == after {
                return;
            }
            after = page.up_to;
        }
        panic!("pulling never completed");
    }
}

fn new_project(conn: &mut DbConnection, code: &str) -> String {
    projects::create(
        conn,
        &NewProject {
            code,
            name: "sync",
            settings: None,
        },
        1,
    )
    .expect("a project")
    .id
}

fn open(url: &DbUrl) -> DbConnection {
    migrate::run(url).expect("migrations apply");
    url.connect().expect("a connection")
}

/// A random history of pushes.
fn random_history(pair: &mut Pair<'_>, seed: u64, pushes: usize) {
    let mut rng = Rng(seed);
    let who = principals();
    let mut next_seq = vec![1u64; who.len()];
    let mut op_counter = 0u128;
    let mut last_request: Option<(usize, Vec<Operation>)> = None;
    for _ in 0..pushes {
        if rng.chance(10)
            && let Some((d, ops)) = last_request.clone()
        {
            // Re-sent whole (a lost acknowledgement), or only its tail.
            let skip = rng.below(ops.len() as u64 + 1) as usize;
            pair.push(&who[d], ops[skip.min(ops.len())..].to_vec());
            continue;
        }
        let d = rng.below(who.len() as u64) as usize;
        let p = &who[d];
        let mut ops = Vec::new();
        for _ in 0..1 + rng.below(4) {
            op_counter += 1;
            let target = dwelling(rng.below(10));
            let current = pair.memory.get(target.id).map_or(0, |e| e.version);
            let base = if rng.chance(25) {
                current.saturating_sub(1 + rng.below(2))
            } else {
                current
            };
            let body = match rng.below(10) {
                0..=2 => OpBody::Create {
                    scope: if rng.chance(70) { AREA } else { OTHER_AREA },
                    fields: [("occupancy".to_string(), text("occupied"))].into(),
                },
                3..=6 => {
                    let field = ["occupancy", "notes", "households", "_retired", "position"]
                        [rng.below(5) as usize];
                    let new = match rng.below(4) {
                        0 => text("vacant"),
                        1 => text("occupied"),
                        2 => FieldValue::Int(rng.below(4) as i64),
                        _ => text(&format!("n{}", rng.below(3))),
                    };
                    OpBody::Edit {
                        changes: vec![Change::new(field, FieldValue::Null, new)],
                    }
                }
                7 => OpBody::Delete,
                8 => OpBody::Split {
                    parts: (0..2)
                        .map(|k| {
                            Part::new(
                                dwelling(100 + op_counter as u64 * 2 + k).id,
                                Default::default(),
                            )
                        })
                        .collect(),
                },
                _ => OpBody::Approve { at_version: 1 },
            };
            let mut seq = next_seq[d];
            if rng.chance(5) {
                seq += 1; // a gap
            } else {
                next_seq[d] += 1;
            }
            let mut op = Operation {
                op_id: OpId::from_uuid(Uuid::from_u128(0x0b00_0000 + op_counter)),
                device_id: p.device,
                device_seq: seq,
                author: p.user,
                role: p.role.clone(),
                hlc: Hlc::at(T0 + op_counter as u64),
                target,
                base_version: base,
                body,
                extra: Default::default(),
            };
            match rng.below(40) {
                0 => op.author = UserId::from_uuid(Uuid::from_u128(0xbad)),
                1 => op.role = Role::Supervisor,
                2 => op.device_id = DeviceId::from_uuid(Uuid::from_u128(0xbad)),
                _ => {}
            }
            ops.push(op);
        }
        pair.push(p, ops.clone());
        last_request = Some((d, ops));
    }
}

/// The random histories, then every way of pulling them.
fn agrees_with_the_memory_log(url: &DbUrl) {
    let mut conn = open(url);
    for seed in 1..=4u64 {
        let project = new_project(&mut conn, &format!("rand{seed}"));
        let mut pair = Pair {
            memory: MemoryLog::new(),
            conn: &mut conn,
            project,
        };
        random_history(&mut pair, seed, 60);
        let head = pair.memory.last_seq().unwrap();
        assert!(
            head > 20,
            "seed {seed}: the history processed {head} operations"
        );
        for who in principals() {
            for after in [0, head / 3, head / 2, head] {
                for known in [&[][..], &[AREA][..], &[AREA, OTHER_AREA][..]] {
                    for limit in [0, 1, 2, 5] {
                        pair.pull_all(&who, after, known, limit);
                    }
                }
            }
        }
        // Sequence numbers are gap-free in the database too.
        let seqs: Vec<u64> = pair.memory.log().iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, (1..=head).collect::<Vec<_>>());
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
        hlc: Hlc::at(T0 + seq),
        target,
        base_version: base,
        body,
        extra: Default::default(),
    }
}

fn create(scope: Uuid) -> OpBody {
    OpBody::Create {
        scope,
        fields: Default::default(),
    }
}

/// sync-core's named log scenarios, on the database.
fn named_scenarios(url: &DbUrl) {
    let mut conn = open(url);
    let project = new_project(&mut conn, "named");
    let mut pair = Pair {
        memory: MemoryLog::new(),
        conn: &mut conn,
        project: project.clone(),
    };
    let [admin, lister, _, supervisor] = <[Principal; 4]>::try_from(principals()).unwrap();
    // Duplicate push: the original acknowledgement, nothing new in the log.
    let ops = vec![
        op(&lister, 1, dwelling(1), 0, create(AREA)),
        op(
            &lister,
            2,
            dwelling(1),
            1,
            OpBody::Edit {
                changes: vec![Change::new("occupancy", FieldValue::Null, text("vacant"))],
            },
        ),
    ];
    pair.push(&lister, ops.clone());
    let head = pair.memory.last_seq().unwrap();
    pair.push(&lister, ops.clone());
    let mut reused = ops[1].clone();
    reused.op_id = OpId::from_uuid(Uuid::from_u128(0xbad));
    pair.push(&lister, vec![reused]);
    assert_eq!(pair.memory.last_seq().unwrap(), head);
    // A gap is acknowledged with the expected number and not stored.
    let request = PushRequest {
        version: 1,
        device_id: lister.device,
        ops: vec![op(&lister, 5, dwelling(2), 0, create(AREA))],
        extra: Default::default(),
    };
    let ack = sync::push(pair.conn, &project, &lister, &request).unwrap();
    assert_eq!(ack.acks[0].status, AckStatus::Gap { expected: 3 });
    // Refusals are kept and shown to the device and to supervisors.
    pair.push(
        &lister,
        vec![
            op(&lister, 3, dwelling(3), 0, create(OTHER_AREA)),
            op(
                &lister,
                4,
                dwelling(1),
                2,
                OpBody::Edit {
                    changes: vec![Change::new("_retired", FieldValue::Null, text("x"))],
                },
            ),
        ],
    );
    let mine = pair.pull(&lister, 0, &[], 0);
    let codes: Vec<&str> = mine
        .refusals
        .iter()
        .map(|r| r.reason.code.as_str())
        .collect();
    assert_eq!(codes, ["out_of_scope", "system_field"]);
    assert_eq!(
        pair.pull(&supervisor, 0, &[], 0).refusals.len(),
        1,
        "in its scope"
    );
    assert_eq!(
        pair.pull(&admin, 0, &[], 0).refusals.len(),
        2,
        "administrators see all"
    );
    // Pages end on sequence boundaries: a split's five entities share one.
    let mut ops = vec![
        op(&admin, 1, dwelling(10), 0, create(AREA)),
        op(
            &admin,
            2,
            dwelling(10),
            1,
            OpBody::Split {
                parts: (11..15)
                    .map(|n| Part::new(dwelling(n).id, Default::default()))
                    .collect(),
            },
        ),
    ];
    for n in 3..8 {
        ops.push(op(&admin, n, dwelling(20 + n), 0, create(AREA)));
    }
    pair.push(&admin, ops);
    let mut after = 0;
    let mut seen = BTreeSet::new();
    loop {
        let page = pair.pull(&admin, after, &[], 2);
        seen.extend(page.entities.iter().map(|e| e.id));
        after = page.up_to;
        if page.complete {
            break;
        }
    }
    assert_eq!(
        seen.len(),
        1 + 1 + 4 + 5,
        "the lister's, the split one, its parts, five more"
    );
    // Scope: the lister sees its area only; a newly known area comes whole.
    let first = pair.pull(&lister, 0, &[], 0);
    assert!(first.entities.iter().all(|e| e.scope == AREA));
}

type Spec = fn(&DbUrl);

const SPECS: &[(&str, Spec)] = &[
    ("named_scenarios", named_scenarios),
    ("agrees_with_the_memory_log", agrees_with_the_memory_log),
];

fn run_suite(backend: &str, mut database_for: impl FnMut(&str) -> String) {
    let mut failed = Vec::new();
    for (name, spec) in SPECS {
        let url = DbUrl::parse(&database_for(name)).expect("a database URL");
        println!("{backend}: {name}");
        if std::panic::catch_unwind(|| spec(&url)).is_err() {
            failed.push(*name);
        }
    }
    assert!(failed.is_empty(), "failed on {backend}: {failed:?}");
}

#[test]
fn sync_log_store_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    run_suite("sqlite", |name| {
        format!("sqlite:{}", dir.path().join(format!("{name}.db")).display())
    });
}

#[test]
fn sync_log_store_on_postgres() {
    let pg = PgCluster::start().expect(
        "PostgreSQL is needed for this test (install Debian's postgresql, or set TEST_DATABASE_URL)",
    );
    run_suite("postgres", |name| fresh_pg_database(&pg, name));
}
