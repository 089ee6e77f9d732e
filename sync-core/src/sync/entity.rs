//! Entities: the generic documents operations change.
//!
//! Every synced thing — building, dwelling, household, interview, assignment, sample — is an
//! [`Entity`]: a kind, a UUID, a server-assigned version, a scope key (the area of a listing
//! entity, the case of an interview; pull filters on it), a deleted flag and a map of fields. The
//! server stores all of them in one table.
//!
//! Beside the values, an entity keeps their **provenance**: for each field, the *heads* — the
//! assertions no later operation has superseded, each with the operation, device, author and the
//! entity version it was merged at. One head is the normal case; several heads are concurrent
//! assertions, and they are what the merge compares (see [`crate::sync::merge`]). Conflict records
//! live in the entity they concern, so that pulling an entity brings its conflicts.

use super::hlc::Hlc;
use super::ids::{ConflictId, DeviceId, OpId, UserId};
use super::op::{Decision, OpBody, Operation};
use super::schema::{EntityKind, Role, open_enum};
use super::value::{FieldValue, Unknown};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Provenance key of the delete assertions of an entity.
pub const DELETED_KEY: &str = "_deleted";
/// Provenance key of the approvals an interview has had (kept after a reopen).
pub const APPROVED_KEY: &str = "_approved";
/// Field of a dwelling that was split or merged away: `"split"` or `"merged"`.
pub const RETIRED_FIELD: &str = "_retired";
/// Field of a split dwelling: the ids of its parts.
pub const PARTS_FIELD: &str = "_parts";
/// Field of a dwelling created by a split: the dwelling it came from.
pub const SPLIT_FROM_FIELD: &str = "_split_from";
/// Field of a dwelling merged away: the dwelling that absorbed it.
pub const MERGED_INTO_FIELD: &str = "_merged_into";
/// Field of a household: the dwelling it lives in.
pub const DWELLING_FIELD: &str = "_dwelling";
/// Field of an interview, assignment or sample: its workflow status.
pub const STATUS_FIELD: &str = "status";
/// Counter of an interview: visits recorded.
pub const VISITS_COUNTER: &str = "counts/visits";
/// Conflict key of delete-versus-edit conflicts.
pub const EXISTENCE_KEY: &str = "_existence";
/// Conflict key of split/merge conflicts.
pub const STRUCTURE_KEY: &str = "_structure";
/// Conflict key of workflow conflicts (approval races, failed workflow preconditions).
pub const WORKFLOW_KEY: &str = "_workflow";

/// One assertion about a field that no later operation has superseded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    pub op: OpId,
    pub device: DeviceId,
    /// The operation's `device_seq`.
    pub seq: u64,
    pub author: UserId,
    pub role: Role,
    /// The entity version the operation was merged at.
    pub version: u64,
    /// The device's clock stamp: shown to people, never compared.
    pub hlc: Hlc,
    /// The value asserted (for a counter: the delta).
    pub value: FieldValue,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

impl Head {
    /// The head `op` leaves when merged at `version` asserting `value`.
    pub fn of(op: &Operation, version: u64, value: FieldValue) -> Self {
        Self {
            op: op.op_id,
            device: op.device_id,
            seq: op.device_seq,
            author: op.author,
            role: op.role.clone(),
            version,
            hlc: op.hlc,
            value,
            extra: Unknown::new(),
        }
    }

    /// Whether the author of `op` had seen this head when making it: it was merged at or before
    /// the op's base version, or it came from the op's own device (whose operations are applied in
    /// order).
    pub fn seen_by(&self, op: &Operation) -> bool {
        self.version <= op.base_version || self.device == op.device_id
    }
}

open_enum!(
    /// What a conflict record is about.
    ConflictKind {
        /// Different values for the same attribute or answer.
        Value => "value",
        /// Positions further apart than the flag distance.
        Position => "position",
        /// A household moved to different dwellings.
        Parent => "parent",
        /// A delete (of an entity or a roster member) concurrent with edits: the edits revived it.
        Existence => "existence",
        /// A split or merge that could not apply, or concurrent with edits.
        Structure => "structure",
        /// An approval, return or reopen racing with edits or failing its precondition.
        Workflow => "workflow",
        /// The same person added to a roster on two devices.
        Duplicate => "duplicate",
    }
);

/// One competing contribution to a conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictEntry {
    pub op: OpId,
    pub device: DeviceId,
    pub seq: u64,
    pub author: UserId,
    pub role: Role,
    /// The entity version the contribution was merged at.
    pub version: u64,
    pub hlc: Hlc,
    /// What the operation did: `edit`, `delete`, `split`, `approve`…
    pub action: Cow<'static, str>,
    /// The value it asserted, for value, position and parent conflicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<FieldValue>,
    /// The operation itself when it was *not* applied (queued for the supervisor): resolving the
    /// conflict may apply it later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<Box<Queued>>,
    /// For a withdrawn contribution: the entity version at which it was withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<u64>,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

impl ConflictEntry {
    /// The entry of a head (a field assertion).
    pub fn from_head(head: &Head, action: &'static str, with_value: bool) -> Self {
        Self {
            op: head.op,
            device: head.device,
            seq: head.seq,
            author: head.author,
            role: head.role.clone(),
            version: head.version,
            hlc: head.hlc,
            action: Cow::Borrowed(action),
            value: with_value.then(|| head.value.clone()),
            queued: None,
            withdrawn_at: None,
            extra: Unknown::new(),
        }
    }

