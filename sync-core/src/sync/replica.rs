//! A phone's side of sync: local edits with an outbox, a mirror of the server, and what is shown.
//!
//! A [`Replica`] keeps, in a [`ReplicaStorage`]:
//!
//! * the **mirror**: the last state of each entity the server sent;
//! * the **outbox**: the device's own operations, in `device_seq` order, until the server has both
//!   acknowledged them and sent back their effect (or refused them);
//! * the **refused** operations with their reasons, for the user to see;
//! * its metadata: identity, next `device_seq`, clock, pull cursor and scopes.
//!
//! What the user sees is the mirror with the outbox rebased on top: each pending operation merged,
//! in order, by the same [`merge_into`] the server runs. A local edit is merged into what is shown
//! and appended to the outbox in one storage commit; an edit the merge refuses is refused at once
//! and not stored. The replica is synced ([`Replica::is_synced`]) only when its outbox is empty and
//! its last pull was complete. Dropping a replica and opening its storage again gives back the same
//! replica.

use super::entity::Entity;
use super::hlc::{Hlc, HlcClock};
use super::ids::{DeviceId, OpId, UserId};
use super::log::{Ack, AckStatus, RefusalRecord};
use super::merge::{MergeContext, Merged, Refusal, Verdict, merge_into};
use super::op::{Change, OpBody, Operation, Target};
use super::schema::Role;
use super::value::{FieldValue, Unknown};
use super::wire::{PullRequest, PullResponse, PushAck, PushRequest, WIRE_VERSION};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Who a replica acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub device: DeviceId,
    pub user: UserId,
    pub role: Role,
}

/// A replica's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaMeta {
    pub identity: Identity,
    /// The `device_seq` of the next operation.
    pub next_seq: u64,
    /// The last clock stamp issued.
    pub clock: Hlc,
    /// The `up_to` of the last pull.
    pub cursor: u64,
    /// Whether the last pull was complete.
    pub pull_complete: bool,
    /// The scope keys held up to `cursor`.
    pub known_scopes: Vec<Uuid>,
    /// The device sees every scope (a supervisor).
    pub all_scopes: bool,
}

/// An operation waiting in the outbox, with the server's acknowledgement once it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub op: Operation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<Ack>,
}

/// Everything a replica stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaState {
    pub meta: ReplicaMeta,
    pub mirror: BTreeMap<Uuid, Entity>,
    pub outbox: Vec<OutboxEntry>,
    pub refused: Vec<RefusalRecord>,
}

/// One atomic change to a replica's storage: all of it is stored, or none.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Commit {
    /// The new metadata (always written).
    pub meta: Option<ReplicaMeta>,
    pub outbox_append: Vec<Operation>,
    /// Acknowledgements for outbox entries, by `device_seq`.
    pub outbox_acks: Vec<(u64, Ack)>,
    /// Outbox entries to drop, by `device_seq`.
    pub outbox_remove: Vec<u64>,
    pub mirror_put: Vec<Entity>,
    pub mirror_remove: Vec<Uuid>,
    pub refused_add: Vec<RefusalRecord>,
}

/// Where a replica keeps its state (SQLite on phones, memory in tests). `commit` must be atomic.
pub trait ReplicaStorage {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Everything stored, or `None` for a device that was never set up.
    fn load(&self) -> Result<Option<ReplicaState>, Self::Error>;
    /// Applies one commit atomically.
    fn commit(&mut self, commit: &Commit) -> Result<(), Self::Error>;
}

/// A [`ReplicaStorage`] in memory (tests, simulations). Cloning it is a snapshot of a phone's disk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryReplicaStorage {
    state: Option<ReplicaState>,
}

impl MemoryReplicaStorage {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Applies a commit to a stored state (the reference semantics of [`Commit`]).
pub fn apply_commit(state: &mut ReplicaState, c: &Commit) {
    if let Some(meta) = &c.meta {
        state.meta = meta.clone();
    }
    state
        .outbox
        .extend(c.outbox_append.iter().map(|op| OutboxEntry {
            op: op.clone(),
            ack: None,
        }));
    for (seq, ack) in &c.outbox_acks {
        if let Some(entry) = state.outbox.iter_mut().find(|e| e.op.device_seq == *seq) {
            entry.ack = Some(ack.clone());
        }
    }
    state
        .outbox
        .retain(|e| !c.outbox_remove.contains(&e.op.device_seq));
    for e in &c.mirror_put {
        state.mirror.insert(e.id, e.clone());
    }
    for id in &c.mirror_remove {
        state.mirror.remove(id);
    }
    state.refused.extend(c.refused_add.iter().cloned());
}

impl ReplicaStorage for MemoryReplicaStorage {
    type Error = std::convert::Infallible;

