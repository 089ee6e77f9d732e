//! `mapframe demo`: builds a realistic project and serves it.
//!
//! A synthetic neighbourhood (six areas, about 2,000 dwellings) is imported as a listing, the
//! household questionnaire uploaded, the frame frozen, a three-stage sample drawn (PSUs by PPS,
//! a fixed take of dwellings, one household each), the sampled areas assigned to four
//! interviewers, and fieldwork simulated through the same sync path phones use: each interviewer's
//! phone is a sync-core replica that pulls, works offline (answers, a roster, visits,
//! dispositions, submissions) and pushes. Two phones edit one answer concurrently (a conflict),
//! one phone sends an operation the server refuses (kept with its reason), and the supervisor
//! approves and returns interviews. Then the server starts, printing `listening on http://ADDR`
//! and one `login:` line per account.

use super::{CliError, Outcome};
use crate::auth::{self, Actor, AuthSettings, NewAccount, Role};
use crate::db::{DbConnection, DbUrl, PoolOptions, migrate};
use crate::fieldwork;
use crate::serve::{self, ServeOptions};
use crate::store::{StoreError, devices, forms, projects};
use crate::sync;
use clap::Args;
use std::collections::BTreeMap;
use sync_core::fieldwork::{answer, field};
use sync_core::form::household::household_workbook;
use sync_core::form::xlsform::read_form;
use sync_core::random::Stream;
use sync_core::sampling::SampleSize;
use sync_core::sampling::allocation::Allocation;
use sync_core::sampling::multistage::{HouseholdStage, MultiStageDesign, PsuStage};
use sync_core::sync::{
    DeviceId, Entity, EntityKind, FieldValue, Identity, MemoryReplicaStorage, OpBody, OpId,
    Position, Replica, Target, UserId,
};
use sync_core::synthetic::{CityOptions, city};
use uuid::Uuid;

/// Builds a demonstration project (a synthetic neighbourhood of ~2,000 dwellings, a drawn
/// sample, the household questionnaire, a supervisor and four interviewers with fieldwork in
/// every state, conflicts and refused operations included), then serves it.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    mapframe demo                          a fresh SQLite database in a temporary folder\n  \
    mapframe demo --bind 127.0.0.1:0       any free port\n  \
    mapframe demo --database-url postgres://mapframe@localhost/demo")]
pub struct DemoArgs {
    /// The database (default: a new SQLite file in a temporary folder, removed on exit). A
    /// database that already holds the demo project is served as it is.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The address to listen on (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Seed of the neighbourhood, the sample and the simulated fieldwork.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    #[command(flatten)]
    tiles: super::serve::TileArgs,
}

/// One account of the demo.
struct Account {
    username: &'static str,
    role: Role,
    password: String,
    actor: Actor,
}

fn password(rng: &mut Stream) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..12)
        .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize] as char)
        .collect()
}

fn store(e: impl std::fmt::Display) -> CliError {
    CliError::Input(format!("demo: {e}"))
}

/// Runs `mapframe demo`.
pub fn run(args: DemoArgs) -> Result<Outcome, CliError> {
    serve::init_logging();
    let (url, _dir) = match &args.database_url {
        Some(u) => (
            DbUrl::parse(u).map_err(|e| CliError::Input(format!("--database-url: {e}")))?,
            None,
        ),
        None => {
            let dir = tempfile_dir()?;
            let path = dir.join("mapframe-demo.db");
            (
                DbUrl::parse(&format!("sqlite:{}", path.display()))
                    .map_err(|e| CliError::Input(e.to_string()))?,
                Some(TempDir(dir)),
            )
        }
    };
    migrate::run(&url).map_err(store)?;
    let mut conn = url.connect().map_err(store)?;
    let accounts = build(&mut conn, args.seed).map_err(store)?;
    drop(conn);
    for a in &accounts {
        println!(
            "login: {} password: {} role: {}",
            a.username,
            a.password,
            a.role.as_str()
        );
    }
    let options = ServeOptions {
        url,
        bind: args.bind,
        migrate: false,
        auth: AuthSettings::default(),
        pool: PoolOptions::default(),
        workers: None,
        dashboard: args.tiles.config(),
    };
    serve::run(options).map_err(|e| CliError::Input(e.to_string()))?;
    Ok(Outcome::Ok)
}

