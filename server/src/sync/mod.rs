//! Sync on the server: sync-core's log ([`sync_core::sync::log`]) over the database, the scope
//! of each principal, and server-side actions of people working on the web.
//!
//! - [`push`] runs one push in one transaction that serialises the project's pushes — SQLite
//!   `BEGIN IMMEDIATE` ([`db::write`]); on PostgreSQL a transaction-level advisory lock on the
//!   project ([`lock_project`]) taken before the log's last sequence number is read — so that
//!   sequence numbers are gap-free per project and become visible in order, also with several
//!   server processes on one PostgreSQL. [`pull`] reads in one consistent snapshot.
//! - [`scope_of`]: administrators see everything; an interviewer the areas of their assignments
//!   and their own cases; a supervisor the same for every interviewer of their team, plus their
//!   own, plus the work nobody has been given yet (areas without an assignment, cases without an
//!   interviewer) — computed in SQL from the columns `sync_entities` copies out of the entities.
//! - [`act`]: operations made by the server for a signed-in user without a phone (review,
//!   conflict resolution), through the same [`log::push`], from the user's server-minted *web
//!   device* ([`web_device`]); [`act_unscoped`] the same over the whole project, for listing
//!   imports, sample draws and assignments, whose permission the endpoint has checked.
//! - [`query`]: what the supervision endpoints list (interviews, conflicts, refusals).

pub mod query;
pub mod store;

pub use store::DbLog;

use crate::auth::{Actor, Role as AccountRole};
use crate::db::schema::{sync_entities, users};
use crate::db::{self, DbConnection};
use crate::store::{StoreError, devices};
use diesel::prelude::*;
use std::collections::BTreeSet;
use sync_core::sync::log::{self, Ack, LogStore, Principal, Scope};
use sync_core::sync::{
    DeviceId, EntityKind, HlcClock, MergeContext, OpBody, OpId, Operation, PullRequest,
    PullResponse, PushAck, PushRequest, Role, Target, UserId,
};
use uuid::Uuid;

/// Namespace of web device ids (UUIDv5 of `web:<user id>`).
const WEB_DEVICE_NAMESPACE: Uuid = Uuid::from_u128(0x6d61_7066_7261_6d65_7765_6264_6576_0001);
/// Name under which web devices are registered.
pub const WEB_DEVICE_NAME: &str = "web";
/// First half of the PostgreSQL advisory lock key of a project's pushes ("mfsy").
const LOCK_CLASS: i64 = 0x6d66_7379;

/// The merge settings every push on this server uses.
pub fn merge_context() -> MergeContext {
    MergeContext::default()
}

/// The sync role of an account role.
pub fn sync_role(role: AccountRole) -> Role {
    match role {
        AccountRole::Admin => Role::Admin,
        AccountRole::Supervisor => Role::Supervisor,
        AccountRole::Interviewer => Role::Interviewer,
    }
}

fn user_uuid(actor: &Actor) -> Result<UserId, StoreError> {
    Uuid::parse_str(&actor.user_id)
        .map(UserId::from_uuid)
        .map_err(|_| StoreError::Internal(format!("user id {} is not a UUID", actor.user_id)))
}

/// Serialises the pushes of `project` until the end of the current transaction: a
/// transaction-level advisory lock on PostgreSQL; nothing on SQLite, where [`db::write`]'s
/// `BEGIN IMMEDIATE` already holds the database's write lock.
pub fn lock_project(conn: &mut DbConnection, project: &str) -> Result<(), StoreError> {
    if let DbConnection::Pg(c) = conn {
        let key = Uuid::parse_str(project)
            .map(|u| u.as_u128() as u64 as i64)
            .unwrap_or_default();
        // Two int4 keys: the class, and the project folded to 32 bits.
        let folded = (key ^ (key >> 32)) as i32;
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind::<diesel::sql_types::Integer, _>(LOCK_CLASS as i32)
            .bind::<diesel::sql_types::Integer, _>(folded)
            .execute(c)?;
    }
    Ok(())
}