    fn load(&self) -> Result<Option<ReplicaState>, Self::Error> {
        Ok(self.state.clone())
    }

    fn commit(&mut self, c: &Commit) -> Result<(), Self::Error> {
        match &mut self.state {
            Some(state) => apply_commit(state, c),
            None => {
                if let Some(meta) = &c.meta {
                    let mut state = ReplicaState {
                        meta: meta.clone(),
                        mirror: BTreeMap::new(),
                        outbox: Vec::new(),
                        refused: Vec::new(),
                    };
                    apply_commit(&mut state, c);
                    self.state = Some(state);
                }
            }
        }
        Ok(())
    }
}

/// Why a replica could not do what was asked. Codes are stable.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError<E: std::error::Error + 'static> {
    #[error("replica storage: {0}")]
    Store(#[source] E),
    #[error("this device has not been set up")]
    NotSetUp,
    #[error("this device is already set up")]
    AlreadySetUp,
    #[error("{0}")]
    Refused(Refusal),
}

impl<E: std::error::Error + 'static> ReplicaError<E> {
    /// The stable machine code (for a refusal, the refusal's own code).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(_) => "store_error",
            Self::NotSetUp => "not_set_up",
            Self::AlreadySetUp => "already_set_up",
            Self::Refused(r) => r.code(),
        }
    }
}

/// A phone's replica.
#[derive(Debug)]
pub struct Replica<S: ReplicaStorage> {
    storage: S,
    state: ReplicaState,
    /// Entities as shown where they differ from the mirror (pending operations rebased).
    view: BTreeMap<Uuid, Entity>,
    ctx: MergeContext,
}

impl<S: ReplicaStorage> Replica<S> {
    /// Sets up a new device on empty storage.
    pub fn create(
        mut storage: S,
        identity: Identity,
        ctx: MergeContext,
    ) -> Result<Self, ReplicaError<S::Error>> {
        if storage.load().map_err(ReplicaError::Store)?.is_some() {
            return Err(ReplicaError::AlreadySetUp);
        }
        let meta = ReplicaMeta {
            identity,
            next_seq: 1,
            clock: Hlc::default(),
            cursor: 0,
            pull_complete: false,
            known_scopes: Vec::new(),
            all_scopes: false,
        };
        let commit = Commit {
            meta: Some(meta.clone()),
            ..Commit::default()
        };
        storage.commit(&commit).map_err(ReplicaError::Store)?;
        let state = ReplicaState {
            meta,
            mirror: BTreeMap::new(),
            outbox: Vec::new(),
            refused: Vec::new(),
        };
        Ok(Self {
            storage,
            state,
            view: BTreeMap::new(),
            ctx,
        })
    }

    /// Opens a device's storage again (after the app was killed, the phone restarted…).
    pub fn open(storage: S, ctx: MergeContext) -> Result<Self, ReplicaError<S::Error>> {
        let state = storage
            .load()
            .map_err(ReplicaError::Store)?
            .ok_or(ReplicaError::NotSetUp)?;
        let mut r = Self {
            storage,
            state,
            view: BTreeMap::new(),
            ctx,
        };
        r.rebuild_view();
        Ok(r)
    }

    /// Gives the storage back (what survives a restart).
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Who this replica acts for.
    pub fn identity(&self) -> &Identity {
        &self.state.meta.identity
    }

    /// The stored metadata.
    pub fn meta(&self) -> &ReplicaMeta {
        &self.state.meta
    }

    /// An entity as shown: the mirror with pending operations rebased.
    pub fn entity(&self, id: Uuid) -> Option<&Entity> {
        self.view.get(&id).or_else(|| self.state.mirror.get(&id))
    }

    /// Every entity as shown, by id.
    pub fn entities(&self) -> BTreeMap<Uuid, &Entity> {
        let mut all: BTreeMap<Uuid, &Entity> =
            self.state.mirror.iter().map(|(k, v)| (*k, v)).collect();
        all.extend(self.view.iter().map(|(k, v)| (*k, v)));
        all
    }

    /// An entity as the server last sent it.
    pub fn mirror(&self, id: Uuid) -> Option<&Entity> {
        self.state.mirror.get(&id)
    }

    /// The mirror.
    pub fn mirror_entities(&self) -> &BTreeMap<Uuid, Entity> {
        &self.state.mirror
    }

