//! The database behind the sync log: [`DbLog`], sync-core's [`LogStore`] over a
//! [`DbConnection`] and one project, mirroring [`MemoryLog`](sync_core::sync::MemoryLog)'s
//! semantics exactly.
//!
//! A push reads through a cache and writes behind: entities read once are kept for the rest of
//! the push (an interview pushed as 250 edits is read and decoded once, not 250 times), and
//! everything [`LogStore::record`] is given is buffered and written by [`DbLog::flush`] in a few
//! batched statements. The caller runs the whole push in one transaction that serialises pushes
//! (see [`crate::sync::push`]) and calls `flush` before committing; reads that happen after a
//! `record` in the same push see the buffered state, as they would see `MemoryLog`'s.
//!
//! Pulls ([`LogStore::changed_entities`], [`LogStore::refusals`]) read committed rows only: use a
//! fresh `DbLog` for them.

use crate::db::DbConnection;
use crate::db::schema::{sync_devices, sync_entities, sync_log, sync_refusals};
use crate::store::StoreError;
use diesel::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use sync_core::sync::entity::Entity;
use sync_core::sync::log::{
    Ack, EntityPage, EntityQuery, LogRecord, LogStore, RefusalRecord, Scope,
};
use sync_core::sync::merge::Reason;
use sync_core::sync::op::Operation;
use sync_core::sync::{DeviceId, OpId};
use uuid::Uuid;

type Backend = <DbConnection as Connection>::Backend;

/// A multi-row `INSERT` (diesel's `MultiConnection` does not batch: run it on the backend's own
/// connection).
macro_rules! insert_batch {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            DbConnection::Pg(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}

/// Rows per multi-row `INSERT` (kept well under SQLite's 32,766 bound variables).
const BATCH: usize = 500;

/// sync-core's [`LogStore`] over one project's tables (see the module documentation).
pub struct DbLog<'c> {
    conn: RefCell<&'c mut DbConnection>,
    project: String,
    state: RefCell<Pending>,
}

impl std::fmt::Debug for DbLog<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbLog")
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

/// An entity as this push knows it.
#[derive(Debug)]
struct Cached {
    /// Whether a row exists in the database (update, not insert, when written).
    stored: bool,
    entity: Option<Entity>,
    /// `(last_seq, ord)` when it must be written.
    write: Option<(u64, i32)>,
}

/// What a push has read and what it has yet to write.
#[derive(Debug, Default)]
struct Pending {
    last_seq: Option<u64>,
    entities: HashMap<Uuid, Cached>,
    /// Per device: whether a row exists, the last sequence number, whether it must be written.
    devices: HashMap<DeviceId, (bool, u64, bool)>,
    log: Vec<LogRow>,
    acks_by_op: HashMap<OpId, Ack>,
    acks_by_device: HashMap<(DeviceId, u64), Ack>,
    /// Op ids and (device, seq) pairs [`DbLog::prefetch`] found absent from the database.
    new_ops: std::collections::HashSet<OpId>,
    new_device_seqs: std::collections::HashSet<(DeviceId, u64)>,
    refusals: Vec<RefusalRow>,
    /// The operations' JSON, encoded before the push took the write lock.
    encoded: HashMap<OpId, String>,
}

type LogRow = (i64, String, Option<String>, Option<i64>, String, String);
type RefusalRow = (i64, String, String, Option<String>, String, String);
type EntityRow = (
    String,
    String,
    String,
    i64,
    i64,
    i32,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
    i32,
    String,
    String,
);

fn int(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Internal(format!("{what} {v} is out of range")))
}

fn uint(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(diesel::result::Error::DeserializationError(
        format!("stored {what} cannot be read: {e}").into(),
    ))
}