/// A temporary folder removed when dropped.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> Result<std::path::PathBuf, CliError> {
    let base = std::env::temp_dir();
    let dir = base.join(format!("mapframe-demo-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::Input(format!("{}: cannot create: {e}", dir.display())))?;
    Ok(dir)
}

fn account(
    conn: &mut DbConnection,
    rng: &mut Stream,
    username: &'static str,
    role: Role,
    team: Option<&str>,
    now: i64,
) -> Result<Account, StoreError> {
    let password = password(rng);
    let settings = AuthSettings::default();
    let user = match crate::store::users::by_username(conn, username) {
        Ok(u) => {
            auth::change_password(conn, &u.id, &password, &settings, now)?;
            u
        }
        Err(StoreError::NotFound { .. }) => auth::create_account(
            conn,
            &NewAccount {
                username,
                display_name: None,
                role,
                team,
                password: &password,
            },
            &settings,
            now,
        )?,
        Err(e) => return Err(e),
    };
    Ok(Account {
        username,
        role,
        password,
        actor: Actor {
            user_id: user.id,
            username: user.username,
            role: user.role,
            team_id: user.team_id,
            device_id: None,
            token_hash: String::new(),
        },
    })
}

/// Creates the accounts (new passwords on every run) and, unless it exists, the demo project.
fn build(conn: &mut DbConnection, seed: u64) -> Result<Vec<Account>, StoreError> {
    let now = crate::db::now_ms();
    let mut rng = Stream::new(seed ^ u64::from_le_bytes(*b"accounts"));
    let mut accounts = vec![
        account(conn, &mut rng, "admin", Role::Admin, None, now)?,
        account(
            conn,
            &mut rng,
            "supervisor",
            Role::Supervisor,
            Some("north"),
            now,
        )?,
    ];
    for name in [
        "interviewer1",
        "interviewer2",
        "interviewer3",
        "interviewer4",
    ] {
        accounts.push(account(
            conn,
            &mut rng,
            name,
            Role::Interviewer,
            Some("north"),
            now,
        )?);
    }
    if projects::by_code(conn, "demo").is_ok() {
        return Ok(accounts);
    }
    let project = projects::create(
        conn,
        &projects::NewProject {
            code: "demo",
            name: "Demonstration household survey 演示住户调查",
            settings: None,
        },
        now,
    )?
    .id;
    let admin = accounts[0].actor.clone();
    let supervisor = accounts[1].actor.clone();

    // The neighbourhood, the questionnaire, the frame and the sample.
    let listing = city(&CityOptions {
        seed,
        ..CityOptions::default()
    });
    fieldwork::import_listing(conn, &project, &admin, listing, now)?;
    let form = read_form(&household_workbook())
        .map_err(|e| StoreError::Internal(format!("the household form: {e}")))?;
    forms::upload(conn, &project, &form, "household.xlsx", &admin.user_id, now)?;
    fieldwork::freeze(conn, &project, &admin, now)?;
    let design = MultiStageDesign {
        psu: PsuStage::Draw {
            size: SampleSize::Total(4),
            allocation: Allocation::Proportional,
            certainty: true,
        },
        segment: false,
        take: 24,
        reserve: None,
        include_vacant: true,
        household: HouseholdStage::One,
    };
    fieldwork::draw(
        conn,
        &project,
        &admin,
        &design,
        seed,
        Some(&form.settings.form_id),
        now,
    )?;
    let mut sampled: Vec<String> = fieldwork::entities(conn, &project, "interview", None)?
        .iter()
        .filter_map(|c| c.text(field::AREA).map(str::to_string))
        .collect();
    sampled.sort();
    sampled.dedup();
    let areas = fieldwork::areas(conn, &project)?;
    for (i, area_id) in sampled.iter().enumerate() {
        let Some(area) = areas.iter().find(|a| &a.id.to_string() == area_id) else {
            continue;
        };
        let who = &accounts[2 + i % 4].actor;
        fieldwork::assign(
            conn,
            &project,
            &supervisor,
            area,
            &who.user_id,
            "interviewing",
            now,
        )?;
    }

    // Fieldwork, phone by phone, over the sync path.
    let mut rng = Stream::new(seed ^ u64::from_le_bytes(*b"fieldwrk"));
    let start = now - 3 * 86_400_000;
    let mut phones = Vec::new();
    for (i, a) in accounts[2..].iter().enumerate() {
        let device = DeviceId::from_uuid(Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("mapframe-demo-phone-{i}").as_bytes(),
        ));
        devices::register(
            conn,
            &device.to_string(),
            &a.actor.user_id,
            "demo phone",
            now,
        )?;
        let mut phone = Phone::new(a.actor.clone(), device)?;
        phone.sync(conn, &project)?;
        phones.push(phone);
    }
    let mut approvable = Vec::new();
    for phone in &mut phones {
        let cases: Vec<Entity> = phone
            .replica
            .entities()
            .values()
            .filter(|e| e.kind == EntityKind::Interview)
            .map(|e| (*e).clone())
            .collect();
        for (k, case) in cases.iter().enumerate() {
            let t0 = start + (k as i64) * 3_600_000 + rng.below(600_000) as i64;
            match k % 8 {
                // Untouched: still assigned.
                0 => {}
                // Completed and submitted (most cases).
                1..=4 => {
                    phone.interview(case, t0, &mut rng, true)?;
                    approvable.push(case.id);
                }
                // Started, not finished.
                5 => phone.interview(case, t0, &mut rng, false)?,
                // Refused at the door.
                6 => phone.visit(case, t0, "2.111", "refused at the door")?,
                // Nobody home, twice.
                _ => {
                    phone.visit(case, t0, "2.24", "nobody home")?;
                    phone.visit(case, t0 + 86_400_000, "2.24", "nobody home again")?;
                }
            }
        }
        phone.sync(conn, &project)?;
    }
    // A conflict: interviewer1 works on a phone and a tablet; offline, both give one answer
    // different values.
    if let Some(&case) = approvable.first() {
        let tablet_id =
            DeviceId::from_uuid(Uuid::new_v5(&Uuid::NAMESPACE_OID, b"mapframe-demo-tablet"));
        let owner = phones[0].actor.clone();
        devices::register(
            conn,
            &tablet_id.to_string(),
            &owner.user_id,
            "demo tablet",
            now,
        )?;
        let mut tablet = Phone::new(owner, tablet_id)?;
        tablet.sync(conn, &project)?;
        phones[0].edit(
            case,
            &answer("monthly_income"),
            FieldValue::Float(5200.0),
            now,
        )?;
        tablet.edit(
            case,
            &answer("monthly_income"),
            FieldValue::Float(5800.0),
            now,
        )?;
        phones[0].sync(conn, &project)?;
        tablet.sync(conn, &project)?;
        // An operation the server refuses, from an old app on the tablet: an edit of the
        // workflow status, which only workflow actions may change. Kept with its reason.
        if let Some(&other) = approvable.get(1) {
            tablet.raw(
                other,
                "status",
                FieldValue::text("approved"),
                now,
                conn,
                &project,
            )?;
        }
    }
    // The supervisor reviews: approves most submitted interviews, returns one with a note.
    let mut actions = Vec::new();
    for (i, id) in approvable.iter().enumerate().skip(2) {
        let target = Target::new(EntityKind::Interview, *id);
        if i % 5 == 0 {
            actions.push((
                target,
                OpBody::Return {
                    note:
                        "Household size and roster disagree; please revisit. 户人数与成员表不符。"
                            .into(),
                },
            ));
        } else if i % 5 != 1 {
            let version =
                crate::sync::query::entity(conn, &project, *id, &sync_core::sync::Scope::All)?
                    .map_or(0, |e| e.version);
            actions.push((
                target,
                OpBody::Approve {
                    at_version: version,
                },
            ));
        }
    }
    sync::act(conn, &project, &supervisor, &actions, now)?;
    for phone in &mut phones {
        phone.sync(conn, &project)?;
    }
    Ok(accounts)
}

