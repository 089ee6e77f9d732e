//! Operations: what phones and the server exchange instead of documents.
//!
//! An [`Operation`] is made on one device, against one target entity, with the entity version the
//! device had seen (`base_version`: the version in its mirror of the server, 0 for a new entity).
//! It either changes fields — `(field, old, new)` triples — or performs one structural or workflow
//! action with preconditions. Operations of one device are numbered without gaps (`device_seq`)
//! and are applied in that order.

use super::hlc::Hlc;
use super::ids::{ConflictId, DeviceId, OpId, UserId};
use super::schema::{EntityKind, Role};
use super::value::{FieldValue, Unknown};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The entity an operation changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub kind: EntityKind,
    pub id: Uuid,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

impl Target {
    /// A target.
    pub fn new(kind: EntityKind, id: Uuid) -> Self {
        Self {
            kind,
            id,
            extra: Unknown::new(),
        }
    }
}

/// One field change, made against the value the device showed (`old`).
///
/// The merge judges concurrency from versions, not from `old` (see [`crate::sync::merge`]); `old`
/// is kept for the audit trail ("changed from … to …") and gives a counter's delta (`new − old`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    #[serde(default)]
    pub old: FieldValue,
    pub new: FieldValue,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

impl Change {
    /// A change of `field` from `old` to `new`.
    pub fn new(field: impl Into<String>, old: FieldValue, new: FieldValue) -> Self {
        Self {
            field: field.into(),
            old,
            new,
            extra: Unknown::new(),
        }
    }
}

/// One part of a split dwelling: a new dwelling id (minted by the device) and its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub id: Uuid,
    #[serde(default)]
    pub fields: BTreeMap<String, FieldValue>,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

impl Part {
    /// A part with these fields.
    pub fn new(id: Uuid, fields: BTreeMap<String, FieldValue>) -> Self {
        Self {
            id,
            fields,
            extra: Unknown::new(),
        }
    }
}

/// A supervisor's decision on a conflict record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The value a field should have (value, position and parent conflicts): one of the
    /// competing values or another.
    Value(FieldValue),
    /// Keep things as they are and close the record (the state already shown wins; any queued
    /// operation stays in the record, unapplied).
    KeepCurrent,
    /// Existence conflicts: delete after all.
    Delete,
    /// Workflow conflicts: the interview is approved as it stands (queued edits stay unapplied).
    Approve,
    /// Workflow conflicts: reopen the interview and apply the queued edits.
    Reopen,
    /// Duplicate conflicts: remove this roster instance (the other is the same person).
    RemoveMember(Uuid),
    /// A decision of a newer version, kept as it came.
    #[serde(untagged)]
    Unknown(FieldValue),
}

/// What an operation does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpBody {
    /// Change fields.
    Edit { changes: Vec<Change> },
    /// Create the target with these fields in this scope. Precondition: it does not exist.
    Create {
        scope: Uuid,
        #[serde(default)]
        fields: BTreeMap<String, FieldValue>,
    },
    /// Delete the target. Edits made concurrently keep it alive (flagged).
    Delete,
    /// Split a dwelling into new dwellings. Precondition: not split, merged or deleted.
    Split { parts: Vec<Part> },
    /// Merge this dwelling into `survivor`. Precondition: not split, merged or deleted.
    MergeInto { survivor: Uuid },
    /// Move a household to another dwelling (`from`: the dwelling the device showed).
    MoveHousehold {
        #[serde(default)]
        from: Option<Uuid>,
        to: Uuid,
    },
    /// Add an instance to a repeat group (a roster member): fields under `group[instance]/`.
    AddMember {
        group: String,
        instance: Uuid,
        #[serde(default)]
        fields: BTreeMap<String, FieldValue>,
    },
    /// Remove an instance of a repeat group. Edits made concurrently keep it (flagged).
    RemoveMember { group: String, instance: Uuid },
    /// Record a visit (its fields under `visits[visit]/`) and count it.
    RecordVisit {
        visit: Uuid,
        #[serde(default)]
        fields: BTreeMap<String, FieldValue>,
    },
    /// An interviewer hands the interview in.
    Submit,
    /// A supervisor approves the interview as it was at `at_version`.
    Approve { at_version: u64 },
    /// A supervisor returns the interview to the interviewer.
    Return {
        #[serde(default)]
        note: String,
    },
    /// A supervisor reopens an approved interview.
    Reopen {
        #[serde(default)]
        note: String,
    },
    /// A supervisor closes a conflict record.
    ResolveConflict {
        conflict: ConflictId,
        decision: Decision,
    },
    /// A supervisor releases the next reserve replicate of a stratum of a sample.
    ReleaseReplicate {
        stratum: String,
        replicate: u32,
        #[serde(default)]
        note: String,
    },
    /// An action of a newer version, kept as it came (the merge refuses it with a reason).
    #[serde(untagged)]
    Unknown(FieldValue),
}

impl OpBody {
    /// The action's snake_case name.
    pub fn action_name(&self) -> &'static str {
        match self {
            OpBody::Edit { .. } => "edit",
            OpBody::Create { .. } => "create",
            OpBody::Delete => "delete",
            OpBody::Split { .. } => "split",
            OpBody::MergeInto { .. } => "merge_into",
            OpBody::MoveHousehold { .. } => "move_household",
            OpBody::AddMember { .. } => "add_member",
            OpBody::RemoveMember { .. } => "remove_member",
            OpBody::RecordVisit { .. } => "record_visit",
            OpBody::Submit => "submit",
            OpBody::Approve { .. } => "approve",
            OpBody::Return { .. } => "return",
            OpBody::Reopen { .. } => "reopen",
            OpBody::ResolveConflict { .. } => "resolve_conflict",
            OpBody::ReleaseReplicate { .. } => "release_replicate",
            OpBody::Unknown(_) => "unknown",
        }
    }

    /// Whether the action writes interview data (and so is subject to the approval rule).
    pub fn writes_data(&self) -> bool {
        matches!(
            self,
            OpBody::Edit { .. }
                | OpBody::AddMember { .. }
                | OpBody::RemoveMember { .. }
                | OpBody::RecordVisit { .. }
        )
    }
}

/// An operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub op_id: OpId,
    pub device_id: DeviceId,
    /// 1, 2, 3… per device, without gaps.
    pub device_seq: u64,
    pub author: UserId,
    /// The role the author acted in (checked by the server against the signed-in account).
    pub role: Role,
    /// The device's hybrid logical clock: shown to people, never used to decide a conflict.
    pub hlc: Hlc,
    pub target: Target,
    /// The target's version the device had seen; 0 when it had not seen the target.
    pub base_version: u64,
    pub body: OpBody,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

impl Operation {
    /// The target's scope as far as the operation says (only a create says).
    pub fn declared_scope(&self) -> Option<Uuid> {
        match &self.body {
            OpBody::Create { scope, .. } => Some(*scope),
            _ => None,
        }
    }
}
