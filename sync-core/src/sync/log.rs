//! The server's log: idempotent pushes, a global sequence, and scoped pulls.
//!
//! [`push`] and [`pull`] are generic over a [`LogStore`], so that the server implements the trait
//! over its database and reuses this logic unchanged; [`MemoryLog`] is the in-memory store used by
//! tests and simulations.
//!
//! # Push
//!
//! Operations are processed in the order they come:
//!
//! 1. An `op_id` already processed, or a `(device_id, device_seq)` already processed, returns the
//!    acknowledgement recorded the first time — redelivery changes nothing.
//! 2. A `device_seq` beyond the next expected one is a gap: acknowledged `gap` with the expected
//!    number, not stored (the phone re-sends from its outbox).
//! 3. Author, role, device and scope are checked against the signed-in [`Principal`]; then the
//!    operation is merged ([`merge_into`]) into its target.
//! 4. Every processed operation — applied, agreed, no-op, conflicting or refused — gets the next
//!    global sequence number, and its acknowledgement is stored with it. Refused operations are
//!    kept with their reason and come back in pulls to their device and to supervisors.
//!
//! The store must run one push in one transaction that serialises pushes (SQLite `BEGIN
//! IMMEDIATE`; on PostgreSQL a lock taken before reading [`LogStore::last_seq`]), so that
//! sequence numbers become visible in order and a pull never skips one.
//!
//! # Pull
//!
//! "Everything in my scope after sequence N": the entities whose last change is after N (their
//! whole current state, conflicts included), for scopes the device already holds; every entity of
//! a scope newly assigned to it; the refusals after N of its own operations (of every operation in
//! scope, for supervisors). Pages end on a sequence boundary; `up_to` is the cursor for the next
//! pull.

use super::entity::Entity;
use super::ids::{ConflictId, DeviceId, OpId, UserId};
use super::merge::{MergeContext, Reason, Refusal, Verdict, may_spawn, merge_into};
use super::op::Operation;
use super::schema::Role;
use super::value::{FieldValue, Unknown};
use super::wire::{PullRequest, PullResponse, PushAck, PushRequest, WIRE_VERSION};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// The scope keys (areas, cases) a principal may read and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything (administrators, supervisors of the whole survey).
    All,
    /// These areas and cases.
    Keys(BTreeSet<Uuid>),
}

impl Scope {
    /// Whether `key` is in scope.
    pub fn contains(&self, key: Uuid) -> bool {
        match self {
            Scope::All => true,
            Scope::Keys(keys) => keys.contains(&key),
        }
    }
}

/// Who is pushing or pulling, as the server established it (account, device, assignments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: UserId,
    pub device: DeviceId,
    pub role: Role,
    pub scope: Scope,
}

/// What happened to one pushed operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    /// Merged; at least one value changed.
    Applied { seq: u64, version: u64 },
    /// Merged without changing a value (the server already held it).
    Agreed { seq: u64, version: u64 },
    /// Nothing to do.
    NoOp { seq: u64 },
    /// Merged into conflict records (parts may have applied).
    Conflict {
        seq: u64,
        version: u64,
        conflicts: Vec<ConflictId>,
    },
    /// Refused and kept with the reason.
    Refused { seq: u64, reason: Reason },
    /// Not processed: the server expects `expected` next from this device.
    Gap { expected: u64 },
    /// A status of a newer version.
    #[serde(untagged)]
    Unknown(FieldValue),
}

impl AckStatus {
    /// The global sequence number, for processed operations.
    pub fn seq(&self) -> Option<u64> {
        match self {
            AckStatus::Applied { seq, .. }
            | AckStatus::Agreed { seq, .. }
            | AckStatus::NoOp { seq }
            | AckStatus::Conflict { seq, .. }
            | AckStatus::Refused { seq, .. } => Some(*seq),
            AckStatus::Gap { .. } | AckStatus::Unknown(_) => None,
        }
    }
}

