//! The merge: one pure, deterministic function of (entity, operation), used by the server to apply
//! pushed operations and by phones to show their pending operations on top of the server's state.
//! `docs/sync.md` has the full rules with examples; in short:
//!
//! # Concurrency is judged from versions
//!
//! Every field keeps its *heads*: the assertions no later operation has superseded (see
//! [`crate::sync::entity`]). An operation made against base version B supersedes its own device's
//! head (a device's operations are applied in order) and the heads of other devices it had seen —
//! merged at a version ≤ B — whose value is the one it replaced (`old`). Heads left beside its own
//! were made concurrently. This makes the outcome of concurrent operations the same whatever order
//! they arrive in (a value comparison alone is fooled by A→B→A edits; versions alone would let an
//! edit replace a value its author only saw inside a conflict shown on the phone).
//!
//! # Field rules (by [`FieldKind`])
//!
//! * **attribute / answer**: one value among the heads → that value (devices entering the same
//!   value agree). Several values → a conflict record keeps every head and the field shows the
//!   [`provisional`] value until a `ResolveConflict`. A record nobody had seen disappears if its
//!   values come to agree through their devices' own edits; an author who had seen it open
//!   withdraws only their own value.
//! * **position**: the last head merged (server order) is shown; heads further apart than
//!   [`MergeContext::position_flag_m`] (default 50 m) open a position conflict record.
//! * **counter**: `new − old` is a delta added to the current value; never a conflict.
//! * **workflow / system**: only actions change them, after checking their preconditions.
//!
//! # Actions
//!
//! * **delete** with others' edits it had not seen: not applied; an existence conflict holds the
//!   delete and the edits. An edit reaching a deleted entity revives it and flags the same
//!   conflict. Roster removals likewise, per instance. An edit is never lost to a delete.
//! * **split / merge_into** of a dwelling already split, merged or deleted: not applied, queued in
//!   a structure conflict. Applied despite concurrent edits or deletes, which are flagged; edits
//!   reaching a split dwelling are applied to it and flagged; any change made without having seen
//!   a split attempt (applied or failed) joins its record.
//! * **move_household**: the household's `_dwelling` merges like an attribute: concurrent moves to
//!   different dwellings make a parent conflict.
//! * **add_member**: the same person (same normalised name, and the same sex, birth year and age
//!   where both say) added concurrently on two devices: both kept, a duplicate conflict flags them.
//! * **approve at N**: refused while conflicts the supervisor had seen are open; not applied (a
//!   workflow conflict) if others changed the interview after N, nor if it is not submitted. Once
//!   approved, an edit made without having seen the approval is queued in the workflow conflict
//!   (the device's later edits queue behind it); made after seeing it, refused. Any change made
//!   without having seen an approval attempt joins its record, so the race is recorded whichever
//!   arrived first. Only a reopen (the action, or a `Reopen` decision) opens the interview again.
//! * **resolve_conflict**: a decision covers what the supervisor saw (the record must have come
//!   from the server); later contributions stay competing, operations queued among them are
//!   re-run after the decision.
//!
//! # Provisional values
//!
//! While a value conflict is open the field shows [`provisional`]: the value of the head whose
//! author has the highest role rank (administrator > supervisor > interviewer = lister), then the
//! smallest value in [`FieldValue::canonical_cmp`] order, then the smallest device id. Clocks
//! and arrival order play no part.

use super::entity::{
    APPROVED_KEY, Conflict, ConflictEntry, ConflictKind, DELETED_KEY, DWELLING_FIELD,
    EXISTENCE_KEY, Entity, Head, InterviewStatus, MERGED_INTO_FIELD, PARTS_FIELD, RETIRED_FIELD,
    Resolution, SPLIT_FROM_FIELD, STATUS_FIELD, STRUCTURE_KEY, VISITS_COUNTER, WORKFLOW_KEY,
};
use super::ids::ConflictId;
use super::op::{Change, Decision, OpBody, Operation, Part};
use super::schema::{EntityKind, FieldKind, Role, field_kind, instance_path, valid_path};
use super::value::{FieldValue, Unknown};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Settings of the merge. The server and phones must use the same.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MergeContext {
    /// Concurrent positions further apart than this many metres are flagged.
    pub position_flag_m: f64,
}

impl Default for MergeContext {
    fn default() -> Self {
        Self {
            position_flag_m: 50.0,
        }
    }
}

/// The longest note (return, reopen, release), in bytes.
pub const MAX_NOTE_LEN: usize = 10_000;
/// The most parts a split may make.
pub const MAX_PARTS: usize = 256;

/// Why an operation was refused. Refused operations are kept with their reason and shown to the
/// device and to supervisors. Codes are stable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("field path {0:?} is malformed")]
    BadField(String),
    #[error("{field}: {message}")]
    BadValue { field: String, message: String },
    #[error("{0:?} is workflow state: change it with a workflow action")]
    WorkflowField(String),
    #[error("{0:?} is kept by mapframe: change it with a structural action")]
    SystemField(String),
    #[error("no {kind} {id} exists")]
    UnknownTarget { kind: EntityKind, id: Uuid },
    #[error("{kind} {id} already exists")]
    AlreadyExists { kind: String, id: Uuid },
    #[error("the target is a {found}, the operation names a {expected}")]
    WrongKind {
        expected: EntityKind,
        found: EntityKind,
    },
    #[error("{action} does not apply to a {kind}")]
    NotApplicable {
        action: &'static str,
        kind: EntityKind,
    },
    #[error("a {role} may not {action}")]
    NoPermission { role: Role, action: &'static str },
    #[error("the interview is approved: a supervisor must reopen it before it can change")]
    InterviewApproved,
    #[error("approval at version {at}, but the interview is only at version {current}")]
    BadVersion { at: u64, current: u64 },
    #[error("base version {base} is ahead of the entity's version {current}")]
    BadBase { base: u64, current: u64 },
    #[error("the interview has unresolved conflicts: resolve them before approving")]
    UnresolvedConflicts,
    #[error("no conflict {0} on this entity")]
    ConflictNotFound(ConflictId),
    #[error("conflict {0} was already resolved differently")]
    AlreadyResolved(ConflictId),
    #[error("conflict {0} has not been received from the server yet: sync, then resolve it")]
    ConflictNotSeen(ConflictId),

    #[error("decision {decision} does not fit a {kind} conflict: {detail}")]
    BadDecision {
        decision: String,
        kind: ConflictKind,
        detail: String,
    },
    #[error("roster instance {0} does not exist")]
    UnknownMember(String),
    #[error("unknown action {0:?}: this server is older than the phone")]
    UnknownAction(String),
    #[error("the target is outside the areas and cases assigned to this device")]
    OutOfScope,
    #[error("the operation's author is not the signed-in user")]
    AuthorMismatch,
    #[error("the operation was made on another device")]
    DeviceMismatch,
    #[error("the signed-in user does not hold the role {0}")]
    RoleNotHeld(Role),
}

impl Refusal {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadField(_) => "bad_field",
            Self::BadValue { .. } => "bad_value",
            Self::WorkflowField(_) => "workflow_field",
            Self::SystemField(_) => "system_field",
            Self::UnknownTarget { .. } => "unknown_target",
            Self::AlreadyExists { .. } => "already_exists",
            Self::WrongKind { .. } => "wrong_kind",
            Self::NotApplicable { .. } => "not_applicable",
            Self::NoPermission { .. } => "no_permission",
            Self::InterviewApproved => "interview_approved",
            Self::BadVersion { .. } => "bad_version",
            Self::BadBase { .. } => "bad_base",
            Self::UnresolvedConflicts => "unresolved_conflicts",
            Self::ConflictNotFound(_) => "conflict_not_found",
            Self::AlreadyResolved(_) => "already_resolved",
            Self::ConflictNotSeen(_) => "conflict_not_seen",

            Self::BadDecision { .. } => "bad_decision",
            Self::UnknownMember(_) => "unknown_member",
            Self::UnknownAction(_) => "unknown_action",
            Self::OutOfScope => "out_of_scope",
            Self::AuthorMismatch => "author_mismatch",
            Self::DeviceMismatch => "device_mismatch",
            Self::RoleNotHeld(_) => "role_not_held",
        }
    }

    /// The code and message as sent on the wire.
    pub fn reason(&self) -> Reason {
        Reason {
            code: self.code().to_owned(),
            message: self.to_string(),
            extra: Unknown::new(),
        }
    }
}

/// A refusal as it travels: a stable code and a human message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub message: String,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// What a merge did, without the entity (see [`merge_into`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// At least one value changed.
    Applied,
    /// No value changed, but the assertion was recorded in the provenance (the entity's version
    /// moved): the "server already holds the new value" case.
    Agreed,
    /// Nothing changed at all (already released, already submitted…).
    NoOp,
    /// Conflict records were opened or joined; parts of the operation may have applied.
    Conflict { conflicts: Vec<ConflictId> },
    /// Refused; the entity is untouched.
    Refused(Refusal),
}

/// The result of [`merge_into`].
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub verdict: Verdict,
    /// Entities the operation created besides its target (the parts of a split).
    pub spawned: Vec<Entity>,
}

impl Merged {
    fn refused(r: Refusal) -> Self {
        Self {
            verdict: Verdict::Refused(r),
            spawned: Vec::new(),
        }
    }
}

/// The result of [`merge`].
#[derive(Debug, Clone, PartialEq)]
pub enum MergeOutcome {
    /// Applied: the entity as it now is.
    Applied {
        entity: Entity,
        spawned: Vec<Entity>,
    },
    /// Recorded without changing a value.
    Agreed { entity: Entity },
    /// Nothing to do.
    NoOp,
    /// Conflict records opened or joined (other parts may have applied).
    Conflict {
        entity: Entity,
        spawned: Vec<Entity>,
        conflicts: Vec<ConflictId>,
    },
    /// Refused, with the reason.
    Refused { refusal: Refusal },
}