fn to_json<T: serde::Serialize>(v: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(format!("cannot encode {what}: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

fn parse_uuid(text: &str, what: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| corrupt(what, e))
}

impl<'c> DbLog<'c> {
    /// The log of `project` (its id) over `conn`.
    pub fn new(conn: &'c mut DbConnection, project: &str) -> Self {
        DbLog {
            conn: RefCell::new(conn),
            project: project.to_string(),
            state: RefCell::new(Pending::default()),
        }
    }

    /// Uses operations already encoded by [`encode_ops`] for the log.
    #[must_use]
    pub fn with_encoded_ops(mut self, encoded: HashMap<OpId, String>) -> Self {
        self.state.get_mut().encoded = encoded;
        self
    }

    /// The project id.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// Reads in a few statements what a push will ask about each of its operations — the
    /// acknowledgements already stored under their op ids and under their (device, seq) — so
    /// that [`LogStore::ack_by_op`] and [`LogStore::ack_by_device_seq`] need no query per
    /// operation (measured: two queries per operation were a third of a push's time).
    pub fn prefetch(&mut self, request: &sync_core::sync::PushRequest) -> Result<(), StoreError> {
        let last = self.load_device(request.device_id)?;
        let project = self.project.clone();
        let conn: &mut DbConnection = self.conn.get_mut();
        let st = self.state.get_mut();
        for chunk in request.ops.chunks(BATCH) {
            let ids: Vec<String> = chunk.iter().map(|op| op.op_id.to_string()).collect();
            let found: Vec<String> = sync_log::table
                .filter(sync_log::project_id.eq(&project))
                .filter(sync_log::op_id.eq_any(&ids))
                .select(sync_log::ack)
                .load(&mut *conn)?;
            for ack in found {
                let ack: Ack = from_json(&ack, "acknowledgement")?;
                st.acks_by_op.insert(ack.op_id, ack);
            }
            for op in chunk {
                if !st.acks_by_op.contains_key(&op.op_id) {
                    st.new_ops.insert(op.op_id);
                }
            }
            let device = request.device_id;
            // A sequence number beyond the device's last was never stored: the usual push
            // (new work) needs no query here.
            for op in chunk.iter().filter(|op| op.device_id == device) {
                if op.device_seq > last {
                    st.new_device_seqs.insert((device, op.device_seq));
                }
            }
            let seqs: Vec<i64> = chunk
                .iter()
                .filter(|op| op.device_id == device && op.device_seq <= last)
                .filter_map(|op| i64::try_from(op.device_seq).ok())
                .collect();
            if seqs.is_empty() {
                continue;
            }
            let found: Vec<(Option<i64>, String)> = sync_log::table
                .filter(sync_log::project_id.eq(&project))
                .filter(sync_log::device_id.eq(device.to_string()))
                .filter(sync_log::device_seq.eq_any(&seqs))
                .select((sync_log::device_seq, sync_log::ack))
                .load(&mut *conn)?;
            for (seq, ack) in found {
                let ack: Ack = from_json(&ack, "acknowledgement")?;
                st.acks_by_device.insert((device, seq.map_or(0, uint)), ack);
            }
            for op in chunk.iter().filter(|op| op.device_id == device) {
                if !st.acks_by_device.contains_key(&(device, op.device_seq)) {
                    st.new_device_seqs.insert((device, op.device_seq));
                }
            }
        }
        Ok(())
    }

    /// Writes everything recorded since the last flush (call inside the push's transaction,
    /// before committing).
    pub fn flush(&mut self) -> Result<(), StoreError> {
        let project = self.project.clone();
        let conn: &mut DbConnection = self.conn.get_mut();
        let st = self.state.get_mut();
        let log = std::mem::take(&mut st.log);
        for chunk in log.chunks(BATCH) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(seq, op_id, device, device_seq, op, ack)| {
                    (
                        sync_log::project_id.eq(&project),
                        sync_log::seq.eq(*seq),
                        sync_log::op_id.eq(op_id),
                        sync_log::device_id.eq(device.as_deref()),
                        sync_log::device_seq.eq(*device_seq),
                        sync_log::op.eq(op),
                        sync_log::ack.eq(ack),
                    )
                })
                .collect();
            insert_batch!(&mut *conn, sync_log::table, rows)?;
        }
        let refusals = std::mem::take(&mut st.refusals);
        for chunk in refusals.chunks(BATCH) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(seq, device, author, scope, op, reason)| {
                    (
                        sync_refusals::project_id.eq(&project),
                        sync_refusals::seq.eq(*seq),
                        sync_refusals::device_id.eq(device),
                        sync_refusals::author.eq(author),
                        sync_refusals::scope.eq(scope.as_deref()),
                        sync_refusals::op.eq(op),
                        sync_refusals::reason.eq(reason),
                    )
                })
                .collect();
            insert_batch!(&mut *conn, sync_refusals::table, rows)?;
        }
        let mut inserts: Vec<EntityRow> = Vec::new();
        let mut ids: Vec<&Uuid> = st.entities.keys().collect();
        ids.sort();
        for id in ids {
            let Some(cached) = st.entities.get(id) else {
                continue;
            };
            let (Some((seq, ord)), Some(e)) = (cached.write, cached.entity.as_ref()) else {
                continue;
            };
            let row = entity_row(e, seq, ord)?;
            if cached.stored {
                let (
                    id,
                    _kind,
                    _scope,
                    version,
                    last_seq,
                    ord,
                    deleted,
                    iv,
                    status,
                    area,
                    open,
                    body,
                    fields,
                ) = row;
                // An entity's kind and scope never change (the merge refuses an operation of
                // another kind): not rewriting them spares their indexes.
                diesel::update(
                    sync_entities::table
                        .filter(sync_entities::project_id.eq(&project))
                        .filter(sync_entities::id.eq(&id)),
                )
                .set((
                    sync_entities::version.eq(version),
                    sync_entities::last_seq.eq(last_seq),
                    sync_entities::ord.eq(ord),
                    sync_entities::deleted.eq(deleted),
                    sync_entities::interviewer.eq(iv),
                    sync_entities::status.eq(status),
                    sync_entities::area.eq(area),
                    sync_entities::open_conflicts.eq(open),
                    sync_entities::body.eq(body),
                    sync_entities::fields.eq(fields),
                ))
                .execute(conn)?;
            } else {
                inserts.push(row);
            }
        }
        for chunk in inserts.chunks(BATCH / 2) {
            let rows: Vec<_> = chunk
                .iter()
                .map(
                    |(
                        id,
                        kind,
                        scope,
                        version,
                        last_seq,
                        ord,
                        deleted,
                        iv,
                        status,
                        area,
                        open,
                        body,
                        fields,
                    )| {
                        (
                            sync_entities::project_id.eq(&project),
                            sync_entities::id.eq(id),
                            sync_entities::kind.eq(kind),
                            sync_entities::scope.eq(scope),
                            sync_entities::version.eq(*version),
                            sync_entities::last_seq.eq(*last_seq),
                            sync_entities::ord.eq(*ord),
                            sync_entities::deleted.eq(*deleted),
                            sync_entities::interviewer.eq(iv.as_deref()),
                            sync_entities::status.eq(status.as_deref()),
                            sync_entities::area.eq(area.as_deref()),
                            sync_entities::open_conflicts.eq(*open),
                            sync_entities::body.eq(body),
                            sync_entities::fields.eq(fields),
                        )
                    },
                )
                .collect();
            insert_batch!(&mut *conn, sync_entities::table, rows)?;
        }
        for cached in st.entities.values_mut() {
            if cached.write.take().is_some() {
                cached.stored = true;
            }
        }
        for (device, (stored, last, dirty)) in st.devices.iter_mut() {
            if !*dirty {
                continue;
            }
            let device = device.to_string();
            let last_seq = int(*last, "device sequence")?;
            if *stored {
                diesel::update(
                    sync_devices::table
                        .filter(sync_devices::project_id.eq(&project))
                        .filter(sync_devices::device_id.eq(&device)),
                )
                .set(sync_devices::last_seq.eq(last_seq))
                .execute(conn)?;
            } else {
                diesel::insert_into(sync_devices::table)
                    .values((
                        sync_devices::project_id.eq(&project),
                        sync_devices::device_id.eq(&device),
                        sync_devices::last_seq.eq(last_seq),
                    ))
                    .execute(conn)?;
            }
            *stored = true;
            *dirty = false;
        }
        st.acks_by_op.clear();
        st.acks_by_device.clear();
        Ok(())
    }

    fn load_entity(&self, id: Uuid) -> Result<(), StoreError> {
        if self.state.borrow().entities.contains_key(&id) {
            return Ok(());
        }
        let body: Option<String> = {
            let mut conn = self.conn.borrow_mut();
            sync_entities::table
                .filter(sync_entities::project_id.eq(&self.project))
                .filter(sync_entities::id.eq(id.to_string()))
                .select(sync_entities::body)
                .get_result(&mut **conn)
                .optional()?
        };
        let entity = body
            .map(|b| from_json::<Entity>(&b, "entity"))
            .transpose()?;
        self.state.borrow_mut().entities.insert(
            id,
            Cached {
                stored: entity.is_some(),
                entity,
                write: None,
            },
        );
        Ok(())
    }

    fn load_device(&self, device: DeviceId) -> Result<u64, StoreError> {
        if let Some((_, last, _)) = self.state.borrow().devices.get(&device) {
            return Ok(*last);
        }
        let last: Option<i64> = {
            let mut conn = self.conn.borrow_mut();
            sync_devices::table
                .filter(sync_devices::project_id.eq(&self.project))
                .filter(sync_devices::device_id.eq(device.to_string()))
                .select(sync_devices::last_seq)
                .get_result(&mut **conn)
                .optional()?
        };
        let value = last.map_or(0, uint);
        self.state
            .borrow_mut()
            .devices
            .insert(device, (last.is_some(), value, false));
        Ok(value)
    }

    fn entities_query(
        &self,
        q: &EntityQuery,
    ) -> Option<sync_entities::BoxedQuery<'static, Backend>> {
        let mut query = sync_entities::table
            .filter(sync_entities::project_id.eq(self.project.clone()))
            .filter(sync_entities::last_seq.le(i64::try_from(q.up_to).unwrap_or(i64::MAX)))
            .into_boxed();
        let after = i64::try_from(q.after).unwrap_or(i64::MAX);
        match &q.scope {
            Scope::All => query = query.filter(sync_entities::last_seq.gt(after)),
            Scope::Keys(keys) => {
                let (known, fresh): (Vec<&Uuid>, Vec<&Uuid>) =
                    keys.iter().partition(|k| q.known.contains(k));
                let known: Vec<String> = known.iter().map(|k| k.to_string()).collect();
                let fresh: Vec<String> = fresh.iter().map(|k| k.to_string()).collect();
                query = match (known.is_empty(), fresh.is_empty()) {
                    (true, true) => return None,
                    (false, true) => query.filter(
                        sync_entities::scope
                            .eq_any(known)
                            .and(sync_entities::last_seq.gt(after)),
                    ),
                    (true, false) => query.filter(sync_entities::scope.eq_any(fresh)),
                    (false, false) => query.filter(
                        sync_entities::scope
                            .eq_any(known)
                            .and(sync_entities::last_seq.gt(after))
                            .or(sync_entities::scope.eq_any(fresh)),
                    ),
                };
            }
        }
        Some(query)
    }
}