/// The acknowledgement of one operation. The same operation pushed again gets the same one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub op_id: OpId,
    pub device_seq: u64,
    pub status: AckStatus,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A refused operation, kept with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusalRecord {
    pub seq: u64,
    pub op: Operation,
    pub reason: Reason,
    /// The target's scope, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Uuid>,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Everything one processed operation writes, atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// Its global sequence number: `last_seq() + 1`.
    pub seq: u64,
    pub op: Operation,
    pub ack: Ack,
    /// Entities to store with `seq` as their last change (the target and any it created).
    pub entities: Vec<Entity>,
    pub refusal: Option<RefusalRecord>,
    /// Whether the operation takes its `(device_id, device_seq)` (not when it names another
    /// device than the signed-in one).
    pub takes_device_seq: bool,
}

/// Which entities a pull reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityQuery {
    pub scope: Scope,
    /// Scope keys whose entities are read after `after`; entities of other scopes in `scope` are
    /// read from the start (newly assigned). Ignored for [`Scope::All`].
    pub known: BTreeSet<Uuid>,
    pub after: u64,
    /// Read entities with a last change ≤ this (the log's end when the pull began).
    pub up_to: u64,
    /// Stop after this many entities, at a sequence boundary.
    pub limit: usize,
}

/// One page of changed entities.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityPage {
    /// `(last change, entity)`, by sequence. Never splits the entities sharing a sequence.
    pub entities: Vec<(u64, Entity)>,
    /// Whether entities matching the query were left for another page.
    pub more: bool,
}

/// The storage behind [`push`] and [`pull`]. Implementations run a push inside one transaction
/// that serialises pushes (see the module documentation).
pub trait LogStore {
    type Error: std::error::Error + Send + Sync + 'static;

    /// The acknowledgement stored for an operation id.
    fn ack_by_op(&self, op: OpId) -> Result<Option<Ack>, Self::Error>;
    /// The acknowledgement stored for a device's sequence number.
    fn ack_by_device_seq(&self, device: DeviceId, seq: u64) -> Result<Option<Ack>, Self::Error>;
    /// The last `device_seq` processed for a device (0 when none).
    fn last_device_seq(&self, device: DeviceId) -> Result<u64, Self::Error>;
    /// An entity's current state.
    fn entity(&self, id: Uuid) -> Result<Option<Entity>, Self::Error>;
    /// An entity's current state, lent for a merge: a store that keeps entities in memory may
    /// hand over its own copy instead of cloning it (an interview of 250 answers pushed as 25
    /// edits would otherwise be copied 25 times). [`push`] gives it back by
    /// [`record`](Self::record) when the merge changed it, by
    /// [`restore_entity`](Self::restore_entity) otherwise, before it asks for anything else.
    /// By default a copy.
    fn take_entity(&mut self, id: Uuid) -> Result<Option<Entity>, Self::Error> {
        self.entity(id)
    }
    /// Gives back, unchanged, an entity lent by [`take_entity`](Self::take_entity).
    fn restore_entity(&mut self, id: Uuid, entity: Option<Entity>) -> Result<(), Self::Error> {
        let _ = (id, entity);
        Ok(())
    }
    /// The highest global sequence number assigned (0 when none).
    fn last_seq(&self) -> Result<u64, Self::Error>;
    /// Stores a processed operation and everything it changed.
    fn record(&mut self, record: LogRecord) -> Result<(), Self::Error>;
    /// Entities changed in scope (see [`EntityQuery`]).
    fn changed_entities(&self, query: &EntityQuery) -> Result<EntityPage, Self::Error>;
    /// Refusals with a sequence in `(after, up_to]` of `device`'s operations, or — with
    /// `scope` — of any operation whose target is in it.
    fn refusals(
        &self,
        device: DeviceId,
        scope: Option<&Scope>,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<RefusalRecord>, Self::Error>;
}

/// A storage failure during push or pull (the caller rolls back its transaction).
#[derive(Debug, thiserror::Error)]
pub enum LogError<E: std::error::Error + 'static> {
    #[error("log storage: {0}")]
    Store(#[source] E),
}

impl<E: std::error::Error + 'static> LogError<E> {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(_) => "store_error",
        }
    }
}