/// Merges `op` into `entity` (None when the target does not exist): the pure form.
pub fn merge(entity: Option<&Entity>, op: &Operation, ctx: &MergeContext) -> MergeOutcome {
    let mut slot = entity.cloned();
    let merged = merge_into(&mut slot, op, ctx);
    let Some(entity) = slot else {
        return match merged.verdict {
            Verdict::Refused(refusal) => MergeOutcome::Refused { refusal },
            _ => MergeOutcome::NoOp,
        };
    };
    match merged.verdict {
        Verdict::Applied => MergeOutcome::Applied {
            entity,
            spawned: merged.spawned,
        },
        Verdict::Agreed => MergeOutcome::Agreed { entity },
        Verdict::NoOp => MergeOutcome::NoOp,
        Verdict::Conflict { conflicts } => MergeOutcome::Conflict {
            entity,
            spawned: merged.spawned,
            conflicts,
        },
        Verdict::Refused(refusal) => MergeOutcome::Refused { refusal },
    }
}

/// Whether merging `op` may create entities besides its target ([`Merged::spawned`]): a split,
/// or a resolution that replays queued operations (a queued split among them). For every other
/// operation `spawned` is empty, which lets a store lend its own copy of the target to
/// [`merge_into`] instead of cloning it (see [`crate::sync::log::LogStore::take_entity`]).
pub fn may_spawn(op: &Operation) -> bool {
    matches!(
        op.body,
        OpBody::Split { .. } | OpBody::ResolveConflict { .. }
    )
}

/// Merges `op` into the entity in `slot` in place (the server's and the benchmark's hot path; no
/// copy of the entity). Same decisions as [`merge`]: on `Refused` and `NoOp` the slot is left
/// exactly as it was.
pub fn merge_into(slot: &mut Option<Entity>, op: &Operation, ctx: &MergeContext) -> Merged {
    if let Err(r) = validate(op) {
        return Merged::refused(r);
    }
    if let OpBody::Create { scope, fields } = &op.body {
        if slot.is_some() {
            return Merged::refused(Refusal::AlreadyExists {
                kind: op.target.kind.to_string(),
                id: op.target.id,
            });
        }
        *slot = Some(create(op, *scope, fields, op.target.id));
        return Merged {
            verdict: Verdict::Applied,
            spawned: Vec::new(),
        };
    }
    let Some(entity) = slot.as_mut() else {
        return Merged::refused(Refusal::UnknownTarget {
            kind: op.target.kind.clone(),
            id: op.target.id,
        });
    };
    if entity.kind != op.target.kind {
        return Merged::refused(Refusal::WrongKind {
            expected: op.target.kind.clone(),
            found: entity.kind.clone(),
        });
    }
    if op.base_version > entity.version {
        return Merged::refused(Refusal::BadBase {
            base: op.base_version,
            current: entity.version,
        });
    }
    if let Err(r) = check(entity, op) {
        return Merged::refused(r);
    }
    let mut tx = Tx::new(entity, op, ctx);
    let step = tx.apply();
    tx.finish(step)
}

// ---------------------------------------------------------------------------------------------
// Validation (no entity needed, nothing mutated)

fn bad_value(field: &str, message: &str) -> Refusal {
    Refusal::BadValue {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

fn check_value(field: &str, kind: FieldKind, value: &FieldValue) -> Result<(), Refusal> {
    if !value.is_valid() {
        return Err(bad_value(
            field,
            "not a storable value (non-finite number, position out of range or nested too deep)",
        ));
    }
    match kind {
        FieldKind::Position if !matches!(value, FieldValue::Position(_) | FieldValue::Null) => Err(
            bad_value(field, "a position field takes a position or null"),
        ),
        FieldKind::Counter if !matches!(value, FieldValue::Int(_) | FieldValue::Null) => {
            Err(bad_value(field, "a counter takes an integer"))
        }
        _ => Ok(()),
    }
}

/// Fields set by a create, a split part, a new member or a visit.
fn check_new_fields(
    kind: &EntityKind,
    prefix: &str,
    fields: &BTreeMap<String, FieldValue>,
    allow_system: bool,
) -> Result<(), Refusal> {
    for (name, value) in fields {
        let path = format!("{prefix}{name}");
        if !valid_path(name) || !valid_path(&path) {
            return Err(Refusal::BadField(path));
        }
        let fk = field_kind(kind, &path);
        if !allow_system && !fk.editable() {
            return Err(if fk == FieldKind::Workflow {
                Refusal::WorkflowField(path)
            } else {
                Refusal::SystemField(path)
            });
        }
        check_value(&path, fk, value)?;
    }
    Ok(())
}

fn check_changes(kind: &EntityKind, changes: &[Change]) -> Result<(), Refusal> {
    for c in changes {
        if !valid_path(&c.field) {
            return Err(Refusal::BadField(c.field.clone()));
        }
        match field_kind(kind, &c.field) {
            FieldKind::Workflow => return Err(Refusal::WorkflowField(c.field.clone())),
            FieldKind::System => return Err(Refusal::SystemField(c.field.clone())),
            FieldKind::Counter => {
                let old = counter_int(&c.old).ok_or_else(|| {
                    bad_value(&c.field, "a counter's old value must be an integer")
                })?;
                let new = counter_int(&c.new)
                    .ok_or_else(|| bad_value(&c.field, "a counter takes an integer"))?;
                new.checked_sub(old)
                    .ok_or_else(|| bad_value(&c.field, "counter change out of range"))?;
            }
            fk => check_value(&c.field, fk, &c.new)?,
        }
    }
    Ok(())
}

fn counter_int(v: &FieldValue) -> Option<i64> {
    match v {
        FieldValue::Int(n) => Some(*n),
        FieldValue::Null => Some(0),
        _ => None,
    }
}

fn valid_group(group: &str) -> bool {
    valid_path(group) && !group.ends_with(']') && !group.split('/').any(|s| s.starts_with('_'))
}

fn valid_word(s: &str) -> bool {
    valid_path(s) && !s.contains('/') && !s.contains('[')
}

/// Checks that need only the operation: shapes, values, permissions, target kinds.
fn validate(op: &Operation) -> Result<(), Refusal> {
    let kind = &op.target.kind;
    let needs = |ok: bool, action: &'static str| {
        if ok {
            Ok(())
        } else {
            Err(Refusal::NotApplicable {
                action,
                kind: kind.clone(),
            })
        }
    };
    let supervisor = |action: &'static str| {
        if op.role.supervises() {
            Ok(())
        } else {
            Err(Refusal::NoPermission {
                role: op.role.clone(),
                action,
            })
        }
    };
    let note = |n: &str| {
        if n.len() > MAX_NOTE_LEN {
            Err(bad_value("note", "longer than 10,000 bytes"))
        } else {
            Ok(())
        }
    };
    let is_interview = *kind == EntityKind::Interview;
    match &op.body {
        OpBody::Edit { changes } => check_changes(kind, changes),
        OpBody::Create { fields, .. } => check_new_fields(kind, "", fields, true),
        OpBody::Delete => Ok(()),
        OpBody::Split { parts } => {
            needs(*kind == EntityKind::Dwelling, "split")?;
            check_parts(op, parts)
        }
        OpBody::MergeInto { survivor } => {
            needs(*kind == EntityKind::Dwelling, "merge_into")?;
            if *survivor == op.target.id {
                return Err(bad_value("survivor", "a dwelling cannot absorb itself"));
            }
            Ok(())
        }
        OpBody::MoveHousehold { .. } => needs(*kind == EntityKind::Household, "move_household"),
        OpBody::AddMember { group, fields, .. } => {
            needs(is_interview || *kind == EntityKind::Household, "add_member")?;
            if !valid_group(group) {
                return Err(Refusal::BadField(group.clone()));
            }
            let prefix = format!("{group}[{}]/", Uuid::nil());
            check_new_fields(kind, &prefix, fields, false)
        }
        OpBody::RemoveMember { group, .. } => {
            needs(
                is_interview || *kind == EntityKind::Household,
                "remove_member",
            )?;
            if valid_group(group) {
                Ok(())
            } else {
                Err(Refusal::BadField(group.clone()))
            }
        }
        OpBody::RecordVisit { fields, .. } => {
            needs(
                is_interview || *kind == EntityKind::Household,
                "record_visit",
            )?;
            let prefix = format!("visits[{}]/", Uuid::nil());
            check_new_fields(kind, &prefix, fields, false)
        }
        OpBody::Submit => needs(is_interview, "submit"),
        OpBody::Approve { .. } => {
            needs(is_interview, "approve")?;
            supervisor("approve")
        }
        OpBody::Return { note: n } => {
            needs(is_interview, "return")?;
            supervisor("return")?;
            note(n)
        }
        OpBody::Reopen { note: n } => {
            needs(is_interview, "reopen")?;
            supervisor("reopen")?;
            note(n)
        }
        OpBody::ResolveConflict { .. } => supervisor("resolve a conflict"),
        OpBody::ReleaseReplicate {
            stratum,
            replicate,
            note: n,
        } => {
            needs(*kind == EntityKind::Sample, "release_replicate")?;
            supervisor("release a replicate")?;
            if !valid_word(stratum) {
                return Err(Refusal::BadField(format!("released/{stratum}")));
            }
            if *replicate == 0 {
                return Err(bad_value("replicate", "replicates are numbered from 1"));
            }
            note(n)
        }
        OpBody::Unknown(v) => Err(Refusal::UnknownAction(match v {
            FieldValue::Text(s) => s.clone(),
            FieldValue::Map(m) => m.keys().next().cloned().unwrap_or_default(),
            _ => String::new(),
        })),
    }
}

fn check_parts(op: &Operation, parts: &[Part]) -> Result<(), Refusal> {
    if parts.len() < 2 || parts.len() > MAX_PARTS {
        return Err(bad_value("parts", "a split makes 2 to 256 parts"));
    }
    let mut ids: Vec<Uuid> = parts.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != parts.len() || ids.contains(&op.target.id) {
        return Err(bad_value(
            "parts",
            "parts need distinct new ids, not the dwelling's own",
        ));
    }
    for p in parts {
        check_new_fields(&EntityKind::Dwelling, "", &p.fields, false)?;
    }
    Ok(())
}

/// Whether a data write will be queued behind its device's own queued writes.
fn queued_behind(e: &Entity, op: &Operation) -> bool {
    op.body.writes_data()
        && e.kind == EntityKind::Interview
        && !e.conflicts.is_empty()
        && e.open_conflict(WORKFLOW_KEY).is_some_and(|c| {
            c.entries.iter().any(|en| {
                en.device == op.device_id
                    && en.queued.as_ref().is_some_and(|q| q.body.writes_data())
            })
        })
}