    /// Operations not yet both acknowledged and pulled back.
    pub fn outbox(&self) -> &[OutboxEntry] {
        &self.state.outbox
    }

    /// Operations the server refused, with the reasons.
    pub fn refused(&self) -> &[RefusalRecord] {
        &self.state.refused
    }

    /// Whether everything this device did is on the server and what it shows is the server's
    /// state: the outbox is empty and the last pull was complete.
    pub fn is_synced(&self) -> bool {
        self.state.outbox.is_empty() && self.state.meta.pull_complete
    }

    /// Makes an operation, merges it into what is shown and appends it to the outbox, in one
    /// commit. A refused operation is not stored; an operation that would change nothing is not
    /// stored either (its verdict is [`Verdict::NoOp`]).
    pub fn act(
        &mut self,
        target: Target,
        body: OpBody,
        op_id: OpId,
        now_ms: u64,
    ) -> Result<Verdict, ReplicaError<S::Error>> {
        let meta = &self.state.meta;
        let mut clock = HlcClock::new(meta.clock);
        let hlc = clock.tick(now_ms);
        let op = Operation {
            op_id,
            device_id: meta.identity.device,
            device_seq: meta.next_seq,
            author: meta.identity.user,
            role: meta.identity.role.clone(),
            hlc,
            base_version: self.state.mirror.get(&target.id).map_or(0, |e| e.version),
            target,
            body,
            extra: Unknown::new(),
        };
        let mut slot = self.entity(op.target.id).cloned();
        let merged = merge_into(&mut slot, &op, &self.ctx);
        let verdict = merged.verdict.clone();
        match verdict {
            Verdict::Refused(r) => return Err(ReplicaError::Refused(r)),
            Verdict::NoOp => return Ok(Verdict::NoOp),
            _ => {}
        }
        let mut meta = self.state.meta.clone();
        meta.next_seq += 1;
        meta.clock = hlc;
        let commit = Commit {
            meta: Some(meta),
            outbox_append: vec![op],
            ..Commit::default()
        };
        self.storage.commit(&commit).map_err(ReplicaError::Store)?;
        apply_commit(&mut self.state, &commit);
        self.show(slot, merged);
        Ok(verdict)
    }

    /// Changes fields: each `(field, new)` becomes a change from the value shown now.
    pub fn edit(
        &mut self,
        target: Target,
        changes: impl IntoIterator<Item = (String, FieldValue)>,
        op_id: OpId,
        now_ms: u64,
    ) -> Result<Verdict, ReplicaError<S::Error>> {
        let shown = self.entity(target.id);
        let changes = changes
            .into_iter()
            .map(|(field, new)| {
                let old = shown
                    .and_then(|e| e.get(&field))
                    .cloned()
                    .unwrap_or(FieldValue::Null);
                Change::new(field, old, new)
            })
            .collect();
        self.act(target, OpBody::Edit { changes }, op_id, now_ms)
    }

    /// Approves an interview as this device last received it from the server.
    pub fn approve(
        &mut self,
        target: Target,
        op_id: OpId,
        now_ms: u64,
    ) -> Result<Verdict, ReplicaError<S::Error>> {
        let at_version = self.state.mirror.get(&target.id).map_or(0, |e| e.version);
        self.act(target, OpBody::Approve { at_version }, op_id, now_ms)
    }

    fn show(&mut self, slot: Option<Entity>, merged: Merged) {
        if let Some(e) = slot {
            self.view.insert(e.id, e);
        }
        for part in merged.spawned {
            self.view.insert(part.id, part);
        }
    }

    /// What to push: up to `max_ops` operations not yet acknowledged, in order.
    pub fn push_request(&self, max_ops: usize) -> PushRequest {
        PushRequest {
            version: WIRE_VERSION,
            device_id: self.state.meta.identity.device,
            ops: self
                .state
                .outbox
                .iter()
                .filter(|e| e.ack.is_none())
                .take(max_ops)
                .map(|e| e.op.clone())
                .collect(),
            extra: Unknown::new(),
        }
    }

