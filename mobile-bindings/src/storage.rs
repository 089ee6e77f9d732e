//! The on-device store: one SQLite file holding the sync-core replica (metadata, outbox, mirror,
//! refused operations) and the app's local state (settings, cached forms and areas, where each
//! interview stands).
//!
//! [`SqliteStorage`] implements [`ReplicaStorage`]: every [`Commit`] is one SQLite transaction,
//! so a crash leaves either all of it or none. Entities are rows keyed by id (with their scope
//! indexed), outbox entries rows keyed by `device_seq`: a local edit writes two small rows, not
//! the whole state. The file runs in WAL mode with `synchronous=NORMAL` (a committed
//! transaction survives an app crash; after a power cut the last few may be lost, never
//! half-applied).

use crate::error::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;
use std::path::Path;
use sync_core::sync::log::RefusalRecord;
use sync_core::sync::replica::{Commit, OutboxEntry, ReplicaMeta, ReplicaState, ReplicaStorage};
use sync_core::sync::{Ack, Entity, Operation};
use uuid::Uuid;

/// The schema version this code writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS replica_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mirror (
    id BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    scope BLOB NOT NULL,
    body BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mirror_scope ON mirror (scope);
CREATE TABLE IF NOT EXISTS outbox (
    device_seq INTEGER PRIMARY KEY,
    op TEXT NOT NULL,
    ack TEXT
);
CREATE TABLE IF NOT EXISTS refused (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS forms (
    form_id TEXT NOT NULL,
    version TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (form_id, version)
);
CREATE TABLE IF NOT EXISTS cursors (
    case_id TEXT PRIMARY KEY,
    item TEXT NOT NULL,
    language TEXT
);
";

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn to_json<T: serde::Serialize>(what: &str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| corrupt(what, e))
}

/// The SQLite file of one phone.
#[derive(Debug)]
pub struct SqliteStorage {
    conn: Connection,
}