/// Processes a push (see the module documentation).
pub fn push<S: LogStore>(
    store: &mut S,
    who: &Principal,
    request: &PushRequest,
    ctx: &MergeContext,
) -> Result<PushAck, LogError<S::Error>> {
    let mut acks = Vec::with_capacity(request.ops.len());
    for op in &request.ops {
        acks.push(push_one(store, who, op, ctx).map_err(LogError::Store)?);
    }
    Ok(PushAck {
        version: WIRE_VERSION,
        acks,
        extra: Unknown::new(),
    })
}

fn push_one<S: LogStore>(
    store: &mut S,
    who: &Principal,
    op: &Operation,
    ctx: &MergeContext,
) -> Result<Ack, S::Error> {
    if let Some(ack) = store.ack_by_op(op.op_id)? {
        return Ok(ack);
    }
    let ack = |status| Ack {
        op_id: op.op_id,
        device_seq: op.device_seq,
        status,
        extra: Unknown::new(),
    };
    let seq = store.last_seq()? + 1;
    if op.device_id != who.device {
        let reason = Refusal::DeviceMismatch.reason();
        let a = ack(AckStatus::Refused {
            seq,
            reason: reason.clone(),
        });
        store.record(refusal_record(seq, op, reason, None, a.clone(), false))?;
        return Ok(a);
    }
    if let Some(original) = store.ack_by_device_seq(op.device_id, op.device_seq)? {
        return Ok(original);
    }
    let expected = store.last_device_seq(op.device_id)? + 1;
    if op.device_seq != expected {
        return Ok(ack(AckStatus::Gap { expected }));
    }
    // Borrow the store's own copy of the target, unless the merge may create other entities:
    // then a part that already exists refuses the operation after the target was changed, and
    // the store's copy must stay as it was.
    let spawning = may_spawn(op);
    let mut slot = if spawning {
        store.entity(op.target.id)?
    } else {
        store.take_entity(op.target.id)?
    };
    let scope = slot.as_ref().map(|e| e.scope).or(op.declared_scope());
    let refusal = if op.author != who.user {
        Some(Refusal::AuthorMismatch)
    } else if op.role != who.role {
        Some(Refusal::RoleNotHeld(op.role.clone()))
    } else if scope.is_some_and(|s| !who.scope.contains(s)) {
        Some(Refusal::OutOfScope)
    } else {
        None
    };
    let merged = match refusal {
        Some(r) => Verdict::Refused(r),
        None => {
            #[cfg(debug_assertions)]
            let before = slot.clone();
            let merged = merge_into(&mut slot, op, ctx);
            debug_assert!(
                spawning || merged.spawned.is_empty(),
                "may_spawn() is false for an operation that spawned entities"
            );
            let mut verdict = merged.verdict;
            for part in &merged.spawned {
                if part.id == op.target.id || store.entity(part.id)?.is_some() {
                    verdict = Verdict::Refused(Refusal::AlreadyExists {
                        kind: part.kind.to_string(),
                        id: part.id,
                    });
                }
            }
            if !matches!(verdict, Verdict::Refused(_) | Verdict::NoOp) {
                let target = slot.take().into_iter();
                let entities = target.chain(merged.spawned).collect::<Vec<_>>();
                let version = entities.first().map_or(0, |e| e.version);
                let status = match verdict {
                    Verdict::Applied => AckStatus::Applied { seq, version },
                    Verdict::Agreed => AckStatus::Agreed { seq, version },
                    Verdict::Conflict { conflicts } => AckStatus::Conflict {
                        seq,
                        version,
                        conflicts,
                    },
                    Verdict::NoOp | Verdict::Refused(_) => AckStatus::NoOp { seq },
                };
                let a = ack(status);
                store.record(LogRecord {
                    seq,
                    op: op.clone(),
                    ack: a.clone(),
                    entities,
                    refusal: None,
                    takes_device_seq: true,
                })?;
                return Ok(a);
            }
            #[cfg(debug_assertions)]
            debug_assert!(
                spawning || slot == before,
                "a refused or no-op merge changed its target"
            );
            verdict
        }
    };
    if !spawning {
        store.restore_entity(op.target.id, slot)?;
    }
    let a = match merged {
        Verdict::Refused(r) => {
            let reason = r.reason();
            let a = ack(AckStatus::Refused {
                seq,
                reason: reason.clone(),
            });
            store.record(refusal_record(seq, op, reason, scope, a.clone(), true))?;
            a
        }
        _ => {
            let a = ack(AckStatus::NoOp { seq });
            store.record(LogRecord {
                seq,
                op: op.clone(),
                ack: a.clone(),
                entities: Vec::new(),
                refusal: None,
                takes_device_seq: true,
            })?;
            a
        }
    };
    Ok(a)
}