    /// Takes the server's acknowledgements in. Refused operations leave the outbox for the refused
    /// list; accepted ones stay until a pull brings their effect back.
    pub fn apply_push_ack(&mut self, ack: &PushAck) -> Result<(), ReplicaError<S::Error>> {
        let mut commit = Commit::default();
        for a in &ack.acks {
            let Some(entry) = self
                .state
                .outbox
                .iter()
                .find(|e| e.op.device_seq == a.device_seq && e.op.op_id == a.op_id)
            else {
                continue;
            };
            match &a.status {
                AckStatus::Refused { seq, reason } => {
                    commit.outbox_remove.push(a.device_seq);
                    if !self.state.refused.iter().any(|r| r.op.op_id == a.op_id) {
                        commit.refused_add.push(RefusalRecord {
                            seq: *seq,
                            op: entry.op.clone(),
                            reason: reason.clone(),
                            scope: None,
                            extra: Unknown::new(),
                        });
                    }
                }
                AckStatus::Gap { .. } | AckStatus::Unknown(_) => {}
                _ => commit.outbox_acks.push((a.device_seq, a.clone())),
            }
        }
        self.commit_and_settle(commit)
    }

    /// What to pull.
    pub fn pull_request(&self, limit: u32) -> PullRequest {
        PullRequest {
            version: WIRE_VERSION,
            device_id: self.state.meta.identity.device,
            after: self.state.meta.cursor,
            known_scopes: self.state.meta.known_scopes.clone(),
            limit,
            extra: Unknown::new(),
        }
    }

    /// Takes a pull response in: the mirror moves forward, refusals of this device's operations
    /// leave the outbox, entities of scopes no longer assigned are dropped, and what is shown is
    /// rebuilt.
    pub fn apply_pull(&mut self, resp: &PullResponse) -> Result<(), ReplicaError<S::Error>> {
        let mut commit = Commit {
            mirror_put: resp.entities.clone(),
            ..Commit::default()
        };
        let me = self.state.meta.identity.device;
        for r in &resp.refusals {
            let known = self.state.refused.iter().any(|x| x.op.op_id == r.op.op_id)
                || commit.refused_add.iter().any(|x| x.op.op_id == r.op.op_id);
            if !known {
                commit.refused_add.push(r.clone());
            }
            if r.op.device_id == me && self.state.outbox.iter().any(|e| e.op.op_id == r.op.op_id) {
                commit.outbox_remove.push(r.op.device_seq);
            }
        }
        if !resp.all_scopes {
            let keep: std::collections::BTreeSet<Uuid> = resp.scopes.iter().copied().collect();
            commit.mirror_remove = self
                .state
                .mirror
                .values()
                .filter(|e| !keep.contains(&e.scope))
                .map(|e| e.id)
                .collect();
        }
        let mut meta = self.state.meta.clone();
        meta.cursor = meta.cursor.max(resp.up_to);
        meta.pull_complete = resp.complete;
        meta.known_scopes = resp.scopes.clone();
        meta.all_scopes = resp.all_scopes;
        commit.meta = Some(meta);
        self.commit_and_settle(commit)
    }

    /// Commits, then drops outbox entries whose effect the mirror now holds, and rebuilds the view.
    fn commit_and_settle(&mut self, mut commit: Commit) -> Result<(), ReplicaError<S::Error>> {
        let mut after = self.state.clone();
        apply_commit(&mut after, &commit);
        let me = after.meta.identity.device;
        let cursor = after.meta.cursor;
        for e in &after.outbox {
            let acked_and_pulled = e
                .ack
                .as_ref()
                .and_then(|a| a.status.seq())
                .is_some_and(|seq| seq <= cursor);
            let incorporated = after
                .mirror
                .get(&e.op.target.id)
                .and_then(|m| m.seen.get(&me))
                .is_some_and(|s| *s >= e.op.device_seq);
            if (acked_and_pulled || incorporated)
                && !commit.outbox_remove.contains(&e.op.device_seq)
            {
                commit.outbox_remove.push(e.op.device_seq);
            }
        }
        self.storage.commit(&commit).map_err(ReplicaError::Store)?;
        apply_commit(&mut self.state, &commit);
        self.rebuild_view();
        Ok(())
    }

    /// Rebases the outbox on the mirror.
    fn rebuild_view(&mut self) {
        self.view.clear();
        let me = self.state.meta.identity.device;
        for entry in &self.state.outbox {
            let op = &entry.op;
            if self
                .state
                .mirror
                .get(&op.target.id)
                .and_then(|m| m.seen.get(&me))
                .is_some_and(|s| *s >= op.device_seq)
            {
                continue;
            }
            let mut slot = self
                .view
                .get(&op.target.id)
                .or_else(|| self.state.mirror.get(&op.target.id))
                .cloned();
            let merged = merge_into(&mut slot, op, &self.ctx);
            if let Some(e) = slot {
                self.view.insert(e.id, e);
            }
            for part in merged.spawned {
                if !self.state.mirror.contains_key(&part.id) {
                    self.view.insert(part.id, part);
                }
            }
        }
    }
}