/// Processes a push for `who` into `project` (its id): one transaction, serialised with every
/// other push of the project (see the module documentation). A refused operation is kept and
/// acknowledged as refused; the others apply.
pub fn push(
    conn: &mut DbConnection,
    project: &str,
    who: &Principal,
    request: &PushRequest,
) -> Result<PushAck, StoreError> {
    // Encoded before the write lock is taken: only the merge and what depends on it run
    // serialised.
    let encoded = store::encode_ops(request)?;
    db::write(conn, |conn| {
        lock_project(conn, project)?;
        let mut store = DbLog::new(conn, project).with_encoded_ops(encoded);
        store.prefetch(request)?;
        let ack = log::push(&mut store, who, request, &merge_context()).map_err(into_store)?;
        store.flush()?;
        Ok(ack)
    })
}

/// Answers a pull in one consistent read.
pub fn pull(
    conn: &mut DbConnection,
    project: &str,
    who: &Principal,
    request: &PullRequest,
) -> Result<PullResponse, StoreError> {
    db::read(conn, |conn| {
        let store = DbLog::new(conn, project);
        log::pull(&store, who, request).map_err(into_store)
    })
}

fn into_store(e: log::LogError<StoreError>) -> StoreError {
    match e {
        log::LogError::Store(e) => e,
    }
}

/// The scope keys (areas and cases) `actor` may read and write in `project` (see the module
/// documentation).
pub fn scope_of(
    conn: &mut DbConnection,
    project: &str,
    actor: &Actor,
) -> Result<Scope, StoreError> {
    let people: Vec<String> = match actor.role {
        AccountRole::Admin => return Ok(Scope::All),
        AccountRole::Interviewer => vec![actor.user_id.clone()],
        AccountRole::Supervisor => {
            let mut team: Vec<String> = match &actor.team_id {
                Some(team) => users::table
                    .filter(users::team_id.eq(team))
                    .filter(users::role.eq(AccountRole::Interviewer.as_str()))
                    .select(users::id)
                    .load(conn)?,
                None => Vec::new(),
            };
            team.push(actor.user_id.clone());
            team
        }
    };
    let areas: Vec<String> = sync_entities::table
        .filter(sync_entities::project_id.eq(project))
        .filter(sync_entities::interviewer.eq_any(&people))
        .filter(sync_entities::kind.eq(EntityKind::Assignment.as_str()))
        .filter(sync_entities::deleted.eq(false))
        .select(sync_entities::scope)
        .distinct()
        .load(conn)?;
    let cases: Vec<String> = sync_entities::table
        .filter(sync_entities::project_id.eq(project))
        .filter(sync_entities::interviewer.eq_any(&people))
        .filter(sync_entities::kind.eq(EntityKind::Interview.as_str()))
        .filter(sync_entities::deleted.eq(false))
        .select(sync_entities::id)
        .load(conn)?;
    let mut keys: BTreeSet<Uuid> = areas
        .iter()
        .chain(&cases)
        .filter_map(|k| Uuid::parse_str(k).ok())
        .collect();
    if actor.role == AccountRole::Supervisor {
        // Work nobody has been given yet is every supervisor's: they are the ones who give it.
        let assigned: BTreeSet<String> = sync_entities::table
            .filter(sync_entities::project_id.eq(project))
            .filter(sync_entities::kind.eq(EntityKind::Assignment.as_str()))
            .filter(sync_entities::deleted.eq(false))
            .select(sync_entities::scope)
            .distinct()
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let unassigned_areas: Vec<String> = crate::db::schema::areas::table
            .filter(crate::db::schema::areas::project_id.eq(project))
            .select(crate::db::schema::areas::id)
            .load::<String>(conn)?
            .into_iter()
            .filter(|a| !assigned.contains(a))
            .collect();
        let unassigned_cases: Vec<String> = sync_entities::table
            .filter(sync_entities::project_id.eq(project))
            .filter(sync_entities::interviewer.is_null())
            .filter(sync_entities::kind.eq(EntityKind::Interview.as_str()))
            .filter(sync_entities::deleted.eq(false))
            .select(sync_entities::id)
            .load(conn)?;
        keys.extend(
            unassigned_areas
                .iter()
                .chain(&unassigned_cases)
                .filter_map(|k| Uuid::parse_str(k).ok()),
        );
    }
    Ok(Scope::Keys(keys))
}

