//! [`FieldStore`]: the one object a phone app holds.
//!
//! It owns the SQLite store and, once someone has signed in, the sync-core [`Replica`] over it.
//! Every method locks it, does its work and returns plain records; each edit is one
//! [`Replica::act`] — merged into what is shown and appended to the outbox in one SQLite
//! transaction — so killing the app at any moment loses nothing that a method had returned.
//!
//! This file holds opening, signing in, sync (over HTTP, and sans-I/O for apps with their own
//! HTTP stack) and status; `listing.rs` and `interview.rs` add the field work.

use crate::error::FieldError;
use crate::http::{Http, RetryPolicy};
use crate::records::{
    Account, AckOutcome, ConflictEntryRecord, ConflictRecord, PullOutcome, RefusedRecord,
    SyncReport, SyncStatus, WireFormat,
};
use crate::storage::SqliteStorage;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use sync_core::form::engine::CompiledForm;
use sync_core::form::model::Form;
use sync_core::sync::replica::Identity;
use sync_core::sync::wire::Message;
use sync_core::sync::{
    AckStatus, Change, DeviceId, Entity, EntityKind, FieldValue, IdMint, MergeContext, OpBody,
    PullResponse, PushAck, Replica, Role, Target, UserId, Verdict, decode_binary, decode_json,
    encode_binary, encode_json,
};
use uuid::Uuid;

/// Operations per push request.
pub const PUSH_BATCH: usize = 200;
/// Entities asked for per pull page (0 would be the server's maximum).
pub const PULL_LIMIT: u32 = 1_000;
/// A pull stops after this many pages (a runaway server cannot loop a phone forever).
const MAX_PAGES: u32 = 10_000;

pub(crate) const JSON: &str = "application/json";
pub(crate) const CBOR: &str = "application/vnd.mapframe.sync+cbor";

/// Setting keys.
pub(crate) mod key {
    pub const DEVICE: &str = "device_id";
    pub const SERVER: &str = "server_url";
    pub const PROJECT: &str = "project";
    pub const TOKEN: &str = "token";
    pub const TOKEN_EXPIRES: &str = "token_expires_at";
    pub const USER: &str = "user_id";
    pub const USERNAME: &str = "username";
    pub const ROLE: &str = "role";
    pub const LAST_SYNC: &str = "last_sync_ms";
    pub const AREAS: &str = "areas_geojson";
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) fn parse_id(what: &str, s: &str) -> Result<Uuid, FieldError> {
    Uuid::parse_str(s.trim())
        .map_err(|_| FieldError::validation("bad_id", what, format!("{s:?} is not a UUID")))
}

/// A field value as JSON text (for records).
pub(crate) fn value_text(v: &FieldValue) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

enum Slot {
    /// No one has signed in on this device yet.
    Bare(SqliteStorage),
    /// Signed in at least once: the replica.
    Ready(Box<Replica<SqliteStorage>>),
    /// Transient while the storage moves into a replica.
    Moving,
}

pub(crate) struct Inner {
    path: PathBuf,
    slot: Slot,
    mint: IdMint,
    /// The millisecond of the last id minted: ids are strictly increasing, so that roster members
    /// and dwellings sort in the order they were added.
    last_id_ms: u64,
    pub(crate) device: DeviceId,
    pub(crate) forms: HashMap<(String, String), Arc<CompiledForm>>,
    retry: RetryPolicy,
    wire: WireFormat,
}

/// The phone library's one object: an on-device store of the survey's field work, which signs
/// in, syncs with the server, lists buildings and dwellings and runs interviews, offline.
#[derive(uniffi::Object)]
pub struct FieldStore {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for FieldStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldStore").finish_non_exhaustive()
    }
}

impl FieldStore {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while locked leaves SQLite consistent (transactions); carry on.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    pub(crate) fn db(&self) -> &SqliteStorage {
        match &self.slot {
            Slot::Bare(s) => s,
            Slot::Ready(r) => r.storage(),
            Slot::Moving => unreachable!("the slot is only empty inside sign_in"),
        }
    }