fn refusal_record(
    seq: u64,
    op: &Operation,
    reason: Reason,
    scope: Option<Uuid>,
    ack: Ack,
    takes_device_seq: bool,
) -> LogRecord {
    LogRecord {
        seq,
        op: op.clone(),
        ack,
        entities: Vec::new(),
        refusal: Some(RefusalRecord {
            seq,
            op: op.clone(),
            reason,
            scope,
            extra: Unknown::new(),
        }),
        takes_device_seq,
    }
}

/// The most entities a pull returns when the request does not say (or asks for more).
pub const MAX_PULL_LIMIT: u32 = 5_000;

/// Answers a pull (see the module documentation).
pub fn pull<S: LogStore>(
    store: &S,
    who: &Principal,
    request: &PullRequest,
) -> Result<PullResponse, LogError<S::Error>> {
    let head = store.last_seq().map_err(LogError::Store)?;
    let limit = match request.limit {
        0 => MAX_PULL_LIMIT,
        n => n.min(MAX_PULL_LIMIT),
    } as usize;
    let query = EntityQuery {
        scope: who.scope.clone(),
        known: request.known_scopes.iter().copied().collect(),
        after: request.after,
        up_to: head,
        limit,
    };
    let page = store.changed_entities(&query).map_err(LogError::Store)?;
    let up_to = if page.more {
        page.entities.last().map_or(request.after, |(s, _)| *s)
    } else {
        head
    };
    let supervisor_scope = who.role.supervises().then_some(&who.scope);
    let refusals = store
        .refusals(who.device, supervisor_scope, request.after, up_to)
        .map_err(LogError::Store)?;
    let (scopes, all_scopes) = match &who.scope {
        Scope::All => (Vec::new(), true),
        Scope::Keys(keys) => (keys.iter().copied().collect(), false),
    };
    Ok(PullResponse {
        version: WIRE_VERSION,
        entities: page.entities.into_iter().map(|(_, e)| e).collect(),
        refusals,
        up_to,
        complete: !page.more,
        scopes,
        all_scopes,
        extra: Unknown::new(),
    })
}

/// The in-memory [`LogStore`]: tests, simulations, benchmarks.
#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
    last_seq: u64,
    entities: HashMap<Uuid, (u64, Entity)>,
    /// Entity ids by the sequence of their last change.
    by_seq: BTreeMap<u64, Vec<Uuid>>,
    acks: HashMap<OpId, Ack>,
    device_seqs: HashMap<(DeviceId, u64), OpId>,
    last_device_seq: HashMap<DeviceId, u64>,
    refusals: Vec<RefusalRecord>,
    log: Vec<(u64, Operation)>,
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entity, by id.
    pub fn entities(&self) -> BTreeMap<Uuid, &Entity> {
        self.entities.iter().map(|(id, (_, e))| (*id, e)).collect()
    }

    /// One entity.
    pub fn get(&self, id: Uuid) -> Option<&Entity> {
        self.entities.get(&id).map(|(_, e)| e)
    }

    /// Every processed operation with its sequence number.
    pub fn log(&self) -> &[(u64, Operation)] {
        &self.log
    }

    /// Every refusal.
    pub fn all_refusals(&self) -> &[RefusalRecord] {
        &self.refusals
    }

    /// The acknowledgement of an operation, if processed.
    pub fn ack(&self, op: OpId) -> Option<&Ack> {
        self.acks.get(&op)
    }
}

impl LogStore for MemoryLog {
    type Error = std::convert::Infallible;