/// Checks that need the entity but mutate nothing (so that a refusal leaves it untouched).
fn check(e: &Entity, op: &Operation) -> Result<(), Refusal> {
    if op.body.writes_data() {
        // A write that will be queued is checked against the state it meets when applied.
        if queued_behind(e, op) || matches!(approval_gate(e, op)?, Gate::Queue) {
            return Ok(());
        }
    }
    match &op.body {
        OpBody::AddMember {
            group, instance, ..
        } if e.fields.contains_key(&marker(group, *instance, "_present")) => {
            return Err(Refusal::AlreadyExists {
                kind: "roster instance".into(),
                id: *instance,
            });
        }
        OpBody::RemoveMember { group, instance }
            if !e.fields.contains_key(&marker(group, *instance, "_present")) =>
        {
            return Err(Refusal::UnknownMember(instance_path(group, *instance)));
        }
        OpBody::RecordVisit { visit, .. } => {
            let prefix = format!("visits[{visit}]/");
            if e.fields
                .range(prefix.clone()..)
                .next()
                .is_some_and(|(k, _)| k.starts_with(&prefix))
            {
                return Err(Refusal::AlreadyExists {
                    kind: "visit".into(),
                    id: *visit,
                });
            }
        }
        OpBody::Approve { at_version } => {
            if *at_version > e.version {
                return Err(Refusal::BadVersion {
                    at: *at_version,
                    current: e.version,
                });
            }
            if e.open_conflicts().any(|c| c.opened_at <= *at_version) {
                return Err(Refusal::UnresolvedConflicts);
            }
        }
        OpBody::ResolveConflict { conflict, decision } => {
            let c = e
                .conflict(*conflict)
                .ok_or(Refusal::ConflictNotFound(*conflict))?;
            if let Some(res) = &c.resolution {
                if res.decision != *decision {
                    return Err(Refusal::AlreadyResolved(*conflict));
                }
                return Ok(());
            }
            if c.opened_at > op.base_version {
                // Only a record received from the server can be resolved: the same id may name
                // another record there (ids count the records of a key).
                return Err(Refusal::ConflictNotSeen(*conflict));
            }
            let approved = e.status() == Some(InterviewStatus::Approved.as_str());
            let changes_data = match decision {
                Decision::Value(_) | Decision::Delete | Decision::RemoveMember(_) => true,
                Decision::KeepCurrent => {
                    matches!(c.kind, ConflictKind::Value | ConflictKind::Parent)
                }
                _ => false,
            };
            if e.kind == EntityKind::Interview && approved && changes_data {
                // Nothing changes an approved interview but a reopen.
                return Err(Refusal::InterviewApproved);
            }
            if *decision == Decision::Approve
                && e.open_conflicts()
                    .any(|o| o.id != c.id && o.opened_at <= op.base_version)
            {
                return Err(Refusal::UnresolvedConflicts);
            }

            check_decision(e, c, decision)?;
        }
        _ => {}
    }
    if op.body.writes_data() || matches!(op.body, OpBody::MoveHousehold { .. }) {
        approval_gate(e, op).map(|_| ())?;
    }
    Ok(())
}

fn check_decision(e: &Entity, c: &Conflict, d: &Decision) -> Result<(), Refusal> {
    let bad = |detail: &str| {
        Err(Refusal::BadDecision {
            decision: decision_name(d).to_owned(),
            kind: c.kind.clone(),
            detail: detail.to_owned(),
        })
    };
    match (&c.kind, d) {
        (_, Decision::Unknown(_)) => bad("unknown decision"),
        (ConflictKind::Position, Decision::KeepCurrent) => {
            bad("name the position to keep (the one shown depends on arrival order)")
        }
        (_, Decision::KeepCurrent) => Ok(()),
        (ConflictKind::Value, Decision::Value(v)) => {
            check_value(&c.key, field_kind(&e.kind, &c.key), v).or_else(|r| bad(&r.to_string()))
        }
        (ConflictKind::Position, Decision::Value(v)) => {
            check_value(&c.key, FieldKind::Position, v).or_else(|r| bad(&r.to_string()))
        }
        (ConflictKind::Parent, Decision::Value(FieldValue::Text(t))) => {
            if Uuid::try_parse(t).is_ok() {
                Ok(())
            } else {
                bad("a dwelling id")
            }
        }
        (ConflictKind::Existence, Decision::Delete) => Ok(()),
        (ConflictKind::Workflow, Decision::Reopen) if c.key == WORKFLOW_KEY => Ok(()),
        (ConflictKind::Workflow, Decision::Approve) if c.key == WORKFLOW_KEY => {
            match e.status().and_then(InterviewStatus::parse) {
                Some(InterviewStatus::Submitted | InterviewStatus::Approved) => Ok(()),
                _ => bad("only a submitted interview can be approved"),
            }
        }
        (ConflictKind::Duplicate, Decision::RemoveMember(id)) => {
            let group = c.key.split('#').next().unwrap_or_default();
            if c.entries
                .iter()
                .any(|en| en.value == Some(FieldValue::text(id.to_string())))
                && e.fields.contains_key(&marker(group, *id, "_present"))
            {
                Ok(())
            } else {
                bad("not one of the duplicate instances")
            }
        }
        _ => bad("this decision does not apply"),
    }
}

fn decision_name(d: &Decision) -> &'static str {
    match d {
        Decision::Value(_) => "value",
        Decision::KeepCurrent => "keep_current",
        Decision::Delete => "delete",
        Decision::Approve => "approve",
        Decision::Reopen => "reopen",
        Decision::RemoveMember(_) => "remove_member",
        Decision::Unknown(_) => "unknown",
    }
}

enum Gate {
    /// Go ahead.
    Open,
    /// The interview is approved and the op had not seen it: queue it in a workflow conflict.
    Queue,
}

/// The approval rule for operations that write interview data.
fn approval_gate(e: &Entity, op: &Operation) -> Result<Gate, Refusal> {
    if e.kind != EntityKind::Interview || e.status() != Some(InterviewStatus::Approved.as_str()) {
        return Ok(Gate::Open);
    }
    let unseen_approval = e.heads(STATUS_FIELD).iter().any(|h| !h.seen_by(op));
    if unseen_approval {
        Ok(Gate::Queue)
    } else {
        Err(Refusal::InterviewApproved)
    }
}

fn create(op: &Operation, scope: Uuid, fields: &BTreeMap<String, FieldValue>, id: Uuid) -> Entity {
    let mut e = Entity::new(op.target.kind.clone(), id, scope);
    e.version = 1;
    for (k, v) in fields {
        e.provenance
            .insert(k.clone(), vec![Head::of(op, 1, v.clone())]);
        e.fields.insert(k.clone(), v.clone());
    }
    e.seen.insert(op.device_id, op.device_seq);
    e
}

fn marker(group: &str, instance: Uuid, name: &str) -> String {
    format!("{group}[{instance}]/{name}")
}

// ---------------------------------------------------------------------------------------------
// Applying

/// What a deletable thing is: the entity itself, or one instance of a repeat group.
#[derive(Clone)]
enum Subject {
    Entity,
    Member { group: String, instance: Uuid },
}

impl Subject {
    /// Where its delete heads live.
    fn delete_key(&self) -> String {
        match self {
            Subject::Entity => DELETED_KEY.to_owned(),
            Subject::Member { group, instance } => marker(group, *instance, "_removed"),
        }
    }

    /// The prefix of the data it holds.
    fn prefix(&self) -> String {
        match self {
            Subject::Entity => String::new(),
            Subject::Member { group, instance } => format!("{}/", instance_path(group, *instance)),
        }
    }

    fn conflict_key(&self) -> String {
        match self {
            Subject::Entity => EXISTENCE_KEY.to_owned(),
            Subject::Member { group, instance } => instance_path(group, *instance),
        }
    }

    fn from_key(key: &str) -> Option<Subject> {
        if key == EXISTENCE_KEY {
            return Some(Subject::Entity);
        }
        let open = key.rfind('[')?;
        let inner = key.get(open + 1..key.len().checked_sub(1)?)?;
        Some(Subject::Member {
            group: key[..open].to_owned(),
            instance: Uuid::try_parse(inner).ok()?,
        })
    }
}

enum Step {
    Done,
    NoOp,
}

struct Tx<'a> {
    e: &'a mut Entity,
    op: &'a Operation,
    ctx: &'a MergeContext,
    /// The version this operation's changes are merged at.
    version: u64,
    changed: bool,
    recorded: bool,
    /// Whether the op left a head that counts as a change of the entity (not a delete or an
    /// approval assertion).
    wrote: bool,
    /// Whether the op changed the workflow status.
    wrote_status: bool,
    conflicts: Vec<ConflictId>,
    spawned: Vec<Entity>,
}

impl<'a> Tx<'a> {
    fn new(e: &'a mut Entity, op: &'a Operation, ctx: &'a MergeContext) -> Self {
        let version = e.version + 1;
        Self {
            e,
            op,
            ctx,
            version,
            changed: false,
            recorded: false,
            wrote: false,
            wrote_status: false,
            conflicts: Vec::new(),
            spawned: Vec::new(),
        }
    }

    fn finish(mut self, step: Step) -> Merged {
        self.join_approval_race();
        self.join_structure_race();
        if self.recorded {
            self.withdraw_stale_attempts();
        }
        let touched = self.recorded || self.changed || !self.conflicts.is_empty();
        if matches!(step, Step::NoOp) && !touched {
            return Merged {
                verdict: Verdict::NoOp,
                spawned: Vec::new(),
            };
        }
        self.e.version = self.version;
        let seen = self.e.seen.entry(self.op.device_id).or_insert(0);
        *seen = (*seen).max(self.op.device_seq);
        let verdict = if !self.conflicts.is_empty() {
            let mut conflicts = self.conflicts;
            conflicts.sort_unstable();
            conflicts.dedup();
            Verdict::Conflict { conflicts }
        } else if self.changed {
            Verdict::Applied
        } else {
            Verdict::Agreed
        };
        Merged {
            verdict,
            spawned: self.spawned,
        }
    }