impl SqliteStorage {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        Self::setup(conn)
    }

    /// A store in memory (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema(version));
        }
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(Self { conn })
    }

    /// The connection (local state beside the replica).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// A setting.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Sets settings, all in one transaction.
    pub fn set_settings(&self, pairs: &[(&str, &str)]) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        for (k, v) in pairs {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes a setting.
    pub fn remove_setting(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM settings WHERE key = ?1", params![key])?;
        Ok(())
    }

    /// Drops the replica (metadata, mirror, outbox, refused) and the interview cursors: another
    /// user takes over a phone that holds nothing unsent.
    pub fn reset_replica(&self) -> Result<(), StoreError> {
        self.conn.execute_batch(
            "BEGIN IMMEDIATE;
             DELETE FROM replica_meta; DELETE FROM mirror; DELETE FROM outbox;
             DELETE FROM refused; DELETE FROM cursors;
             COMMIT;",
        )?;
        Ok(())
    }

    /// A cached form model (JSON text) by id and version.
    pub fn form(&self, form_id: &str, version: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT body FROM forms WHERE form_id = ?1 AND version = ?2",
                params![form_id, version],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The newest cached version of a form (by the order versions were stored).
    pub fn latest_form(&self, form_id: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT version, body FROM forms WHERE form_id = ?1 ORDER BY rowid DESC LIMIT 1",
                params![form_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Caches a form model.
    pub fn put_form(&self, form_id: &str, version: &str, body: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO forms (form_id, version, body) VALUES (?1, ?2, ?3)",
            params![form_id, version, body],
        )?;
        Ok(())
    }

    /// Where an interview stands: the current item (JSON) and language.
    pub fn cursor(&self, case_id: &str) -> Result<Option<(String, Option<String>)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT item, language FROM cursors WHERE case_id = ?1",
                params![case_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Moves an interview's cursor.
    pub fn set_cursor(
        &self,
        case_id: &str,
        item: &str,
        language: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO cursors (case_id, item, language) VALUES (?1, ?2, ?3)
             ON CONFLICT (case_id) DO UPDATE SET item = excluded.item, language = excluded.language",
            params![case_id, item, language],
        )?;
        Ok(())
    }

    fn apply(&self, c: &Commit) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        if let Some(meta) = &c.meta {
            tx.prepare_cached(
                "INSERT INTO replica_meta (id, body) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            )?
            .execute(params![to_json("meta", meta)?])?;
        }
        if !c.outbox_append.is_empty() {
            let mut st = tx
                .prepare_cached("INSERT OR REPLACE INTO outbox (device_seq, op) VALUES (?1, ?2)")?;
            for op in &c.outbox_append {
                st.execute(params![op.device_seq as i64, to_json("operation", op)?])?;
            }
        }
        if !c.outbox_acks.is_empty() {
            let mut st = tx.prepare_cached("UPDATE outbox SET ack = ?2 WHERE device_seq = ?1")?;
            for (seq, ack) in &c.outbox_acks {
                st.execute(params![*seq as i64, to_json("ack", ack)?])?;
            }
        }
        if !c.outbox_remove.is_empty() {
            let mut st = tx.prepare_cached("DELETE FROM outbox WHERE device_seq = ?1")?;
            for seq in &c.outbox_remove {
                st.execute(params![*seq as i64])?;
            }
        }
        if !c.mirror_put.is_empty() {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO mirror (id, kind, scope, body) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for e in &c.mirror_put {
                let body = serde_json::to_vec(e).map_err(|err| corrupt("entity", err))?;
                st.execute(params![
                    e.id.as_bytes().as_slice(),
                    e.kind.as_str(),
                    e.scope.as_bytes().as_slice(),
                    body
                ])?;
            }
        }
        if !c.mirror_remove.is_empty() {
            let mut st = tx.prepare_cached("DELETE FROM mirror WHERE id = ?1")?;
            for id in &c.mirror_remove {
                st.execute(params![id.as_bytes().as_slice()])?;
            }
        }
        if !c.refused_add.is_empty() {
            let mut st = tx.prepare_cached("INSERT INTO refused (body) VALUES (?1)")?;
            for r in &c.refused_add {
                st.execute(params![to_json("refusal", r)?])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn read(&self) -> Result<Option<ReplicaState>, StoreError> {
        let meta: Option<String> = self
            .conn
            .query_row("SELECT body FROM replica_meta WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(meta) = meta else {
            return Ok(None);
        };
        let meta: ReplicaMeta = serde_json::from_str(&meta).map_err(|e| corrupt("meta", e))?;
        let mut bodies: Vec<Vec<u8>> = Vec::new();
        {
            let mut st = self.conn.prepare("SELECT body FROM mirror")?;
            let mut rows = st.query([])?;
            while let Some(row) = rows.next()? {
                bodies.push(row.get(0)?);
            }
        }
        let mirror: BTreeMap<Uuid, Entity> = decode_entities(&bodies)?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let mut outbox = Vec::new();
        {
            let mut st = self
                .conn
                .prepare("SELECT op, ack FROM outbox ORDER BY device_seq")?;
            let mut rows = st.query([])?;
            while let Some(row) = rows.next()? {
                let op: String = row.get(0)?;
                let ack: Option<String> = row.get(1)?;
                let op: Operation =
                    serde_json::from_str(&op).map_err(|e| corrupt("operation", e))?;
                let ack: Option<Ack> = ack
                    .map(|a| serde_json::from_str(&a))
                    .transpose()
                    .map_err(|e| corrupt("ack", e))?;
                outbox.push(OutboxEntry { op, ack });
            }
        }
        let mut refused = Vec::new();
        {
            let mut st = self.conn.prepare("SELECT body FROM refused ORDER BY n")?;
            let mut rows = st.query([])?;
            while let Some(row) = rows.next()? {
                let body: String = row.get(0)?;
                let r: RefusalRecord =
                    serde_json::from_str(&body).map_err(|e| corrupt("refusal", e))?;
                refused.push(r);
            }
        }
        Ok(Some(ReplicaState {
            meta,
            mirror,
            outbox,
            refused,
        }))
    }

    /// Whether a replica was ever set up in this store (cheap: no decoding).
    pub fn is_set_up(&self) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM replica_meta WHERE id = 1", [], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Number of entities in the mirror (cheap: no decoding).
    pub fn mirror_len(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM mirror", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Whether an entity is in the mirror.
    pub fn has_entity(&self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM mirror WHERE id = ?1",
                params![id.as_bytes().as_slice()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

/// Decodes stored entities, on as many threads as the device has cores (opening a store of
/// 10,000 dwellings is dominated by decoding; phones have 4–8 cores).
fn decode_entities(bodies: &[Vec<u8>]) -> Result<Vec<Entity>, StoreError> {
    let decode = |chunk: &[Vec<u8>]| -> Result<Vec<Entity>, StoreError> {
        chunk
            .iter()
            .map(|b| serde_json::from_slice(b).map_err(|e| corrupt("entity", e)))
            .collect()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 || bodies.len() < 512 {
        return decode(bodies);
    }
    let chunk = bodies.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = bodies
            .chunks(chunk)
            .map(|c| scope.spawn(move || decode(c)))
            .collect();
        let mut out = Vec::with_capacity(bodies.len());
        for h in handles {
            let part = h
                .join()
                .map_err(|_| StoreError::Corrupt("entity decoding panicked".into()))??;
            out.extend(part);
        }
        Ok(out)
    })
}

impl ReplicaStorage for SqliteStorage {
    type Error = StoreError;

    fn load(&self) -> Result<Option<ReplicaState>, StoreError> {
        self.read()
    }

    fn commit(&mut self, commit: &Commit) -> Result<(), StoreError> {
        self.apply(commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::sync::replica::{Identity, apply_commit};
    use sync_core::sync::{
        DeviceId, EntityKind, FieldValue, Hlc, OpBody, OpId, Role, Target, UserId,
    };

    fn meta() -> ReplicaMeta {
        ReplicaMeta {
            identity: Identity {
                device: DeviceId::from_uuid(Uuid::from_u128(1)),
                user: UserId::from_uuid(Uuid::from_u128(2)),
                role: Role::Interviewer,
            },
            next_seq: 1,
            clock: Hlc::default(),
            cursor: 0,
            pull_complete: false,
            known_scopes: vec![],
            all_scopes: false,
        }
    }

    fn op(seq: u64) -> Operation {
        let m = meta();
        Operation {
            op_id: OpId::from_uuid(Uuid::from_u128(100 + u128::from(seq))),
            device_id: m.identity.device,
            device_seq: seq,
            author: m.identity.user,
            role: m.identity.role,
            hlc: Hlc::at(seq),
            target: Target::new(EntityKind::Dwelling, Uuid::from_u128(7)),
            base_version: 0,
            body: OpBody::Delete,
            extra: Default::default(),
        }
    }

    /// Every kind of commit, applied to SQLite and to the reference semantics, gives the same
    /// state, and the state survives reopening the file.
    #[test]
    fn commits_match_the_reference_semantics_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("phone.db");
        let mut s = SqliteStorage::open(&path).unwrap();
        assert!(s.load().unwrap().is_none());
        let mut entity = Entity::new(EntityKind::Dwelling, Uuid::from_u128(7), Uuid::from_u128(9));
        entity
            .fields
            .insert("door_number".into(), FieldValue::text("3-1-201"));
        let ack = Ack {
            op_id: op(1).op_id,
            device_seq: 1,
            status: sync_core::sync::AckStatus::Applied { seq: 5, version: 2 },
            extra: Default::default(),
        };
        let commits = [
            Commit {
                meta: Some(meta()),
                ..Commit::default()
            },
            Commit {
                meta: Some(meta()),
                outbox_append: vec![op(1), op(2), op(3)],
                mirror_put: vec![entity.clone()],
                ..Commit::default()
            },
            Commit {
                outbox_acks: vec![(1, ack)],
                outbox_remove: vec![2],
                ..Commit::default()
            },
            Commit {
                mirror_remove: vec![Uuid::from_u128(7)],
                refused_add: vec![RefusalRecord {
                    seq: 6,
                    op: op(3),
                    reason: sync_core::sync::Refusal::OutOfScope.reason(),
                    scope: None,
                    extra: Default::default(),
                }],
                ..Commit::default()
            },
        ];
        let mut reference: Option<ReplicaState> = None;
        for c in &commits {
            s.commit(c).unwrap();
            match &mut reference {
                Some(st) => apply_commit(st, c),
                None => {
                    let mut st = ReplicaState {
                        meta: c.meta.clone().unwrap(),
                        mirror: BTreeMap::new(),
                        outbox: vec![],
                        refused: vec![],
                    };
                    apply_commit(&mut st, c);
                    reference = Some(st);
                }
            }
            assert_eq!(s.load().unwrap(), reference);
        }
        drop(s);
        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(s.load().unwrap(), reference);
    }

    #[test]
    fn a_store_from_a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("phone.db");
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        let e = SqliteStorage::open(&path).unwrap_err();
        assert_eq!(e.code(), "store_newer_schema");
    }
}