/// The JSON of each operation of a push, as the log stores it (see [`DbLog::with_encoded_ops`]).
/// An op id that comes more than once is left out: which of its operations the log keeps
/// depends on the merge.
pub fn encode_ops(
    request: &sync_core::sync::PushRequest,
) -> Result<HashMap<OpId, String>, StoreError> {
    let mut encoded = HashMap::with_capacity(request.ops.len());
    let mut repeated = Vec::new();
    for op in &request.ops {
        if encoded
            .insert(op.op_id, to_json(op, "operation")?)
            .is_some()
        {
            repeated.push(op.op_id);
        }
    }
    for id in repeated {
        encoded.remove(&id);
    }
    Ok(encoded)
}

/// The row of an entity written at `(seq, ord)`, with the columns copied out for queries.
fn entity_row(e: &Entity, seq: u64, ord: i32) -> Result<EntityRow, StoreError> {
    Ok((
        e.id.to_string(),
        e.kind.to_string(),
        e.scope.to_string(),
        int(e.version, "entity version")?,
        int(seq, "sequence number")?,
        ord,
        e.deleted,
        e.text(sync_core::fieldwork::field::INTERVIEWER)
            .map(str::to_string),
        e.status().map(str::to_string),
        e.text(sync_core::fieldwork::field::AREA)
            .map(str::to_string),
        i32::try_from(e.open_conflicts().count()).unwrap_or(i32::MAX),
        to_json(e, "entity")?,
        to_json(&e.fields, "entity fields")?,
    ))
}