    fn apply(&mut self) -> Step {
        let op = self.op;
        match &op.body {
            OpBody::Edit { changes } => {
                if changes.is_empty() {
                    return Step::NoOp;
                }
                if self.data_gate() {
                    for c in changes {
                        self.member_revive_for(&c.field);
                        self.write_change(c);
                    }
                }
                Step::Done
            }
            OpBody::MoveHousehold { from, to } => {
                if self.data_gate() {
                    let old = from.map_or(FieldValue::Null, |f| FieldValue::text(f.to_string()));
                    let to = FieldValue::text(to.to_string());
                    self.write_field(DWELLING_FIELD, FieldKind::System, Some(&old), to);
                }
                Step::Done
            }
            OpBody::AddMember {
                group,
                instance,
                fields,
            } => {
                if self.data_gate() {
                    self.add_member(group, *instance, fields);
                }
                Step::Done
            }
            OpBody::RemoveMember { group, instance } => {
                if self.data_gate() {
                    let subject = Subject::Member {
                        group: group.clone(),
                        instance: *instance,
                    };
                    self.delete(&subject);
                }
                Step::Done
            }
            OpBody::RecordVisit { visit, fields } => {
                if self.data_gate() {
                    let prefix = format!("visits[{visit}]/");
                    self.set_single(&format!("{prefix}_present"), FieldValue::Bool(true));
                    for (k, v) in fields {
                        let path = format!("{prefix}{k}");
                        let kind = field_kind(&self.e.kind, &path);
                        self.write_field(&path, kind, Some(&FieldValue::Null), v.clone());
                    }
                    self.add_counter(VISITS_COUNTER, 1);
                }
                Step::Done
            }
            OpBody::Delete => {
                if let Some(step) = self.structure_blocks_delete() {
                    return step;
                }
                self.delete(&Subject::Entity);
                Step::Done
            }
            OpBody::Split { parts } => self.split(parts),
            OpBody::MergeInto { survivor } => self.merge_away(*survivor),
            OpBody::Submit => self.submit(),
            OpBody::Approve { at_version } => self.approve(*at_version),
            OpBody::Return { note } => self.review(InterviewStatus::Returned, "return", note),
            OpBody::Reopen { note } => self.review(InterviewStatus::InProgress, "reopen", note),
            OpBody::ResolveConflict { conflict, decision } => self.resolve(*conflict, decision),
            OpBody::ReleaseReplicate {
                stratum,
                replicate,
                note,
            } => self.release(stratum, *replicate, note),
            // Refused by `validate`.
            OpBody::Create { .. } | OpBody::Unknown(_) => Step::NoOp,
        }
    }

    // ----- primitives -------------------------------------------------------------------------

    fn entry(&self, queued: bool) -> ConflictEntry {
        ConflictEntry::from_op(self.op, self.version, queued)
    }

    fn set_field_value(&mut self, path: &str, value: FieldValue) {
        match self.e.fields.get_mut(path) {
            Some(slot) => {
                if *slot != value {
                    *slot = value;
                    self.changed = true;
                }
            }
            None => {
                self.e.fields.insert(path.to_owned(), value);
                self.changed = true;
            }
        }
    }

    /// Sets a field written only after an action's precondition passed: one head.
    fn set_single(&mut self, path: &str, value: FieldValue) {
        let head = Head::of(self.op, self.version, value.clone());
        match self.e.provenance.get_mut(path) {
            Some(heads) => {
                heads.clear();
                heads.push(head);
            }
            None => {
                self.e.provenance.insert(path.to_owned(), vec![head]);
            }
        }
        self.set_field_value(path, value);
        self.recorded = true;
        self.wrote = true;
        self.wrote_status |= path == STATUS_FIELD;
    }

    /// Opens a conflict record on `key`, or adds entries to the open one. Returns its index.
    fn flag(&mut self, key: &str, kind: ConflictKind, entries: Vec<ConflictEntry>) -> usize {
        let idx = match self
            .e
            .conflicts
            .iter()
            .position(|c| c.key == key && c.is_open())
        {
            Some(i) => i,
            None => {
                let ordinal = self.e.conflicts.iter().filter(|c| c.key == key).count();
                self.e.conflicts.push(Conflict {
                    id: ConflictId::derive(self.e.id, key, ordinal as u32),
                    key: key.to_owned(),
                    kind,
                    opened_at: self.version,
                    entries: Vec::new(),
                    superseded: Vec::new(),
                    provisional: None,
                    resolution: None,
                    extra: Unknown::new(),
                });
                self.e.conflicts.len() - 1
            }
        };
        let c = &mut self.e.conflicts[idx];
        for en in entries {
            if !c.entries.iter().any(|x| x.op == en.op) {
                c.entries.push(en);
            }
        }
        c.entries.sort_by_key(|a| (a.device, a.seq));
        self.conflicts.push(c.id);
        self.recorded = true;
        idx
    }

    /// Records the op's assertion of `value` for a field that merges as a value (attribute,
    /// answer, position, or the household's dwelling). `old` is the value the op replaced as its
    /// device showed it (`None`: a supervisor's decision, which replaces every value it saw).
    ///
    /// The op supersedes its own device's head, and the heads of other devices it had seen
    /// (merged at or before its base version) whose value is the one it replaced — unless it saw
    /// the conflict record open, in which case it withdraws only its own value.
    fn write_field(
        &mut self,
        path: &str,
        kind: FieldKind,
        old: Option<&FieldValue>,
        value: FieldValue,
    ) {
        let op = self.op;
        let head = Head::of(op, self.version, value.clone());
        let Entity {
            provenance,
            conflicts,
            ..
        } = &mut *self.e;
        let heads = match provenance.get_mut(path) {
            Some(h) => h,
            None => provenance.entry(path.to_owned()).or_default(),
        };
        // An open record of a field always has two heads or more.
        let open = if heads.len() >= 2 {
            conflicts.iter().position(|c| c.key == path && c.is_open())
        } else {
            None
        };
        let saw_conflict = open.is_some_and(|i| conflicts[i].opened_at <= op.base_version);
        let replaced = |h: &Head| {
            h.device == op.device_id
                || (!saw_conflict
                    && h.version <= op.base_version
                    && old.is_none_or(|o| *o == h.value))
        };
        let mut withdrawn = Vec::new();
        if heads.len() == 1 && open.is_none() && replaced(&heads[0]) {
            // The common case: a sequential edit.
            heads.clear();
        } else {
            heads.retain(|h| {
                let gone = replaced(h);
                if gone && open.is_some() {
                    withdrawn.push(h.clone());
                }
                !gone
            });
        }
        let at = heads.partition_point(|h| h.device < op.device_id);
        heads.insert(at, head);
        // A record its author had seen stays open even when the values now agree: only a
        // resolution closes it. One nobody had seen disappears when they come to agree.
        let disagree = saw_conflict
            || match kind {
                FieldKind::Position => spread_m(heads) > self.ctx.position_flag_m,
                _ => heads.iter().any(|h| h.value != heads[0].value),
            };
        let shown = if disagree && kind != FieldKind::Position {
            provisional(heads).clone()
        } else {
            value
        };
        if disagree {
            let ckind = match (kind, path) {
                (FieldKind::Position, _) => ConflictKind::Position,
                (_, DWELLING_FIELD) => ConflictKind::Parent,
                _ => ConflictKind::Value,
            };
            let action = if path == DWELLING_FIELD {
                "move_household"
            } else {
                "edit"
            };
            let entries: Vec<ConflictEntry> = heads
                .iter()
                .map(|h| ConflictEntry::from_head(h, action, true))
                .collect();
            let idx = match open {
                Some(i) => {
                    // Heads are kept sorted by device, one per device: entries likewise.
                    let c = &mut self.e.conflicts[i];
                    c.entries = entries;
                    self.conflicts.push(c.id);
                    i
                }
                None => self.flag(path, ckind, entries),
            };
            let c = &mut self.e.conflicts[idx];
            c.provisional = Some(shown.clone());
            for h in withdrawn {
                let mut en = ConflictEntry::from_head(&h, action, true);
                en.withdrawn_at = Some(self.version);
                c.superseded.push(en);
            }
        } else if let Some(i) = open {
            // The competing values came to agree through their authors' own edits.
            self.e.conflicts.remove(i);
        }
        self.set_field_value(path, shown);
        self.recorded = true;
        self.wrote = true;
    }

    fn add_counter(&mut self, path: &str, delta: i64) {
        let op = self.op;
        let head = Head::of(op, self.version, FieldValue::Int(delta));
        let heads = self.e.provenance.entry(path.to_owned()).or_default();
        heads.retain(|h| !h.seen_by(op));
        let at = heads.partition_point(|h| h.device < op.device_id);
        heads.insert(at, head);
        let current = self
            .e
            .fields
            .get(path)
            .and_then(FieldValue::as_int)
            .unwrap_or(0);
        self.set_field_value(path, FieldValue::Int(current.saturating_add(delta)));
        self.recorded = true;
        self.wrote = true;
    }

    fn write_change(&mut self, c: &Change) {
        match field_kind(&self.e.kind, &c.field) {
            FieldKind::Counter => {
                let delta = counter_int(&c.new)
                    .zip(counter_int(&c.old))
                    .and_then(|(n, o)| n.checked_sub(o))
                    .unwrap_or(0);
                self.add_counter(&c.field, delta);
            }
            kind => self.write_field(&c.field, kind, Some(&c.old), c.new.clone()),
        }
    }

    /// Heads written by other devices after version `after` (what the op's author had not seen),
    /// under `prefix`, except delete assertions.
    fn writers_after(&self, prefix: &str, after: u64) -> Vec<ConflictEntry> {
        self.changes_after(prefix, after, false)
    }

    /// As [`Tx::writers_after`], deletes and removals included (what an approval must not miss).
    fn changes_after(&self, prefix: &str, after: u64, with_deletes: bool) -> Vec<ConflictEntry> {
        let mut out: Vec<ConflictEntry> = Vec::new();
        let range = self.e.provenance.range(prefix.to_owned()..);
        for (key, heads) in range {
            if !key.starts_with(prefix) {
                break;
            }
            let delete = key == DELETED_KEY || key.ends_with("/_removed");
            if key == APPROVED_KEY || (delete && !with_deletes) {
                continue;
            }
            for h in heads {
                if h.version > after
                    && h.device != self.op.device_id
                    && !out.iter().any(|x| x.op == h.op)
                {
                    out.push(ConflictEntry::from_head(h, "edit", false));
                }
            }
        }
        out
    }