/// The principal `actor` pushes and pulls as in `project`, from `device`.
pub fn principal(
    conn: &mut DbConnection,
    project: &str,
    actor: &Actor,
    device: DeviceId,
) -> Result<Principal, StoreError> {
    Ok(Principal {
        user: user_uuid(actor)?,
        device,
        role: sync_role(actor.role),
        scope: scope_of(conn, project, actor)?,
    })
}

/// The id of `user_id`'s web device (name-based: the same on every server process).
pub fn web_device_id(user_id: &str) -> DeviceId {
    DeviceId::from_uuid(Uuid::new_v5(
        &WEB_DEVICE_NAMESPACE,
        format!("web:{user_id}").as_bytes(),
    ))
}

/// The user's web device, registered in `devices` (name [`WEB_DEVICE_NAME`]) on first use.
pub fn web_device(
    conn: &mut DbConnection,
    user_id: &str,
    now: i64,
) -> Result<DeviceId, StoreError> {
    let id = web_device_id(user_id);
    let text = id.to_string();
    match devices::by_id(conn, &text)? {
        Some(d) if d.user_id == user_id => {}
        _ => {
            devices::register(conn, &text, user_id, WEB_DEVICE_NAME, now)?;
        }
    }
    Ok(id)
}

/// Acts for `actor` in `project` without a phone: each `(target, body)` becomes an operation of
/// the actor's web device — the next `device_seq`, the target's current version as its base, a
/// clock stamp from `now` (ms since the epoch) — and all of them go through [`log::push`] in
/// one transaction, in order (an operation sees the effect of the ones before it). Returns one
/// acknowledgement per action; a refused action is kept as a refusal like a phone's, and does
/// not stop the others.
pub fn act(
    conn: &mut DbConnection,
    project: &str,
    actor: &Actor,
    actions: &[(Target, OpBody)],
    now: i64,
) -> Result<Vec<Ack>, StoreError> {
    act_in(conn, project, actor, actions, now, None)
}

/// [`act`] over the whole project, whatever the actor's assignments: for actions whose
/// permission the caller has already checked and that create what scopes are made of (a
/// supervisor importing a listing into areas nobody is assigned to yet, drawing a sample,
/// assigning an area). Authorship, roles and every merge rule still apply.
pub fn act_unscoped(
    conn: &mut DbConnection,
    project: &str,
    actor: &Actor,
    actions: &[(Target, OpBody)],
    now: i64,
) -> Result<Vec<Ack>, StoreError> {
    act_in(conn, project, actor, actions, now, Some(Scope::All))
}

fn act_in(
    conn: &mut DbConnection,
    project: &str,
    actor: &Actor,
    actions: &[(Target, OpBody)],
    now: i64,
    scope: Option<Scope>,
) -> Result<Vec<Ack>, StoreError> {
    if actions.is_empty() {
        return Ok(Vec::new());
    }
    let device = web_device(conn, &actor.user_id, now)?;
    db::write(conn, |conn| {
        lock_project(conn, project)?;
        let mut who = principal(conn, project, actor, device)?;
        if let Some(scope) = scope {
            who.scope = scope;
        }
        let mut store = DbLog::new(conn, project);
        let mut clock = HlcClock::default();
        let wall = u64::try_from(now).unwrap_or(0);
        let mut acks = Vec::with_capacity(actions.len());
        for (target, body) in actions {
            let base_version = store.entity(target.id)?.map_or(0, |e| e.version);
            let op = Operation {
                op_id: OpId::from_uuid(Uuid::now_v7()),
                device_id: device,
                device_seq: store.last_device_seq(device)? + 1,
                author: who.user,
                role: who.role.clone(),
                hlc: clock.tick(wall),
                target: target.clone(),
                base_version,
                body: body.clone(),
                extra: Default::default(),
            };
            let request = PushRequest {
                version: sync_core::sync::wire::WIRE_VERSION,
                device_id: device,
                ops: vec![op],
                extra: Default::default(),
            };
            let mut ack =
                log::push(&mut store, &who, &request, &merge_context()).map_err(into_store)?;
            acks.append(&mut ack.acks);
        }
        store.flush()?;
        Ok(acks)
    })
}