impl LogStore for DbLog<'_> {
    type Error = StoreError;

    fn ack_by_op(&self, op: OpId) -> Result<Option<Ack>, StoreError> {
        {
            let st = self.state.borrow();
            if let Some(ack) = st.acks_by_op.get(&op) {
                return Ok(Some(ack.clone()));
            }
            if st.new_ops.contains(&op) {
                return Ok(None);
            }
        }
        let mut conn = self.conn.borrow_mut();
        let ack: Option<String> = sync_log::table
            .filter(sync_log::project_id.eq(&self.project))
            .filter(sync_log::op_id.eq(op.to_string()))
            .select(sync_log::ack)
            .get_result(&mut **conn)
            .optional()?;
        ack.map(|a| from_json(&a, "acknowledgement")).transpose()
    }

    fn ack_by_device_seq(&self, device: DeviceId, seq: u64) -> Result<Option<Ack>, StoreError> {
        {
            let st = self.state.borrow();
            if let Some(ack) = st.acks_by_device.get(&(device, seq)) {
                return Ok(Some(ack.clone()));
            }
            if st.new_device_seqs.contains(&(device, seq)) {
                return Ok(None);
            }
        }
        // A sequence number beyond what the database can hold was never stored.
        let Ok(seq) = i64::try_from(seq) else {
            return Ok(None);
        };
        let mut conn = self.conn.borrow_mut();
        let ack: Option<String> = sync_log::table
            .filter(sync_log::project_id.eq(&self.project))
            .filter(sync_log::device_id.eq(device.to_string()))
            .filter(sync_log::device_seq.eq(seq))
            .select(sync_log::ack)
            .get_result(&mut **conn)
            .optional()?;
        ack.map(|a| from_json(&a, "acknowledgement")).transpose()
    }

    fn last_device_seq(&self, device: DeviceId) -> Result<u64, StoreError> {
        self.load_device(device)
    }

    fn entity(&self, id: Uuid) -> Result<Option<Entity>, StoreError> {
        self.load_entity(id)?;
        Ok(self
            .state
            .borrow()
            .entities
            .get(&id)
            .and_then(|c| c.entity.clone()))
    }

    fn take_entity(&mut self, id: Uuid) -> Result<Option<Entity>, StoreError> {
        self.load_entity(id)?;
        Ok(self
            .state
            .get_mut()
            .entities
            .get_mut(&id)
            .and_then(|c| c.entity.take()))
    }

    fn restore_entity(&mut self, id: Uuid, entity: Option<Entity>) -> Result<(), StoreError> {
        if let Some(cached) = self.state.get_mut().entities.get_mut(&id) {
            cached.entity = entity;
        }
        Ok(())
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        if let Some(seq) = self.state.borrow().last_seq {
            return Ok(seq);
        }
        let max: Option<i64> = {
            let mut conn = self.conn.borrow_mut();
            sync_log::table
                .filter(sync_log::project_id.eq(&self.project))
                .select(diesel::dsl::max(sync_log::seq))
                .get_result(&mut **conn)?
        };
        let seq = max.map_or(0, uint);
        self.state.borrow_mut().last_seq = Some(seq);
        Ok(seq)
    }

    fn record(&mut self, r: LogRecord) -> Result<(), StoreError> {
        if r.takes_device_seq {
            self.load_device(r.op.device_id)?;
        }
        for e in &r.entities {
            self.load_entity(e.id)?;
        }
        let seq = int(r.seq, "sequence number")?;
        let op_json = match self.state.get_mut().encoded.remove(&r.op.op_id) {
            Some(json) => json,
            None => to_json(&r.op, "operation")?,
        };
        let ack_json = to_json(&r.ack, "acknowledgement")?;
        let st = self.state.get_mut();
        st.last_seq = Some(st.last_seq.unwrap_or(0).max(r.seq));
        let (device, device_seq) = if r.takes_device_seq {
            st.acks_by_device
                .insert((r.op.device_id, r.op.device_seq), r.ack.clone());
            if let Some((_, last, dirty)) = st.devices.get_mut(&r.op.device_id)
                && r.op.device_seq > *last
            {
                *last = r.op.device_seq;
                *dirty = true;
            }
            (
                Some(r.op.device_id.to_string()),
                Some(int(r.op.device_seq, "device sequence")?),
            )
        } else {
            (None, None)
        };
        st.acks_by_op.insert(r.op.op_id, r.ack);
        st.log.push((
            seq,
            r.op.op_id.to_string(),
            device,
            device_seq,
            op_json,
            ack_json,
        ));
        for (ord, e) in r.entities.into_iter().enumerate() {
            let ord = i32::try_from(ord).unwrap_or(i32::MAX);
            if let Some(cached) = st.entities.get_mut(&e.id) {
                cached.entity = Some(e);
                cached.write = Some((r.seq, ord));
            }
        }
        if let Some(refusal) = r.refusal {
            st.refusals.push((
                seq,
                refusal.op.device_id.to_string(),
                refusal.op.author.to_string(),
                refusal.scope.map(|s| s.to_string()),
                to_json(&refusal.op, "operation")?,
                to_json(&refusal.reason, "reason")?,
            ));
        }
        Ok(())
    }

    fn changed_entities(&self, q: &EntityQuery) -> Result<EntityPage, StoreError> {
        let empty = EntityPage {
            entities: Vec::new(),
            more: false,
        };
        let Some(first) = self.entities_query(q) else {
            return Ok(empty);
        };
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let mut conn = self.conn.borrow_mut();
        let mut rows: Vec<(i64, String)> = first
            .order((sync_entities::last_seq.asc(), sync_entities::ord.asc()))
            .select((sync_entities::last_seq, sync_entities::body))
            .limit(limit)
            .load(&mut **conn)?;
        let mut more = false;
        if let Some(&(boundary, _)) = rows.last().filter(|_| rows.len() as i64 >= limit) {
            // Complete the last sequence's entities, then see whether anything follows.
            rows.retain(|(s, _)| *s != boundary);
            if let Some(batch) = self.entities_query(q) {
                let batch: Vec<(i64, String)> = batch
                    .filter(sync_entities::last_seq.eq(boundary))
                    .order(sync_entities::ord.asc())
                    .select((sync_entities::last_seq, sync_entities::body))
                    .load(&mut **conn)?;
                rows.extend(batch);
            }
            if let Some(next) = self.entities_query(q) {
                let next: Option<i64> = next
                    .filter(sync_entities::last_seq.gt(boundary))
                    .select(sync_entities::last_seq)
                    .limit(1)
                    .first(&mut **conn)
                    .optional()?;
                more = next.is_some();
            }
        }
        let entities = rows
            .into_iter()
            .map(|(seq, body)| Ok((uint(seq), from_json::<Entity>(&body, "entity")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(EntityPage { entities, more })
    }

    fn refusals(
        &self,
        device: DeviceId,
        scope: Option<&Scope>,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<RefusalRecord>, StoreError> {
        let mut query = sync_refusals::table
            .filter(sync_refusals::project_id.eq(self.project.clone()))
            .filter(sync_refusals::seq.gt(i64::try_from(after).unwrap_or(i64::MAX)))
            .filter(sync_refusals::seq.le(i64::try_from(up_to).unwrap_or(i64::MAX)))
            .into_boxed();
        let device = device.to_string();
        match scope {
            Some(Scope::All) => {}
            Some(Scope::Keys(keys)) => {
                let keys: Vec<String> = keys.iter().map(Uuid::to_string).collect();
                query = query.filter(
                    sync_refusals::device_id
                        .eq(device)
                        .or(sync_refusals::scope.assume_not_null().eq_any(keys)),
                );
            }
            None => query = query.filter(sync_refusals::device_id.eq(device)),
        }
        let mut conn = self.conn.borrow_mut();
        let rows: Vec<(i64, Option<String>, String, String)> = query
            .order(sync_refusals::seq.asc())
            .select((
                sync_refusals::seq,
                sync_refusals::scope,
                sync_refusals::op,
                sync_refusals::reason,
            ))
            .load(&mut **conn)?;
        rows.into_iter()
            .map(|(seq, scope, op, reason)| {
                Ok(RefusalRecord {
                    seq: uint(seq),
                    op: from_json::<Operation>(&op, "operation")?,
                    reason: from_json::<Reason>(&reason, "reason")?,
                    scope: scope.map(|s| parse_uuid(&s, "scope")).transpose()?,
                    extra: Default::default(),
                })
            })
            .collect()
    }
}