    // ----- data writes ------------------------------------------------------------------------

    /// Before an operation writes data: the approval rule, revival of a deleted entity, flags on a
    /// split dwelling, the implicit assigned/returned → in_progress transition. Returns whether
    /// the data should be written.
    fn data_gate(&mut self) -> bool {
        let op = self.op;
        if op.body.writes_data() {
            // A device's edits queue behind its own queued edits, so that they apply in order.
            if queued_behind(self.e, op) {
                let entry = self.entry(true);
                self.flag(WORKFLOW_KEY, ConflictKind::Workflow, vec![entry]);
                return false;
            }
            // `check` refused the other case already.
            if let Ok(Gate::Queue) = approval_gate(self.e, op) {
                let approval: Vec<ConflictEntry> = self
                    .e
                    .heads(STATUS_FIELD)
                    .iter()
                    .map(|h| ConflictEntry::from_head(h, "approve", false))
                    .collect();
                let mut entries = approval;
                entries.push(self.entry(true));
                self.flag(WORKFLOW_KEY, ConflictKind::Workflow, entries);
                return false;
            }
        }
        self.edit_gate();
        self.implicit_start();
        true
    }

    /// Revives a deleted entity written to, and flags writes to a dwelling split or merged
    /// concurrently (for every write, supervisors' decisions included).
    fn edit_gate(&mut self) {
        let op = self.op;
        self.revive(&Subject::Entity);
        if self.e.kind != EntityKind::Dwelling {
            return;
        }
        let concurrent_retire = self
            .e
            .heads(RETIRED_FIELD)
            .iter()
            .filter(|h| !h.seen_by(op))
            .map(|h| ConflictEntry::from_head(h, retire_action(&h.value), false))
            .collect::<Vec<_>>();
        if !concurrent_retire.is_empty() {
            let mut entries = concurrent_retire;
            entries.push(self.entry(false));
            self.flag(STRUCTURE_KEY, ConflictKind::Structure, entries);
        }
    }

    fn implicit_start(&mut self) {
        if self.e.kind != EntityKind::Interview || self.op.role.supervises() {
            return;
        }
        let status = self.e.status().and_then(InterviewStatus::parse);
        let seen = self
            .e
            .heads(STATUS_FIELD)
            .iter()
            .all(|h| h.seen_by(self.op));
        if seen
            && matches!(
                status,
                Some(InterviewStatus::Assigned | InterviewStatus::Returned)
            )
        {
            self.set_single(STATUS_FIELD, InterviewStatus::InProgress.into());
        }
    }

    /// A write into a deleted subject revives it and flags an existence conflict with the other
    /// devices' deletes (its own device's delete it simply takes back); a write concurrent with a
    /// delete that did not apply joins that conflict.
    fn revive(&mut self, subject: &Subject) {
        if matches!(subject, Subject::Entity)
            && !self.e.deleted
            && !self.e.provenance.contains_key(DELETED_KEY)
        {
            // Never deleted: nothing to revive or join (the common case).
            return;
        }
        let op = self.op;
        let key = subject.delete_key();
        let deleted = match subject {
            Subject::Entity => self.e.deleted,
            Subject::Member { .. } => self.e.fields.get(&key) == Some(&FieldValue::Bool(true)),
        };
        let conflict_key = subject.conflict_key();
        if deleted {
            match subject {
                Subject::Entity => self.e.deleted = false,
                Subject::Member { .. } => {
                    self.e.fields.insert(key.clone(), FieldValue::Bool(false));
                }
            }
            self.changed = true;
            self.recorded = true;
            if let Some(heads) = self.e.provenance.get_mut(&key) {
                heads.retain(|h| h.device != op.device_id);
            }
            let mut entries: Vec<ConflictEntry> = self
                .e
                .heads(&key)
                .iter()
                .map(|h| ConflictEntry::from_head(h, delete_action(subject), false))
                .collect();
            if !entries.is_empty() {
                entries.push(self.entry(false));
                self.flag(&conflict_key, ConflictKind::Existence, entries);
            }
            if let Subject::Member { group, instance } = subject {
                // Back in the roster: the same check as when it was added.
                let fields = member_fields(self.e, &instance_path(group, *instance));
                self.flag_duplicates(group, *instance, &fields);
            }
        } else if let Some(i) = self
            .e
            .conflicts
            .iter()
            .position(|c| c.key == conflict_key && c.is_open())
        {
            let version = self.version;
            let c = &mut self.e.conflicts[i];
            let own_delete = |x: &ConflictEntry| x.device == op.device_id && is_delete_side(x);
            if c.entries.iter().any(own_delete) {
                // This device takes its own delete back (the record closes by itself only if
                // nobody had seen it).
                let (own, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut c.entries)
                    .into_iter()
                    .partition(own_delete);
                c.superseded.extend(own.into_iter().map(|mut x| {
                    x.withdrawn_at = Some(version);
                    x
                }));
                c.entries = rest;
                let deletes_left = c.entries.iter().any(is_delete_side);
                if let Some(heads) = self.e.provenance.get_mut(&key) {
                    heads.retain(|h| h.device != op.device_id);
                }
                self.recorded = true;
                if !deletes_left && self.e.conflicts[i].opened_at > op.base_version {
                    self.e.conflicts.remove(i);
                    return;
                }
            }
            // Concurrent with a delete in the record — even one its device has taken back since:
            // had this edit arrived earlier, it would be in the record too.
            // And a record opened concurrently around a delete this op had seen: another device
            // revived the thing this op also wrote to while it was deleted.
            let c = &self.e.conflicts[i];
            let mut deletes = c
                .entries
                .iter()
                .chain(&c.superseded)
                .filter(|x| is_delete_side(x));
            let unseen_delete = self.e.heads(&key).iter().any(|h| !h.seen_by(op))
                || (c.opened_at > op.base_version && deletes.next().is_some())
                || deletes.any(|x| x.version > op.base_version && x.device != op.device_id);
            if unseen_delete {
                let entry = self.entry(false);
                self.flag(&conflict_key, ConflictKind::Existence, vec![entry]);
            }
        }
    }

    /// Revives the repeat instances `path` lies in.
    fn member_revive_for(&mut self, path: &str) {
        if !path.contains('[') {
            return;
        }
        let mut end = 0;
        while let Some(close) = path[end..].find(']') {
            let upto = end + close + 1;
            if let Some(subject) = Subject::from_key(&path[..upto]) {
                let present = marker_of(&path[..upto], "_present");
                if self.e.fields.contains_key(&present) {
                    self.revive(&subject);
                }
            }
            end = upto;
        }
    }

    /// Delete of the entity or a repeat instance: not applied while others' edits it had not
    /// seen stand (an existence conflict holds them all).
    fn delete(&mut self, subject: &Subject) {
        let op = self.op;
        let key = subject.delete_key();
        let head = Head::of(op, self.version, FieldValue::Bool(true));
        let already = match subject {
            Subject::Entity => self.e.deleted,
            Subject::Member { .. } => self.e.fields.get(&key) == Some(&FieldValue::Bool(true)),
        };
        let writers = if already {
            Vec::new()
        } else {
            self.writers_after(&subject.prefix(), op.base_version)
        };
        let heads = self.e.provenance.entry(key.clone()).or_default();
        heads.retain(|h| h.device != op.device_id);
        let at = heads.partition_point(|h| h.device < op.device_id);
        heads.insert(at, head);
        self.recorded = true;
        self.wrote = true;
        if already {
            // Agreeing with a delete. (A split or merge it had not seen, held in a structure
            // record because of that delete, races with this one too: `join_structure_race`.)
            return;
        }
        let conflict_key = subject.conflict_key();
        let mut blocked = !writers.is_empty();
        if let Some(i) = self
            .e
            .conflicts
            .iter()
            .position(|c| c.key == conflict_key && c.is_open())
        {
            let c = &mut self.e.conflicts[i];
            // This device's delete takes back its own edits in the record; if nobody had seen it
            // and no one else's edit is left, everyone wants the thing gone.
            let (own, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut c.entries)
                .into_iter()
                .partition(|x| x.device == op.device_id && !is_delete_side(x));
            let version = self.version;
            c.superseded.extend(own.into_iter().map(|mut x| {
                x.withdrawn_at = Some(version);
                x
            }));
            c.entries = rest;
            if blocked
                || c.opened_at <= op.base_version
                || c.entries.iter().any(|x| !is_delete_side(x))
            {
                blocked = true;
            } else {
                self.e.conflicts.remove(i);
            }
        }
        if blocked {
            let decision = matches!(op.body, OpBody::ResolveConflict { .. });
            let mut me = self.entry(!decision);
            me.action = delete_action(subject).into();
            let mut entries = vec![me];
            entries.extend(writers);
            self.flag(&conflict_key, ConflictKind::Existence, entries);
        } else {
            match subject {
                Subject::Entity => self.e.deleted = true,
                Subject::Member { group, instance } => {
                    self.e.fields.insert(key, FieldValue::Bool(true));
                    self.withdraw_duplicate(group, *instance);
                }
            }
            self.changed = true;
        }
    }

    /// A removed member leaves the duplicate records nobody had seen; one left alone is dropped.
    fn withdraw_duplicate(&mut self, group: &str, instance: Uuid) {
        let prefix = format!("{group}#");
        let id = FieldValue::text(instance.to_string());
        let base = self.op.base_version;
        let mut drop = Vec::new();
        for (i, c) in self.e.conflicts.iter_mut().enumerate() {
            if c.kind != ConflictKind::Duplicate
                || !c.is_open()
                || !c.key.starts_with(&prefix)
                || c.opened_at <= base
            {
                continue;
            }
            let (gone, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut c.entries)
                .into_iter()
                .partition(|en| en.value.as_ref() == Some(&id));
            let version = self.version;
            c.superseded.extend(gone.into_iter().map(|mut x| {
                x.withdrawn_at = Some(version);
                x
            }));
            c.entries = rest;
            // Duplicates are flagged between devices: one device's own instances are not.
            let first = c.entries.first().map(|en| en.device);
            if c.entries.iter().all(|en| Some(en.device) == first) {
                drop.push(i);
            }
        }
        for i in drop.into_iter().rev() {
            self.e.conflicts.remove(i);
        }
    }