/// A simulated phone: a replica in memory, pushing and pulling through the server's sync path.
struct Phone {
    actor: Actor,
    replica: Replica<MemoryReplicaStorage>,
}

impl Phone {
    fn new(actor: Actor, device: DeviceId) -> Result<Phone, StoreError> {
        let user =
            Uuid::parse_str(&actor.user_id).map_err(|e| StoreError::Internal(e.to_string()))?;
        let replica = Replica::create(
            MemoryReplicaStorage::new(),
            Identity {
                device,
                user: UserId::from_uuid(user),
                role: sync::sync_role(actor.role),
            },
            sync::merge_context(),
        )
        .map_err(|e| StoreError::Internal(e.to_string()))?;
        Ok(Phone { actor, replica })
    }

    fn device(&self) -> DeviceId {
        self.replica.identity().device
    }

    /// Pushes everything pending, then pulls until complete.
    fn sync(&mut self, conn: &mut DbConnection, project: &str) -> Result<(), StoreError> {
        let who = sync::principal(conn, project, &self.actor, self.device())?;
        loop {
            let request = self.replica.push_request(500);
            if request.ops.is_empty() {
                break;
            }
            let ack = sync::push(conn, project, &who, &request)?;
            self.replica
                .apply_push_ack(&ack)
                .map_err(|e| StoreError::Internal(e.to_string()))?;
        }
        for _ in 0..1000 {
            let request = self.replica.pull_request(1000);
            let response = sync::pull(conn, project, &who, &request)?;
            let more = !response.complete;
            self.replica
                .apply_pull(&response)
                .map_err(|e| StoreError::Internal(e.to_string()))?;
            if !more {
                break;
            }
        }
        Ok(())
    }