    pub(crate) fn replica(&self) -> Result<&Replica<SqliteStorage>, FieldError> {
        match &self.slot {
            Slot::Ready(r) => Ok(r),
            _ => Err(FieldError::auth("not_signed_in", "sign in first")),
        }
    }

    pub(crate) fn replica_mut(&mut self) -> Result<&mut Replica<SqliteStorage>, FieldError> {
        match &mut self.slot {
            Slot::Ready(r) => Ok(r),
            _ => Err(FieldError::auth("not_signed_in", "sign in first")),
        }
    }

    pub(crate) fn setting(&self, k: &str) -> Result<Option<String>, FieldError> {
        Ok(self.db().setting(k)?)
    }

    fn required(&self, k: &str) -> Result<String, FieldError> {
        self.setting(k)?
            .ok_or_else(|| FieldError::auth("not_signed_in", "sign in first"))
    }

    pub(crate) fn me(&self) -> Result<UserId, FieldError> {
        Ok(self.replica()?.identity().user)
    }

    /// An entity as shown.
    pub(crate) fn entity(&self, id: Uuid) -> Result<&Entity, FieldError> {
        self.replica()?
            .entity(id)
            .ok_or_else(|| FieldError::not_found("no_such_entity", format!("nothing with id {id}")))
    }

    /// A new UUIDv7, later than every id minted before by this store.
    pub(crate) fn new_id(&mut self) -> Uuid {
        let ms = now_ms().max(self.last_id_ms + 1);
        self.last_id_ms = ms;
        self.mint.uuid(ms)
    }

    /// One local action: merged into what is shown and stored with the outbox, atomically.
    pub(crate) fn act(&mut self, target: Target, body: OpBody) -> Result<Verdict, FieldError> {
        let now = now_ms();
        let op_id = self.mint.op_id(now);
        Ok(self.replica_mut()?.act(target, body, op_id, now)?)
    }

    /// Field changes against the values shown now.
    pub(crate) fn edit(
        &mut self,
        target: Target,
        changes: Vec<(String, FieldValue)>,
    ) -> Result<Verdict, FieldError> {
        let shown = self.replica()?.entity(target.id);
        let changes: Vec<Change> = changes
            .into_iter()
            .map(|(field, new)| {
                let old = shown
                    .and_then(|e| e.get(&field))
                    .cloned()
                    .unwrap_or(FieldValue::Null);
                Change::new(field, old, new)
            })
            .filter(|c| c.old != c.new)
            .collect();
        if changes.is_empty() {
            return Ok(Verdict::NoOp);
        }
        self.act(target, OpBody::Edit { changes })
    }