    // ----- structure --------------------------------------------------------------------------

    /// A delete of a dwelling split or merged concurrently is a structure conflict.
    fn structure_blocks_delete(&mut self) -> Option<Step> {
        let op = self.op;
        let retire: Vec<ConflictEntry> = self
            .e
            .heads(RETIRED_FIELD)
            .iter()
            .filter(|h| !h.seen_by(op))
            .map(|h| ConflictEntry::from_head(h, retire_action(&h.value), false))
            .collect();
        if retire.is_empty() {
            return None;
        }
        let mut entries = retire;
        entries.push(self.entry(true));
        self.flag(STRUCTURE_KEY, ConflictKind::Structure, entries);
        Some(Step::Done)
    }

    /// Precondition of split and merge: not already split, merged or deleted. On failure the op
    /// is queued in a structure conflict — with what retired the dwelling when that was
    /// concurrent (unseen by the op); alone when its author could have known.
    fn structure_precondition(&mut self) -> bool {
        if !self.e.deleted && !self.e.is_retired() {
            return true;
        }
        let op = self.op;
        let retired_before = self.e.heads(RETIRED_FIELD).iter().any(|h| h.seen_by(op));
        let mut causes: Vec<&Head> = self.e.heads(RETIRED_FIELD).iter().collect();
        if self.e.deleted {
            causes.extend(self.e.heads(DELETED_KEY));
        }
        causes.retain(|h| !h.seen_by(op));
        let mut entries: Vec<ConflictEntry> = if retired_before {
            Vec::new()
        } else {
            causes
                .iter()
                .map(|h| {
                    let action = match h.value {
                        FieldValue::Bool(_) => "delete",
                        ref v => retire_action(v),
                    };
                    ConflictEntry::from_head(h, action, false)
                })
                .collect()
        };
        // Why it failed: "retired" (its author could have known) or "race" (concurrent work).
        let mut me = self.entry(true);
        me.value = Some(FieldValue::text(if retired_before {
            "retired"
        } else {
            "race"
        }));
        entries.push(me);
        self.flag(STRUCTURE_KEY, ConflictKind::Structure, entries);
        false
    }

    /// Concurrent edits and deletes of a dwelling being split or merged are flagged (the split
    /// still applies): the same record a delete arriving after the split would make.
    fn flag_concurrent_edits(&mut self) {
        let op = self.op;
        let mut writers = self.writers_after("", op.base_version);
        writers.extend(
            self.e
                .heads(DELETED_KEY)
                .iter()
                .filter(|h| !h.seen_by(op))
                .map(|h| ConflictEntry::from_head(h, "delete", false)),
        );
        if !writers.is_empty() {
            let mut entries = vec![self.entry(false)];
            entries.extend(writers);
            self.flag(STRUCTURE_KEY, ConflictKind::Structure, entries);
        }
    }

    fn retire(&mut self, how: &str) {
        let head = Head::of(self.op, self.version, FieldValue::text(how));
        self.e
            .provenance
            .entry(RETIRED_FIELD.to_owned())
            .or_default()
            .push(head);
        self.set_field_value(RETIRED_FIELD, FieldValue::text(how));
        self.recorded = true;
        self.wrote = true;
    }