    fn act(&mut self, id: Uuid, body: OpBody, at: i64) -> Result<(), StoreError> {
        self.replica
            .act(
                Target::new(EntityKind::Interview, id),
                body,
                OpId::from_uuid(Uuid::now_v7()),
                at.max(0) as u64,
            )
            .map(|_| ())
            .map_err(|e| StoreError::Internal(format!("demo phone: {e}")))
    }

    fn edit(&mut self, id: Uuid, path: &str, value: FieldValue, at: i64) -> Result<(), StoreError> {
        self.replica
            .edit(
                Target::new(EntityKind::Interview, id),
                [(path.to_string(), value)],
                OpId::from_uuid(Uuid::now_v7()),
                at.max(0) as u64,
            )
            .map(|_| ())
            .map_err(|e| StoreError::Internal(format!("demo phone: {e}")))
    }

    /// Sends an edit straight to the server without the phone's own checks (an older app
    /// version would): the server refuses it and keeps it with the reason.
    fn raw(
        &mut self,
        id: Uuid,
        path: &str,
        value: FieldValue,
        at: i64,
        conn: &mut DbConnection,
        project: &str,
    ) -> Result<(), StoreError> {
        let who = sync::principal(conn, project, &self.actor, self.device())?;
        let mut request = self.replica.push_request(0);
        let seq = self.replica.meta().next_seq;
        let base = self.replica.mirror(id).map_or(0, |e| e.version);
        request.ops.push(sync_core::sync::Operation {
            op_id: OpId::from_uuid(Uuid::now_v7()),
            device_id: self.device(),
            device_seq: seq,
            author: self.replica.identity().user,
            role: self.replica.identity().role.clone(),
            hlc: sync_core::sync::HlcClock::default().tick(at.max(0) as u64),
            target: Target::new(EntityKind::Interview, id),
            base_version: base,
            body: OpBody::Edit {
                changes: vec![sync_core::sync::Change::new(path, FieldValue::Null, value)],
            },
            extra: Default::default(),
        });
        sync::push(conn, project, &who, &request)?;
        Ok(())
    }