    /// A form, compiled once per open.
    pub(crate) fn compiled_form(
        &mut self,
        form_id: &str,
        version: Option<&str>,
    ) -> Result<Arc<CompiledForm>, FieldError> {
        let (version, body) = match version {
            Some(v) => {
                if let Some(c) = self.forms.get(&(form_id.to_string(), v.to_string())) {
                    return Ok(c.clone());
                }
                (v.to_string(), self.db().form(form_id, v)?)
            }
            None => match self.db().latest_form(form_id)? {
                Some((v, b)) => (v, Some(b)),
                None => (String::new(), None),
            },
        };
        if let Some(c) = self.forms.get(&(form_id.to_string(), version.clone())) {
            return Ok(c.clone());
        }
        let body = body.ok_or_else(|| {
            FieldError::not_found(
                "form_missing",
                format!("form {form_id} {version} is not on this device: sync first"),
            )
        })?;
        let form: Form = serde_json::from_str(&body)
            .map_err(|e| FieldError::storage("store_corrupt", format!("form {form_id}: {e}")))?;
        let compiled = CompiledForm::compile(form).map_err(|errs| {
            FieldError::validation(
                "form_invalid",
                form_id,
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let compiled = Arc::new(compiled);
        self.forms
            .insert((form_id.to_string(), version), compiled.clone());
        Ok(compiled)
    }

    fn http(&self) -> Result<(Http, String), FieldError> {
        let server = self.required(key::SERVER)?;
        let project = self.required(key::PROJECT)?;
        let token = self.required(key::TOKEN)?;
        Ok((Http::new(&server, Some(token), self.retry), project))
    }

    fn content_type(&self) -> &'static str {
        match self.wire {
            WireFormat::Json => JSON,
            WireFormat::Binary => CBOR,
        }
    }
}

fn encode<M: Message>(m: &M, format: WireFormat) -> Result<Vec<u8>, FieldError> {
    Ok(match format {
        WireFormat::Json => encode_json(m)?.into_bytes(),
        WireFormat::Binary => encode_binary(m)?,
    })
}

/// Reads a sync message in either encoding (binary starts with `MFS`).
fn decode<M: Message>(bytes: &[u8]) -> Result<M, FieldError> {
    Ok(if bytes.starts_with(b"MFS") {
        decode_binary(bytes)?
    } else {
        decode_json(bytes)?
    })
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn tally(ack: &PushAck) -> AckOutcome {
    let mut out = AckOutcome {
        accepted: 0,
        conflicted: 0,
        refused: 0,
        unacknowledged: 0,
    };
    for a in &ack.acks {
        match a.status {
            AckStatus::Applied { .. } | AckStatus::Agreed { .. } | AckStatus::NoOp { .. } => {
                out.accepted += 1
            }
            AckStatus::Conflict { .. } => out.conflicted += 1,
            AckStatus::Refused { .. } => out.refused += 1,
            _ => {}
        }
    }
    out
}

fn unacknowledged(r: &Replica<SqliteStorage>) -> usize {
    r.outbox().iter().filter(|e| e.ack.is_none()).count()
}

#[uniffi::export]
impl FieldStore {
    /// Opens (creating if needed) the store at `path`. The device id is minted at the first open
    /// and kept; everything done before survives: outbox, mirror, interviews in progress.
    #[uniffi::constructor]
    pub fn open(path: String) -> Result<Arc<Self>, FieldError> {
        let path = PathBuf::from(path);
        let storage = SqliteStorage::open(&path)?;
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| FieldError::storage("no_randomness", e.to_string()))?;
        let mut mint = IdMint::from_key(key);
        let device = match storage.setting(key::DEVICE)? {
            Some(d) => DeviceId::from_uuid(parse_id("device_id", &d)?),
            None => {
                let d = mint.uuid(now_ms());
                storage.set_settings(&[(key::DEVICE, &d.to_string())])?;
                DeviceId::from_uuid(d)
            }
        };
        let slot = if storage.is_set_up()? {
            Slot::Ready(Box::new(Replica::open(storage, MergeContext::default())?))
        } else {
            Slot::Bare(storage)
        };
        Ok(Arc::new(Self {
            inner: Mutex::new(Inner {
                path,
                slot,
                mint,
                last_id_ms: 0,
                device,
                forms: HashMap::new(),
                retry: RetryPolicy::default(),
                wire: WireFormat::Json,
            }),
        }))
    }

    /// This device's id (minted once, kept for ever).
    pub fn device_id(&self) -> String {
        self.lock().device.to_string()
    }

    /// Sets how `sync` retries (attempts, backoff, timeout).
    pub fn set_retry_policy(&self, policy: RetryPolicy) {
        self.lock().retry = policy;
    }

    /// Chooses the sync encoding (JSON by default; binary is about a third of the bytes).
    pub fn set_wire_format(&self, format: WireFormat) {
        self.lock().wire = format;
    }

    /// Signs in (`POST /api/v1/sessions`) and registers this device to the user. The token is
    /// kept in the store. The first sign-in sets the device up; another user may take over the
    /// device only when it holds no unsent work of the previous one.
    pub fn sign_in(
        &self,
        server_url: String,
        project: String,
        username: String,
        password: String,
    ) -> Result<Account, FieldError> {
        let mut inner = self.lock();
        let mut http = Http::new(&server_url, None, inner.retry);
        let body = serde_json::json!({
            "username": username,
            "password": password,
            "device_id": inner.device.to_string(),
            "device_name": "mapframe phone",
        });
        let answer = http
            .request("/api/v1/sessions", JSON, Some(body.to_string().as_bytes()))
            .map_err(|e| match e {
                crate::error::HttpError::Status {
                    status: 401 | 422,
                    ref code,
                    ref message,
                    ..
                } => FieldError::auth(
                    if code.is_empty() {
                        "bad_credentials"
                    } else {
                        code
                    },
                    message.clone(),
                ),
                other => other.into(),
            })?;
        let v: serde_json::Value = serde_json::from_slice(&answer.body)
            .map_err(|e| FieldError::network("bad_answer", e.to_string()))?;
        let text = |ptr: &str| {
            v.pointer(ptr)
                .and_then(|x| x.as_str())
                .map(str::to_string)
                .ok_or_else(|| {
                    FieldError::network("bad_answer", format!("no {ptr} in the sign-in answer"))
                })
        };
        let token = text("/token")?;
        let expires = text("/expires_at").unwrap_or_default();
        let user_id = text("/user/id")?;
        let uname = text("/user/username").unwrap_or_else(|_| username.clone());
        let role_word = text("/user/role")?;
        let identity = Identity {
            device: inner.device,
            user: UserId::from_uuid(parse_id("user.id", &user_id)?),
            role: Role::parse(&role_word),
        };
        // Set the device up, or check that it is this user's.
        let slot = std::mem::replace(&mut inner.slot, Slot::Moving);
        let slot = match slot {
            Slot::Ready(r) if r.identity().user != identity.user => {
                if !r.outbox().is_empty() {
                    let other = r.identity().user;
                    inner.slot = Slot::Ready(r);
                    return Err(FieldError::conflict(
                        "unsent_work_of_another_user",
                        format!("this device holds unsent work of user {other}: sync it first"),
                    ));
                }
                inner.forms.clear();
                let storage = r.into_storage();
                storage
                    .reset_replica()
                    .map_err(FieldError::from)
                    .and_then(|()| create(storage, identity))
            }
            Slot::Ready(r) => Ok(Slot::Ready(r)),
            Slot::Bare(storage) => create(storage, identity),
            Slot::Moving => Err(FieldError::storage(
                "store_busy",
                "the store was being set up",
            )),
        };
        match slot {
            Ok(s) => inner.slot = s,
            Err(e) => {
                // The storage went into the failed call: open the file again for later calls.
                inner.slot = Slot::Bare(SqliteStorage::open(&inner.path)?);
                return Err(e);
            }
        }
        inner.db().set_settings(&[
            (key::SERVER, server_url.trim_end_matches('/')),
            (key::PROJECT, &project),
            (key::TOKEN, &token),
            (key::TOKEN_EXPIRES, &expires),
            (key::USER, &user_id),
            (key::USERNAME, &uname),
            (key::ROLE, &role_word),
        ])?;
        Ok(Account {
            server_url: server_url.trim_end_matches('/').to_string(),
            project,
            user_id,
            username: uname,
            role: role_word,
            device_id: inner.device.to_string(),
            token_expires_at: expires,
        })
    }

    /// Who is signed in, if anyone.
    pub fn account(&self) -> Result<Option<Account>, FieldError> {
        let inner = self.lock();
        let Some(token_user) = inner.setting(key::USER)? else {
            return Ok(None);
        };
        if inner.setting(key::TOKEN)?.is_none() {
            return Ok(None);
        }
        let s = |k| inner.setting(k).map(Option::unwrap_or_default);
        Ok(Some(Account {
            server_url: s(key::SERVER)?,
            project: s(key::PROJECT)?,
            user_id: token_user,
            username: s(key::USERNAME)?,
            role: s(key::ROLE)?,
            device_id: inner.device.to_string(),
            token_expires_at: s(key::TOKEN_EXPIRES)?,
        }))
    }

    /// Forgets the token (the work on the device stays, and syncs after the next sign-in).
    pub fn sign_out(&self) -> Result<(), FieldError> {
        let inner = self.lock();
        inner.db().remove_setting(key::TOKEN)?;
        Ok(())
    }

    /// Syncs with the server: pushes the outbox in batches, then pulls until complete, then
    /// fetches the forms the cases need and the areas' boundaries. Every batch and page is stored
    /// as it arrives, so an interrupted sync resumes where it stopped; each request is retried
    /// with a bounded backoff. Nothing is lost or sent twice: the server recognises operations it
    /// already has and answers with the acknowledgement it gave the first time.
    pub fn sync(&self) -> Result<SyncReport, FieldError> {
        let mut inner = self.lock();
        let (mut http, project) = inner.http()?;
        let ct = inner.content_type();
        let format = inner.wire;
        let mut report = SyncReport {
            pushed: 0,
            accepted: 0,
            conflicted: 0,
            refused: 0,
            pages: 0,
            entities_received: 0,
            attempts: 0,
            pending: 0,
            synced: false,
        };
        let result = (|| -> Result<(), FieldError> {
            // Push.
            loop {
                let replica = inner.replica_mut()?;
                let req = replica.push_request(PUSH_BATCH);
                if req.ops.is_empty() {
                    break;
                }
                let before = unacknowledged(replica);
                report.pushed += count_u32(req.ops.len());
                let body = encode(&req, format)?;
                let answer = http.request(
                    &format!("/api/v1/projects/{project}/sync/push"),
                    ct,
                    Some(&body),
                )?;
                let ack: PushAck = decode(&answer.body)?;
                let t = tally(&ack);
                report.accepted += t.accepted;
                report.conflicted += t.conflicted;
                report.refused += t.refused;
                replica.apply_push_ack(&ack)?;
                if unacknowledged(replica) >= before {
                    // Gaps or unknown statuses: nothing moved; the pull below settles the rest.
                    break;
                }
            }
            // Pull.
            for _ in 0..MAX_PAGES {
                let replica = inner.replica_mut()?;
                let req = replica.pull_request(PULL_LIMIT);
                let body = encode(&req, format)?;
                let answer = http.request(
                    &format!("/api/v1/projects/{project}/sync/pull"),
                    ct,
                    Some(&body),
                )?;
                let resp: PullResponse = decode(&answer.body)?;
                report.pages += 1;
                report.entities_received += count_u32(resp.entities.len());
                replica.apply_pull(&resp)?;
                if resp.complete {
                    break;
                }
            }
            fetch_forms(&inner, &mut http, &project)?;
            fetch_areas(&inner, &mut http, &project)?;
            Ok(())
        })();
        report.attempts = http.attempts;
        result?;
        let replica = inner.replica()?;
        report.pending = count_u32(replica.outbox().len());
        report.synced = replica.is_synced();
        inner
            .db()
            .set_settings(&[(key::LAST_SYNC, &now_ms().to_string())])?;
        Ok(report)
    }

    /// The outbox and sync state.
    pub fn status(&self) -> Result<SyncStatus, FieldError> {
        let inner = self.lock();
        let device_id = inner.device.to_string();
        let last_sync_ms = inner
            .setting(key::LAST_SYNC)?
            .and_then(|s| s.parse::<i64>().ok());
        let signed_in = inner.setting(key::TOKEN)?.is_some();
        let username = inner.setting(key::USERNAME)?;
        let project = inner.setting(key::PROJECT)?;
        let Ok(r) = inner.replica() else {
            return Ok(SyncStatus {
                device_id,
                signed_in,
                username,
                project,
                pending_ops: 0,
                unacknowledged_ops: 0,
                last_sync_ms,
                synced: false,
                refused: 0,
                open_conflicts: 0,
            });
        };
        let open_conflicts = r
            .entities()
            .values()
            .map(|e| e.open_conflicts().count())
            .sum::<usize>();
        Ok(SyncStatus {
            device_id,
            signed_in,
            username,
            project,
            pending_ops: count_u32(r.outbox().len()),
            unacknowledged_ops: count_u32(unacknowledged(r)),
            last_sync_ms,
            synced: r.is_synced(),
            refused: count_u32(r.refused().len()),
            open_conflicts: count_u32(open_conflicts),
        })
    }

    /// Open conflict records on everything this device holds (its own edits that met others',
    /// as the server merged them).
    pub fn conflicts(&self) -> Result<Vec<ConflictRecord>, FieldError> {
        let inner = self.lock();
        let r = inner.replica()?;
        let mut out = Vec::new();
        for e in r.entities().values() {
            for c in e.open_conflicts() {
                let entry =
                    |x: &sync_core::sync::ConflictEntry, withdrawn: bool| ConflictEntryRecord {
                        device_id: x.device.to_string(),
                        author_id: x.author.to_string(),
                        action: x.action.to_string(),
                        value: x.value.as_ref().map(value_text),
                        withdrawn: withdrawn || x.withdrawn_at.is_some(),
                        at_ms: x.hlc.wall_ms,
                    };
                out.push(ConflictRecord {
                    id: c.id.to_string(),
                    entity_id: e.id.to_string(),
                    entity_kind: e.kind.to_string(),
                    key: c.key.clone(),
                    kind: c.kind.to_string(),
                    provisional: c.provisional.as_ref().map(value_text),
                    entries: c
                        .entries
                        .iter()
                        .map(|x| entry(x, false))
                        .chain(c.superseded.iter().map(|x| entry(x, true)))
                        .collect(),
                });
            }
        }
        Ok(out)
    }

    /// Operations the server refused, with the reasons (kept, never dropped).
    pub fn refused(&self) -> Result<Vec<RefusedRecord>, FieldError> {
        let inner = self.lock();
        let me = inner.device;
        Ok(inner
            .replica()?
            .refused()
            .iter()
            .map(|r| RefusedRecord {
                op_id: r.op.op_id.to_string(),
                entity_id: r.op.target.id.to_string(),
                entity_kind: r.op.target.kind.to_string(),
                action: r.op.body.action_name().to_string(),
                code: r.reason.code.clone(),
                message: r.reason.message.clone(),
                own: r.op.device_id == me,
            })
            .collect())
    }

    /// Sans-I/O: the next push request (up to 200 operations), or `None` when nothing waits.
    /// Send it to `POST /api/v1/projects/{project}/sync/push` and give the answer to
    /// [`FieldStore::apply_ack`].
    pub fn prepare_push(&self, format: WireFormat) -> Result<Option<Vec<u8>>, FieldError> {
        let inner = self.lock();
        let req = inner.replica()?.push_request(PUSH_BATCH);
        if req.ops.is_empty() {
            return Ok(None);
        }
        encode(&req, format).map(Some)
    }

    /// Sans-I/O: takes a push acknowledgement (JSON or binary) in.
    pub fn apply_ack(&self, message: Vec<u8>) -> Result<AckOutcome, FieldError> {
        let mut inner = self.lock();
        let ack: PushAck = decode(&message)?;
        let mut out = tally(&ack);
        let r = inner.replica_mut()?;
        r.apply_push_ack(&ack)?;
        out.unacknowledged = count_u32(unacknowledged(r));
        Ok(out)
    }

    /// Sans-I/O: the next pull request. Send it to `POST /api/v1/projects/{project}/sync/pull`
    /// and give the answer to [`FieldStore::apply_pull`]; repeat until it says `complete`.
    pub fn prepare_pull(&self, format: WireFormat) -> Result<Vec<u8>, FieldError> {
        let inner = self.lock();
        encode(&inner.replica()?.pull_request(PULL_LIMIT), format)
    }

    /// Sans-I/O: takes a pull response (JSON or binary) in.
    pub fn apply_pull(&self, message: Vec<u8>) -> Result<PullOutcome, FieldError> {
        let mut inner = self.lock();
        let resp: PullResponse = decode(&message)?;
        let r = inner.replica_mut()?;
        r.apply_pull(&resp)?;
        if r.is_synced() {
            inner
                .db()
                .set_settings(&[(key::LAST_SYNC, &now_ms().to_string())])?;
        }
        Ok(PullOutcome {
            entities: count_u32(resp.entities.len()),
            complete: resp.complete,
        })
    }

    /// Stores a form model (the JSON of `GET /api/v1/projects/{project}/forms/{form_id}`, or
    /// just its `form` member) for apps that fetch forms themselves. Returns the version.
    pub fn add_form(&self, form_json: String) -> Result<String, FieldError> {
        let inner = self.lock();
        store_form(&inner, form_json.as_bytes())
    }

    /// Stores the areas (GeoJSON of `GET /api/v1/projects/{project}/areas`) for apps that fetch
    /// them themselves: their names and boundaries feed `areas()` and the self-check.
    pub fn set_areas(&self, geojson: String) -> Result<(), FieldError> {
        let inner = self.lock();
        crate::listing::read_areas(&geojson)?;
        inner.db().set_settings(&[(key::AREAS, &geojson)])?;
        Ok(())
    }
}

fn create(storage: SqliteStorage, identity: Identity) -> Result<Slot, FieldError> {
    Ok(Slot::Ready(Box::new(Replica::create(
        storage,
        identity,
        MergeContext::default(),
    )?)))
}

/// Stores a form answer (`{"form_id", "version", "form": {...}}` or a bare model).
fn store_form(inner: &Inner, body: &[u8]) -> Result<String, FieldError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| FieldError::validation("malformed_form", "form", e.to_string()))?;
    let model = v.get("form").cloned().unwrap_or(v);
    let form: Form = serde_json::from_value(model.clone())
        .map_err(|e| FieldError::validation("malformed_form", "form", e.to_string()))?;
    let form_id = form.settings.form_id.clone();
    let version = form.settings.version.clone();
    inner
        .db()
        .put_form(&form_id, &version, &model.to_string())?;
    Ok(version)
}