    fn split(&mut self, parts: &[Part]) -> Step {
        if !self.structure_precondition() {
            return Step::Done;
        }
        self.flag_concurrent_edits();
        self.retire("split");
        let ids = FieldValue::List(
            parts
                .iter()
                .map(|p| FieldValue::text(p.id.to_string()))
                .collect(),
        );
        self.set_single(PARTS_FIELD, ids);
        let mut from = BTreeMap::new();
        for p in parts {
            from.clear();
            from.extend(p.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
            from.insert(
                SPLIT_FROM_FIELD.to_owned(),
                FieldValue::text(self.e.id.to_string()),
            );
            self.spawned
                .push(create(self.op, self.e.scope, &from, p.id));
        }
        Step::Done
    }

    fn merge_away(&mut self, survivor: Uuid) -> Step {
        let target = FieldValue::text(survivor.to_string());
        if self.e.is_retired() && !self.e.deleted && self.e.get(MERGED_INTO_FIELD) == Some(&target)
        {
            // Merged into the same dwelling on another device: agreement.
            let head = Head::of(self.op, self.version, FieldValue::text("merged"));
            let heads = self
                .e
                .provenance
                .entry(RETIRED_FIELD.to_owned())
                .or_default();
            heads.retain(|h| h.device != self.op.device_id);
            heads.push(head);
            self.recorded = true;
            return Step::Done;
        }
        if !self.structure_precondition() {
            return Step::Done;
        }
        self.flag_concurrent_edits();
        self.retire("merged");
        self.set_single(MERGED_INTO_FIELD, target);
        Step::Done
    }

    // ----- roster -----------------------------------------------------------------------------

    fn add_member(&mut self, group: &str, instance: Uuid, fields: &BTreeMap<String, FieldValue>) {
        let prefix = format!("{}/", instance_path(group, instance));
        // The marker holds the adding op's base version: two instances were added concurrently
        // when neither adder had seen the other's marker.
        let base = i64::try_from(self.op.base_version).unwrap_or(i64::MAX);
        self.set_single(&format!("{prefix}_present"), FieldValue::Int(base));
        for (k, v) in fields {
            let path = format!("{prefix}{k}");
            let kind = field_kind(&self.e.kind, &path);
            self.write_field(&path, kind, Some(&FieldValue::Null), v.clone());
        }
        self.flag_duplicates(group, instance, fields);
    }

    /// The same person (by [`identity`]) as another instance of the group added concurrently by
    /// another device: both kept, a duplicate conflict flags them.
    fn flag_duplicates(
        &mut self,
        group: &str,
        instance: Uuid,
        fields: &BTreeMap<String, FieldValue>,
    ) {
        let Some(me) = identity(fields) else {
            return;
        };
        let marker_base = |h: &Head| match h.value {
            FieldValue::Int(b) => u64::try_from(b).unwrap_or(0),
            _ => 0,
        };
        let Some(mine) = self
            .e
            .heads(&marker(group, instance, "_present"))
            .first()
            .cloned()
        else {
            return;
        };
        let scan = format!("{group}[");
        let mut matches = Vec::new();
        for (key, heads) in self.e.provenance.range(scan.clone()..) {
            if !key.starts_with(&scan) {
                break;
            }
            let Some(inst_path) = key.strip_suffix("/_present") else {
                continue;
            };
            let Some(Subject::Member {
                instance: other, ..
            }) = Subject::from_key(inst_path)
            else {
                continue;
            };
            if other == instance || inst_path.len() != group.len() + 38 {
                continue;
            }
            let Some(h) = heads.first() else { continue };
            let removed = self.e.fields.get(&format!("{inst_path}/_removed"))
                == Some(&FieldValue::Bool(true));
            let concurrent = h.device != mine.device
                && h.version > marker_base(&mine)
                && mine.version > marker_base(h);
            if !concurrent || removed {
                continue;
            }
            let theirs = member_fields(self.e, inst_path);
            if identity(&theirs).is_some_and(|them| same_person(&me, &them)) {
                let mut en = ConflictEntry::from_head(h, "add_member", false);
                en.value = Some(FieldValue::text(other.to_string()));
                matches.push(en);
            }
        }
        let digest = Sha256::digest(me.name.as_bytes());
        let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let key = format!("{group}#duplicate-{hash}");
        // A pair a supervisor has decided on (a member removed, then revived) is not flagged
        // again; a pair in an open record is simply joined.
        let me_id = FieldValue::text(instance.to_string());
        matches.retain(|m| {
            !self.e.conflicts.iter().any(|c| {
                c.key == key
                    && !c.is_open()
                    && [&me_id, m.value.as_ref().unwrap_or(&FieldValue::Null)]
                        .iter()
                        .all(|id| c.entries.iter().any(|x| x.value.as_ref() == Some(*id)))
            })
        });
        if matches.is_empty() {
            return;
        }
        let mut en = ConflictEntry::from_head(&mine, "add_member", false);
        en.value = Some(me_id);
        matches.push(en);
        self.flag(&key, ConflictKind::Duplicate, matches);
    }

    // ----- workflow ---------------------------------------------------------------------------

    fn status(&self) -> Option<InterviewStatus> {
        self.e.status().and_then(InterviewStatus::parse)
    }

    /// A workflow action whose precondition failed is queued in a workflow conflict, with the
    /// status it met (the status itself is not an entry: which head set it depends on arrival
    /// order).
    fn workflow_precondition_failed(&mut self, key: &str) -> Step {
        let mut entry = self.entry(true);
        entry.value = self.e.get(STATUS_FIELD).cloned();
        self.flag(key, ConflictKind::Workflow, vec![entry]);
        Step::Done
    }

    fn submit(&mut self) -> Step {
        match self.status() {
            Some(InterviewStatus::Submitted) => {
                // Submitted concurrently on another device: agreement, recorded like a value.
                let op = self.op;
                if !self.e.heads(STATUS_FIELD).iter().any(|h| !h.seen_by(op)) {
                    return Step::NoOp;
                }
                let head = Head::of(op, self.version, InterviewStatus::Submitted.into());
                let heads = self
                    .e
                    .provenance
                    .entry(STATUS_FIELD.to_owned())
                    .or_default();
                heads.retain(|h| h.device != op.device_id);
                let at = heads.partition_point(|h| h.device < op.device_id);
                heads.insert(at, head);
                self.recorded = true;
                self.wrote = true;
                self.wrote_status = true;
                Step::Done
            }
            Some(InterviewStatus::Approved) => Step::NoOp,
            _ => {
                self.set_single(STATUS_FIELD, InterviewStatus::Submitted.into());
                Step::Done
            }
        }
    }

    /// Approve at version N: not applied if others changed the interview after N (an approval
    /// race, checked first), nor if it is not submitted (a failed precondition).
    fn approve(&mut self, at_version: u64) -> Step {
        if self.status() == Some(InterviewStatus::Approved) {
            return Step::NoOp;
        }
        let writers = self.changes_after("", at_version, true);
        if !writers.is_empty() {
            let mut entries = vec![self.entry(false)];
            entries.extend(writers);
            self.flag(WORKFLOW_KEY, ConflictKind::Workflow, entries);
            return Step::Done;
        }
        if self.status() != Some(InterviewStatus::Submitted) {
            return self.workflow_precondition_failed(WORKFLOW_KEY);
        }
        self.approved();
        Step::Done
    }

    /// A device that carries on after a split or merge attempt that failed because the dwelling
    /// was already split or merged when it looked takes the attempt back (it stays, withdrawn).
    fn withdraw_stale_attempts(&mut self) {
        if self.e.kind != EntityKind::Dwelling || self.e.conflicts.is_empty() {
            return;
        }
        let op = self.op;
        let stale = FieldValue::text("retired");
        let version = self.version;
        let mut emptied = Vec::new();
        for (i, c) in self.e.conflicts.iter_mut().enumerate() {
            if c.kind != ConflictKind::Structure || !c.is_open() {
                continue;
            }
            let mine = |en: &ConflictEntry| {
                en.device == op.device_id
                    && en.seq < op.device_seq
                    && en.queued.is_some()
                    && en.value.as_ref() == Some(&stale)
            };
            if !c.entries.iter().any(mine) {
                continue;
            }
            let (gone, rest): (Vec<_>, Vec<_>) =
                std::mem::take(&mut c.entries).into_iter().partition(mine);
            c.superseded.extend(gone.into_iter().map(|mut en| {
                en.withdrawn_at = Some(version);
                en
            }));
            c.entries = rest;
            // Left empty, a record nobody had seen goes; one others may be deciding stays.
            if c.entries.is_empty() && c.opened_at > op.base_version {
                emptied.push(i);
            }
        }
        for i in emptied.into_iter().rev() {
            self.e.conflicts.remove(i);
        }
    }

    /// An op that changed or deleted a dwelling without having seen a split or merge attempt on it
    /// — applied or failed — joins its structure record (the record an applied split would have
    /// made with it, whichever arrived first).
    fn join_structure_race(&mut self) {
        let deletes = matches!(self.op.body, OpBody::Delete);
        if !(self.wrote || deletes) || self.e.kind != EntityKind::Dwelling {
            return;
        }
        let op = self.op;
        let race = FieldValue::text("race");
        let attempt = self.e.open_conflict(STRUCTURE_KEY).is_some_and(|c| {
            c.entries.iter().any(|en| {
                matches!(en.action.as_ref(), "split" | "merge_into")
                    && en.queued.is_some()
                    && en.value.as_ref() == Some(&race)
                    && en.version > op.base_version
                    && en.device != op.device_id
            })
        });
        if attempt {
            let entry = self.entry(false);
            self.flag(STRUCTURE_KEY, ConflictKind::Structure, vec![entry]);
        }
    }

    /// An op that changed an interview without having seen an approval attempt — applied (even
    /// if reopened since) or failed — joins its workflow record: the supervisor then sees the
    /// same conflicts whatever order the approval and the changes arrived in.
    fn join_approval_race(&mut self) {
        if !(self.wrote || self.wrote_status) || self.e.kind != EntityKind::Interview {
            return;
        }
        let op = self.op;
        let unseen = |version: u64, device| version > op.base_version && device != op.device_id;
        let mut entries: Vec<ConflictEntry> = self
            .e
            .heads(APPROVED_KEY)
            .iter()
            .filter(|h| unseen(h.version, h.device))
            .map(|h| ConflictEntry::from_head(h, "approve", false))
            .collect();
        let attempt = self.e.open_conflict(WORKFLOW_KEY).is_some_and(|c| {
            c.entries
                .iter()
                .any(|en| en.action == "approve" && unseen(en.version, en.device))
        });
        // A return or reopen attempt races with status changes only.
        let status_attempt = self.wrote_status
            && self.e.open_conflict(WORKFLOW_KEY).is_some_and(|c| {
                c.entries.iter().any(|en| {
                    matches!(en.action.as_ref(), "return" | "reopen")
                        && unseen(en.version, en.device)
                })
            });
        if entries.is_empty() && !attempt && !status_attempt {
            return;
        }
        entries.push(self.entry(false));
        self.flag(WORKFLOW_KEY, ConflictKind::Workflow, entries);
    }

    /// Sets the status to approved and remembers the approval.
    fn approved(&mut self) {
        self.set_single(STATUS_FIELD, InterviewStatus::Approved.into());
        let head = Head::of(
            self.op,
            self.version,
            FieldValue::Int(self.e.version as i64),
        );
        self.e
            .provenance
            .entry(APPROVED_KEY.to_owned())
            .or_default()
            .push(head);
    }

    fn note(&mut self, action: &str, note: &str) {
        let path = format!("review/notes[{}]", self.op.op_id);
        let mut m = BTreeMap::new();
        m.insert("action".to_owned(), FieldValue::text(action));
        m.insert("note".to_owned(), FieldValue::text(note));
        self.set_single(&path, FieldValue::Map(m));
    }

    /// Return (submitted → returned) and reopen (approved → in_progress).
    fn review(&mut self, to: InterviewStatus, action: &str, note: &str) -> Step {
        let from = match to {
            InterviewStatus::Returned => InterviewStatus::Submitted,
            _ => InterviewStatus::Approved,
        };
        let status = self.status();
        if status == Some(to) {
            return Step::NoOp;
        }
        // The status changed under the supervisor's feet: a race, recorded, not applied.
        let op = self.op;
        let moved: Vec<ConflictEntry> = self
            .e
            .heads(STATUS_FIELD)
            .iter()
            .filter(|h| !h.seen_by(op))
            .map(|h| ConflictEntry::from_head(h, "status", true))
            .collect();
        if !moved.is_empty() {
            let mut entries = moved;
            entries.push(self.entry(true));
            self.flag(WORKFLOW_KEY, ConflictKind::Workflow, entries);
            return Step::Done;
        }
        if status != Some(from) {
            if to == InterviewStatus::InProgress {
                // Reopening what is not approved: nothing to do.
                return Step::NoOp;
            }
            return self.workflow_precondition_failed(WORKFLOW_KEY);
        }
        self.set_single(STATUS_FIELD, to.into());
        self.note(action, note);
        Step::Done
    }

    fn release(&mut self, stratum: &str, replicate: u32, note: &str) -> Step {
        let path = format!("released/{stratum}");
        let current = self.e.get(&path).and_then(FieldValue::as_int).unwrap_or(0);
        let r = i64::from(replicate);
        if r <= current {
            return Step::NoOp;
        }
        if r > current + 1 {
            let entry = self.entry(true);
            self.flag(&path, ConflictKind::Workflow, vec![entry]);
            return Step::Done;
        }
        self.set_single(&path, FieldValue::Int(r));
        if !note.is_empty() {
            let notes = format!("release_notes/{stratum}[{}]", self.op.op_id);
            self.set_single(&notes, FieldValue::text(note));
        }
        Step::Done
    }

    // ----- resolution -------------------------------------------------------------------------

    fn resolve(&mut self, id: ConflictId, decision: &Decision) -> Step {
        let Some(idx) = self.e.conflicts.iter().position(|c| c.id == id) else {
            return Step::NoOp;
        };
        if self.e.conflicts[idx].resolution.is_some() {
            // Same decision again (a different one was refused by `check`).
            return Step::NoOp;
        }
        let base = self.op.base_version;
        let me = self.op.device_id;
        let value_kind = matches!(
            self.e.conflicts[idx].kind,
            ConflictKind::Value | ConflictKind::Position | ConflictKind::Parent
        );
        let c = &mut self.e.conflicts[idx];
        // The decision covers what the supervisor saw — including contributions withdrawn since
        // they looked. Contributions that joined later leave the record: values stay competing
        // (they are heads), operations queued among them are re-run after the decision, as if
        // they had arrived after it.
        let seen_by_me = |en: &ConflictEntry| en.version <= base || en.device == me;
        let (mut seen, later): (Vec<_>, Vec<_>) = std::mem::take(&mut c.entries)
            .into_iter()
            .partition(seen_by_me);
        let (back, withdrawn): (Vec<_>, Vec<_>) = std::mem::take(&mut c.superseded)
            .into_iter()
            .partition(|en| seen_by_me(en) && en.withdrawn_at.is_some_and(|w| w > base));
        seen.extend(back.into_iter().map(|mut en| {
            en.withdrawn_at = None;
            en
        }));
        seen.sort_by_key(|en| (en.device, en.seq));
        seen.dedup_by_key(|en| en.op);
        c.entries = seen;
        c.superseded = withdrawn;
        let later = if value_kind { Vec::new() } else { later };
        let later_dups: Vec<ConflictEntry> = if c.kind == ConflictKind::Duplicate {
            later.clone()
        } else {
            Vec::new()
        };
        // Structure: the later plain contributions (edits, an applied split's head) still race
        // with each other; they make the next record, as they would have after the decision.
        let later_structure: Vec<ConflictEntry> = if c.kind == ConflictKind::Structure {
            later
                .iter()
                .filter(|en| en.queued.is_none())
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        c.resolution = Some(Resolution {
            op: self.op.op_id,
            device: self.op.device_id,
            author: self.op.author,
            version: self.version,
            hlc: self.op.hlc,
            decision: decision.clone(),
            extra: Unknown::new(),
        });
        self.recorded = true;
        self.conflicts.push(id);
        let key = c.key.clone();
        let kind = c.kind.clone();
        // "Keep current": the provisional value among what the supervisor saw.
        let provisional = c
            .entries
            .iter()
            .filter(|en| en.value.is_some())
            .min_by(|a, b| {
                b.role
                    .rank()
                    .cmp(&a.role.rank())
                    .then_with(|| {
                        let (x, y) = (a.value.as_ref(), b.value.as_ref());
                        x.zip(y)
                            .map_or(std::cmp::Ordering::Equal, |(x, y)| x.canonical_cmp(y))
                    })
                    .then_with(|| a.device.cmp(&b.device))
            })
            .and_then(|en| en.value.clone());
        let target = &self.op.target;
        let queued: Vec<Operation> = c
            .entries
            .iter()
            .filter_map(|en| queued_op(en, target))
            .collect();
        let rerun: Vec<(Operation, ConflictEntry)> = later
            .into_iter()
            .filter_map(|en| queued_op(&en, target).map(|op| (op, en)))
            .collect();
        let mut reopened: Vec<Operation> = Vec::new();
        match (&kind, decision) {
            (ConflictKind::Value | ConflictKind::Position | ConflictKind::Parent, _) => {
                let value = match decision {
                    Decision::Value(v) => v.clone(),
                    _ => provisional
                        .or_else(|| self.e.get(&key).cloned())
                        .unwrap_or(FieldValue::Null),
                };
                let fk = match kind {
                    ConflictKind::Position => FieldKind::Position,
                    ConflictKind::Parent => FieldKind::System,
                    _ => field_kind(&self.e.kind, &key),
                };
                self.edit_gate();
                self.member_revive_for(&key);
                self.write_field(&key, fk, None, value);
            }
            (ConflictKind::Existence, Decision::Delete) => {
                if let Some(subject) = Subject::from_key(&key) {
                    self.delete(&subject);
                }
            }
            (ConflictKind::Existence, _) => {
                if let Some(subject) = Subject::from_key(&key) {
                    let op = self.op;
                    if let Some(heads) = self.e.provenance.get_mut(&subject.delete_key()) {
                        heads.retain(|h| !h.seen_by(op));
                    }
                }
            }
            (ConflictKind::Workflow, Decision::Approve)
                if self.status() == Some(InterviewStatus::Submitted) =>
            {
                // As an approval at the version the supervisor had seen.
                let writers = self.changes_after("", self.op.base_version, true);
                if writers.is_empty() {
                    self.approved();
                } else {
                    let mut me = self.entry(false);
                    me.action = "approve".into();
                    let mut entries = vec![me];
                    entries.extend(writers);
                    self.flag(WORKFLOW_KEY, ConflictKind::Workflow, entries);
                }
            }
            (ConflictKind::Workflow, Decision::Reopen) => {
                if self.status() == Some(InterviewStatus::Approved) {
                    self.set_single(STATUS_FIELD, InterviewStatus::InProgress.into());
                    self.note("reopen", "");
                }
                // The queued edits apply, together with those re-run below, in order.
                reopened = queued
                    .into_iter()
                    .filter(|q| q.body.writes_data())
                    .collect();
            }
            (ConflictKind::Duplicate, Decision::RemoveMember(instance)) => {
                let group = key.split('#').next().unwrap_or_default().to_owned();
                self.delete(&Subject::Member {
                    group,
                    instance: *instance,
                });
            }
            _ => {}
        }
        if kind == ConflictKind::Duplicate {
            // Instances that joined after the supervisor looked are judged again.
            let group = key.split('#').next().unwrap_or_default().to_owned();
            for en in &later_dups {
                let Some(instance) = en.value.as_ref().and_then(FieldValue::as_text) else {
                    continue;
                };
                let Ok(instance) = Uuid::try_parse(instance) else {
                    continue;
                };
                let path = instance_path(&group, instance);
                let removed =
                    self.e.fields.get(&format!("{path}/_removed")) == Some(&FieldValue::Bool(true));
                if !removed {
                    let fields = member_fields(self.e, &path);
                    self.flag_duplicates(&group, instance, &fields);
                }
            }
        }
        if !later_structure.is_empty() {
            self.flag(STRUCTURE_KEY, ConflictKind::Structure, later_structure);
        }
        let mut ops: Vec<Operation> = rerun.iter().map(|(op, _)| op.clone()).collect();
        ops.extend(reopened);
        ops.sort_by_key(|op| (op.device_id, op.device_seq));
        let failed = self.replay(&ops);
        // What cannot run any more stays in the record, withdrawn, so that nothing is lost.
        let version = self.version;
        if let Some(c) = self.e.conflicts.iter_mut().find(|c| c.id == id) {
            for (op, mut en) in rerun {
                if failed.contains(&op.op_id) {
                    en.withdrawn_at = Some(version);
                    c.superseded.push(en);
                }
            }
        }
        Step::Done
    }

    /// Runs operations a conflict record had held, as of now, in order; returns those that can no
    /// longer run (refused by their checks).
    fn replay(&mut self, ops: &[Operation]) -> Vec<super::ids::OpId> {
        let mut failed = Vec::new();
        // A device that has had a later operation merged outside this set has moved on: running
        // its held operations now would reverse its order. They stay in the record.
        let mut last: BTreeMap<super::ids::DeviceId, u64> = BTreeMap::new();
        for q in ops {
            let l = last.entry(q.device_id).or_insert(0);
            *l = (*l).max(q.device_seq);
        }
        for q in ops {
            let moved_on = self
                .e
                .seen
                .get(&q.device_id)
                .is_some_and(|s| *s > last.get(&q.device_id).copied().unwrap_or(0));
            if moved_on {
                failed.push(q.op_id);
                continue;
            }
            let mut sub = Tx {
                e: &mut *self.e,
                op: q,
                ctx: self.ctx,
                version: self.version,
                changed: false,
                recorded: false,
                wrote: false,
                wrote_status: false,
                conflicts: Vec::new(),
                spawned: Vec::new(),
            };
            if check(sub.e, q).is_ok() {
                sub.apply();
            } else {
                failed.push(q.op_id);
            }
            let (changed, recorded, conflicts, spawned) =
                (sub.changed, sub.recorded, sub.conflicts, sub.spawned);
            self.changed |= changed;
            self.recorded |= recorded;
            self.conflicts.extend(conflicts);
            self.spawned.extend(spawned);
        }
        failed
    }
}

/// The operation a conflict entry holds queued.
fn queued_op(en: &ConflictEntry, target: &super::op::Target) -> Option<Operation> {
    en.queued.as_ref().map(|q| Operation {
        op_id: en.op,
        device_id: en.device,
        device_seq: en.seq,
        author: en.author,
        role: en.role.clone(),
        hlc: en.hlc,
        target: target.clone(),
        base_version: q.base_version,
        body: q.body.clone(),
        extra: Unknown::new(),
    })
}

fn retire_action(value: &FieldValue) -> &'static str {
    match value.as_text() {
        Some("merged") => "merge_into",
        _ => "split",
    }
}

fn is_delete_side(entry: &ConflictEntry) -> bool {
    matches!(entry.action.as_ref(), "delete" | "remove_member")
}

fn delete_action(subject: &Subject) -> &'static str {
    match subject {
        Subject::Entity => "delete",
        Subject::Member { .. } => "remove_member",
    }
}