    fn visit(
        &mut self,
        case: &Entity,
        at: i64,
        result: &str,
        note: &str,
    ) -> Result<(), StoreError> {
        let mut fields = BTreeMap::new();
        fields.insert(field::VISIT_AT.to_string(), FieldValue::Int(at));
        fields.insert(field::VISIT_RESULT.to_string(), FieldValue::text(result));
        fields.insert(field::VISIT_NOTE.to_string(), FieldValue::text(note));
        self.act(
            case.id,
            OpBody::RecordVisit {
                visit: Uuid::now_v7(),
                fields,
            },
            at,
        )?;
        self.edit(case.id, field::DISPOSITION, FieldValue::text(result), at)
    }

    /// An interview: a visit, the answers (roster included), and, when `finish`, the submission.
    fn interview(
        &mut self,
        case: &Entity,
        at: i64,
        rng: &mut Stream,
        finish: bool,
    ) -> Result<(), StoreError> {
        let minutes = 25 + rng.below(30) as i64;
        let end = at + minutes * 60_000;
        let size = 1 + rng.below(5) as i64;
        let mut answers: Vec<(String, FieldValue)> = vec![
            (field::STARTED_AT.into(), FieldValue::Int(at)),
            (answer("consent"), FieldValue::text("yes")),
            (answer("hh_size"), FieldValue::Int(size)),
            (answer("province"), FieldValue::text("yn")),
            (answer("city"), FieldValue::text("km")),
            (answer("income_sources"), FieldValue::text("wages pension")),
            (
                answer("monthly_income"),
                FieldValue::Float((2000 + rng.below(9000)) as f64),
            ),
        ];
        if let Some(FieldValue::Position(p)) = case.get(field::POSITION) {
            let jitter = (rng.below(30) as f64 - 15.0) * 1e-5;
            answers.push((
                field::GPS.into(),
                FieldValue::Position(Position {
                    lon: p.lon + jitter,
                    lat: p.lat - jitter,
                    accuracy_m: Some(5.0 + rng.below(20) as f64),
                }),
            ));
        }
        self.replica
            .edit(
                Target::new(EntityKind::Interview, case.id),
                answers,
                OpId::from_uuid(Uuid::now_v7()),
                at as u64,
            )
            .map_err(|e| StoreError::Internal(format!("demo phone: {e}")))?;
        const NAMES: [&str; 8] = [
            "王芳", "李伟", "张敏", "刘洋", "陈静", "杨磊", "赵丽", "黄强",
        ];
        for m in 0..size {
            let mut fields = BTreeMap::new();
            fields.insert(
                "member_name".to_string(),
                FieldValue::text(NAMES[rng.below(8) as usize]),
            );
            fields.insert(
                "sex".to_string(),
                FieldValue::text(if m % 2 == 0 { "female" } else { "male" }),
            );
            fields.insert(
                "age".to_string(),
                FieldValue::Int(18 + rng.below(60) as i64),
            );
            fields.insert("present".to_string(), FieldValue::text("yes"));
            self.act(
                case.id,
                OpBody::AddMember {
                    group: "answers/members".into(),
                    instance: Uuid::now_v7(),
                    fields,
                },
                at + m * 60_000,
            )?;
        }
        if finish {
            self.visit(case, at, "1.1", "complete interview")?;
            self.edit(case.id, field::ENDED_AT, FieldValue::Int(end), end)?;
            self.act(case.id, OpBody::Submit, end)?;
        }
        Ok(())
    }
}