/// Fetches the forms named by cases and not yet on the device. A form the server does not have
/// (404) is left out: starting that interview says so.
fn fetch_forms(inner: &Inner, http: &mut Http, project: &str) -> Result<(), FieldError> {
    let r = inner.replica()?;
    let mut wanted: Vec<(String, Option<String>)> = r
        .entities()
        .values()
        .filter(|e| e.kind == EntityKind::Interview)
        .filter_map(|e| {
            let id = e.text("form")?.to_string();
            Some((id, e.text("form_version").map(str::to_string)))
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    for (id, version) in wanted {
        let have = match &version {
            Some(v) => inner.db().form(&id, v)?.is_some(),
            None => inner.db().latest_form(&id)?.is_some(),
        };
        if have {
            continue;
        }
        let path = match &version {
            Some(v) => format!("/api/v1/projects/{project}/forms/{id}?version={v}"),
            None => format!("/api/v1/projects/{project}/forms/{id}"),
        };
        match http.request(&path, JSON, None) {
            Ok(a) => {
                store_form(inner, &a.body)?;
            }
            Err(crate::error::HttpError::Status { status: 404, .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Fetches the areas' GeoJSON (names, boundaries). Left as it was if the server has none.
fn fetch_areas(inner: &Inner, http: &mut Http, project: &str) -> Result<(), FieldError> {
    match http.request(&format!("/api/v1/projects/{project}/areas"), JSON, None) {
        Ok(a) => {
            let text = String::from_utf8_lossy(&a.body).into_owned();
            if crate::listing::read_areas(&text).is_ok() {
                inner.db().set_settings(&[(key::AREAS, &text)])?;
            }
            Ok(())
        }
        Err(crate::error::HttpError::Status {
            status: 404 | 405, ..
        }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