    /// The entry of an operation merged at `version`; `queued` when it was not applied.
    pub fn from_op(op: &Operation, version: u64, queued: bool) -> Self {
        Self {
            op: op.op_id,
            device: op.device_id,
            seq: op.device_seq,
            author: op.author,
            role: op.role.clone(),
            version,
            hlc: op.hlc,
            action: Cow::Borrowed(op.body.action_name()),
            value: None,
            queued: queued.then(|| {
                Box::new(Queued {
                    base_version: op.base_version,
                    body: op.body.clone(),
                    extra: Unknown::new(),
                })
            }),
            withdrawn_at: None,
            extra: Unknown::new(),
        }
    }
}

/// An operation held in a conflict record instead of being applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queued {
    /// The version it was made against.
    pub base_version: u64,
    pub body: OpBody,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// How a conflict was closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// The `ResolveConflict` operation.
    pub op: OpId,
    pub device: DeviceId,
    pub author: UserId,
    pub version: u64,
    pub hlc: Hlc,
    pub decision: Decision,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A conflict record: every competing contribution, kept until a supervisor resolves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub id: ConflictId,
    /// The field path, or `_existence`, `_structure`, `_workflow`, `<roster>[<id>]`,
    /// `<roster>#duplicate-<hash>`.
    pub key: String,
    pub kind: ConflictKind,
    /// The entity version at which it was opened.
    pub opened_at: u64,
    /// The competing contributions, ordered by device then sequence.
    pub entries: Vec<ConflictEntry>,
    /// Contributions withdrawn since the record opened, by a later edit of the same device or an
    /// edit made with knowledge of them. Kept so that no entered value disappears.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<ConflictEntry>,
    /// The value shown meanwhile (value, position and parent conflicts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisional: Option<FieldValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

impl Conflict {
    /// Whether it still waits for a supervisor.
    pub fn is_open(&self) -> bool {
        self.resolution.is_none()
    }
}

/// A synced document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub kind: EntityKind,
    pub id: Uuid,
    /// Set at creation: the area of a listing entity, the case of an interview.
    pub scope: Uuid,
    /// Bumped by the server for every operation that changed the entity.
    pub version: u64,
    #[serde(default)]
    pub deleted: bool,
    pub fields: BTreeMap<String, FieldValue>,
    /// The heads of each field (and of `_deleted`).
    #[serde(default)]
    pub provenance: BTreeMap<String, Vec<Head>>,
    /// Conflict records, open and resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// For each device, the `device_seq` of its last operation merged into this entity.
    #[serde(default)]
    pub seen: BTreeMap<DeviceId, u64>,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

impl Entity {
    /// An empty entity at version 0 (not yet created).
    pub fn new(kind: EntityKind, id: Uuid, scope: Uuid) -> Self {
        Self {
            kind,
            id,
            scope,
            version: 0,
            deleted: false,
            fields: BTreeMap::new(),
            provenance: BTreeMap::new(),
            conflicts: Vec::new(),
            seen: BTreeMap::new(),
            extra: Unknown::new(),
        }
    }

    /// A field's current value (the provisional one while in conflict).
    pub fn get(&self, path: &str) -> Option<&FieldValue> {
        self.fields.get(path)
    }

    /// A field's text value.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(FieldValue::as_text)
    }

    /// The workflow status, if the entity has one.
    pub fn status(&self) -> Option<&str> {
        self.text(STATUS_FIELD)
    }

    /// The heads of a field.
    pub fn heads(&self, path: &str) -> &[Head] {
        self.provenance.get(path).map_or(&[], Vec::as_slice)
    }

    /// Whether this dwelling was split or merged away.
    pub fn is_retired(&self) -> bool {
        self.fields.contains_key(RETIRED_FIELD)
    }

    /// The open conflict on `key`, if any.
    pub fn open_conflict(&self, key: &str) -> Option<&Conflict> {
        self.conflicts.iter().find(|c| c.key == key && c.is_open())
    }

    /// Open conflict records.
    pub fn open_conflicts(&self) -> impl Iterator<Item = &Conflict> {
        self.conflicts.iter().filter(|c| c.is_open())
    }

    /// A conflict record by id.
    pub fn conflict(&self, id: ConflictId) -> Option<&Conflict> {
        self.conflicts.iter().find(|c| c.id == id)
    }
}

/// The workflow of an interview: assigned → in_progress → submitted → approved | returned;
/// returned → in_progress; approved → (reopen) → in_progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterviewStatus {
    Assigned,
    InProgress,
    Submitted,
    Approved,
    Returned,
}

impl InterviewStatus {
    /// The word stored in the `status` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::InProgress => "in_progress",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Returned => "returned",
        }
    }

    /// Reads the `status` field's word.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "assigned" => Self::Assigned,
            "in_progress" => Self::InProgress,
            "submitted" => Self::Submitted,
            "approved" => Self::Approved,
            "returned" => Self::Returned,
            _ => return None,
        })
    }
}

impl From<InterviewStatus> for FieldValue {
    fn from(s: InterviewStatus) -> Self {
        FieldValue::Text(s.as_str().to_owned())
    }
}