fn marker_of(instance: &str, name: &str) -> String {
    format!("{instance}/{name}")
}

fn member_fields(e: &Entity, instance: &str) -> BTreeMap<String, FieldValue> {
    let prefix = format!("{instance}/");
    e.fields
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, v)| (k[prefix.len()..].to_owned(), v.clone()))
        .collect()
}

/// Who a roster member is, as far as duplicate detection goes.
struct Identity {
    name: String,
    others: Vec<(&'static str, FieldValue)>,
}

/// Fields that must agree (where both instances have them) for two members to be the same person.
const IDENTITY_FIELDS: [&str; 3] = ["sex", "birth_year", "age"];

fn identity(fields: &BTreeMap<String, FieldValue>) -> Option<Identity> {
    let name = fields.get("name")?.as_text()?;
    let name = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if name.is_empty() {
        return None;
    }
    let others = IDENTITY_FIELDS
        .iter()
        .filter_map(|k| {
            fields
                .get(*k)
                .filter(|v| !v.is_null())
                .map(|v| (*k, v.clone()))
        })
        .collect();
    Some(Identity { name, others })
}

fn same_person(a: &Identity, b: &Identity) -> bool {
    a.name == b.name
        && a.others.iter().all(|(k, v)| {
            b.others
                .iter()
                .find(|(kb, _)| kb == k)
                .is_none_or(|(_, vb)| vb == v)
        })
}

/// The largest distance between two heads' positions (infinite when a position competes with a
/// non-position such as a cleared value).
fn spread_m(heads: &[Head]) -> f64 {
    let mut max: f64 = 0.0;
    for (i, a) in heads.iter().enumerate() {
        for b in &heads[i + 1..] {
            let d = match (&a.value, &b.value) {
                (FieldValue::Position(p), FieldValue::Position(q)) => p.distance_m(q),
                (x, y) if x == y => 0.0,
                _ => f64::INFINITY,
            };
            max = max.max(d);
        }
    }
    max
}

/// The value a field shows while its heads disagree: the head of the highest role rank, then the
/// smallest value in canonical order, then the smallest device id. Never a clock.
pub fn provisional(heads: &[Head]) -> &FieldValue {
    heads
        .iter()
        .min_by(|a, b| {
            b.role
                .rank()
                .cmp(&a.role.rank())
                .then_with(|| a.value.canonical_cmp(&b.value))
                .then_with(|| a.device.cmp(&b.device))
        })
        .map_or(&FieldValue::Null, |h| &h.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::hlc::Hlc;
    use crate::sync::ids::{DeviceId, OpId, UserId};

    fn head(device: u128, role: Role, value: FieldValue) -> Head {
        Head {
            op: OpId::from_uuid(Uuid::from_u128(device << 8)),
            device: DeviceId::from_uuid(Uuid::from_u128(device)),
            seq: 1,
            author: UserId::from_uuid(Uuid::from_u128(device)),
            role,
            version: 2,
            // Clocks never matter: give the "best" head the latest stamp and check it loses.
            hlc: Hlc::at(u64::MAX - device as u64),
            value,
            extra: Unknown::new(),
        }
    }

    #[test]
    fn the_provisional_value_prefers_authority_then_the_smallest_value_then_the_device() {
        let cases = [
            (
                vec![
                    head(1, Role::Interviewer, "b".into()),
                    head(2, Role::Supervisor, "z".into()),
                ],
                FieldValue::from("z"),
            ),
            (
                vec![
                    head(1, Role::Interviewer, "b".into()),
                    head(2, Role::Lister, "a".into()),
                ],
                FieldValue::from("a"),
            ),
            (
                vec![
                    head(3, Role::Interviewer, FieldValue::Int(7)),
                    head(2, Role::Interviewer, FieldValue::Float(7.0)),
                ],
                FieldValue::Int(7),
            ),
        ];
        for (heads, expected) in cases {
            assert_eq!(provisional(&heads), &expected);
            let mut reversed = heads.clone();
            reversed.reverse();
            assert_eq!(
                provisional(&reversed),
                &expected,
                "order of heads does not matter"
            );
        }
    }
}