    fn ack_by_op(&self, op: OpId) -> Result<Option<Ack>, Self::Error> {
        Ok(self.acks.get(&op).cloned())
    }

    fn ack_by_device_seq(&self, device: DeviceId, seq: u64) -> Result<Option<Ack>, Self::Error> {
        Ok(self
            .device_seqs
            .get(&(device, seq))
            .and_then(|op| self.acks.get(op))
            .cloned())
    }

    fn last_device_seq(&self, device: DeviceId) -> Result<u64, Self::Error> {
        Ok(self.last_device_seq.get(&device).copied().unwrap_or(0))
    }

    fn entity(&self, id: Uuid) -> Result<Option<Entity>, Self::Error> {
        Ok(self.entities.get(&id).map(|(_, e)| e.clone()))
    }

    fn take_entity(&mut self, id: Uuid) -> Result<Option<Entity>, Self::Error> {
        // An empty stand-in keeps the entity's place (and its sequence) until it comes back.
        Ok(self.entities.get_mut(&id).map(|(_, e)| {
            let stand_in = Entity::new(e.kind.clone(), e.id, e.scope);
            std::mem::replace(e, stand_in)
        }))
    }

    fn restore_entity(&mut self, id: Uuid, entity: Option<Entity>) -> Result<(), Self::Error> {
        if let (Some((_, slot)), Some(e)) = (self.entities.get_mut(&id), entity) {
            *slot = e;
        }
        Ok(())
    }

    fn last_seq(&self) -> Result<u64, Self::Error> {
        Ok(self.last_seq)
    }

    fn record(&mut self, r: LogRecord) -> Result<(), Self::Error> {
        self.last_seq = self.last_seq.max(r.seq);
        if r.takes_device_seq {
            self.device_seqs
                .insert((r.op.device_id, r.op.device_seq), r.op.op_id);
            let last = self.last_device_seq.entry(r.op.device_id).or_insert(0);
            *last = (*last).max(r.op.device_seq);
        }
        self.acks.insert(r.op.op_id, r.ack);
        for e in r.entities {
            let id = e.id;
            if let Some((old, _)) = self.entities.insert(id, (r.seq, e))
                && let Some(ids) = self.by_seq.get_mut(&old)
            {
                ids.retain(|x| *x != id);
                if ids.is_empty() {
                    self.by_seq.remove(&old);
                }
            }
            self.by_seq.entry(r.seq).or_default().push(id);
        }
        if let Some(refusal) = r.refusal {
            self.refusals.push(refusal);
        }
        self.log.push((r.seq, r.op));
        Ok(())
    }

    fn changed_entities(&self, q: &EntityQuery) -> Result<EntityPage, Self::Error> {
        let mut out = Vec::new();
        let mut more = false;
        let wanted = |e: &Entity, seq: u64| match &q.scope {
            Scope::All => seq > q.after,
            Scope::Keys(keys) => {
                keys.contains(&e.scope) && (seq > q.after || !q.known.contains(&e.scope))
            }
        };
        for (&seq, ids) in self.by_seq.range(..=q.up_to) {
            let batch: Vec<&Entity> = ids
                .iter()
                .filter_map(|id| self.entities.get(id).map(|(_, e)| e))
                .filter(|e| wanted(e, seq))
                .collect();
            if batch.is_empty() {
                continue;
            }
            if out.len() >= q.limit {
                more = true;
                break;
            }
            out.extend(batch.into_iter().map(|e| (seq, e.clone())));
        }
        Ok(EntityPage {
            entities: out,
            more,
        })
    }

    fn refusals(
        &self,
        device: DeviceId,
        scope: Option<&Scope>,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<RefusalRecord>, Self::Error> {
        let start = self.refusals.partition_point(|r| r.seq <= after);
        Ok(self.refusals[start..]
            .iter()
            .take_while(|r| r.seq <= up_to)
            .filter(|r| {
                r.op.device_id == device
                    || scope.is_some_and(|s| match s {
                        Scope::All => true,
                        Scope::Keys(_) => r.scope.is_some_and(|k| s.contains(k)),
                    })
            })
            .cloned()
            .collect())
    }
}
