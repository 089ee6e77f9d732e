//! What the supervision endpoints read: interviews by status, interviewer and area; entities with
//! open conflict records; refused operations. Every function takes the reader's [`Scope`] and
//! returns only what is in it.

use crate::db::DbConnection;
use crate::db::schema::{sync_entities, sync_refusals};
use crate::store::StoreError;
use diesel::prelude::*;
use sync_core::sync::log::Scope;
use sync_core::sync::merge::Reason;
use sync_core::sync::{Entity, EntityKind, Operation};
use uuid::Uuid;

type Backend = <DbConnection as Connection>::Backend;

fn decode<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::Database(diesel::result::Error::DeserializationError(
            format!("stored {what} cannot be read: {e}").into(),
        ))
    })
}

/// Which interviews to list.
#[derive(Debug, Clone, Default)]
pub struct InterviewFilter {
    /// Only this workflow status (`assigned`, `in_progress`, `submitted`, …).
    pub status: Option<String>,
    /// Only this interviewer's (user id).
    pub interviewer: Option<String>,
    /// Only this area's (area id).
    pub area: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// One interview in a list.
#[derive(Debug, Clone, PartialEq)]
pub struct InterviewSummary {
    /// The case id.
    pub id: String,
    /// Its workflow status.
    pub status: Option<String>,
    /// The interviewer's user id.
    pub interviewer: Option<String>,
    /// The area id.
    pub area: Option<String>,
    /// The entity version.
    pub version: i64,
    /// How many conflict records are open.
    pub open_conflicts: i32,
    /// The log sequence number of its last change.
    pub last_seq: i64,
}

fn in_scope(
    query: sync_entities::BoxedQuery<'static, Backend>,
    scope: &Scope,
) -> Option<sync_entities::BoxedQuery<'static, Backend>> {
    match scope {
        Scope::All => Some(query),
        Scope::Keys(keys) if keys.is_empty() => None,
        Scope::Keys(keys) => {
            let keys: Vec<String> = keys.iter().map(Uuid::to_string).collect();
            Some(query.filter(sync_entities::scope.eq_any(keys)))
        }
    }
}

fn interviews_query(
    project: &str,
    scope: &Scope,
    f: &InterviewFilter,
) -> Option<sync_entities::BoxedQuery<'static, Backend>> {
    let mut q = sync_entities::table
        .filter(sync_entities::project_id.eq(project.to_string()))
        .filter(sync_entities::kind.eq(EntityKind::Interview.as_str()))
        .filter(sync_entities::deleted.eq(false))
        .into_boxed();
    if let Some(s) = &f.status {
        q = q.filter(sync_entities::status.eq(s.clone()));
    }
    if let Some(i) = &f.interviewer {
        q = q.filter(sync_entities::interviewer.eq(i.clone()));
    }
    if let Some(a) = &f.area {
        q = q.filter(sync_entities::area.eq(a.clone()));
    }
    in_scope(q, scope)
}

/// A page of the interviews in scope matching `filter`, by id, and how many match in all.
pub fn interviews(
    conn: &mut DbConnection,
    project: &str,
    scope: &Scope,
    filter: &InterviewFilter,
) -> Result<(Vec<InterviewSummary>, i64), StoreError> {
    let Some(count) = interviews_query(project, scope, filter) else {
        return Ok((Vec::new(), 0));
    };
    let total: i64 = count.count().get_result(conn)?;
    let Some(page) = interviews_query(project, scope, filter) else {
        return Ok((Vec::new(), 0));
    };
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
        i32,
        i64,
    )> = page
        .order(sync_entities::id.asc())
        .limit(filter.limit)
        .offset(filter.offset)
        .select((
            sync_entities::id,
            sync_entities::status,
            sync_entities::interviewer,
            sync_entities::area,
            sync_entities::version,
            sync_entities::open_conflicts,
            sync_entities::last_seq,
        ))
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(
            |(id, status, interviewer, area, version, open_conflicts, last_seq)| InterviewSummary {
                id,
                status,
                interviewer,
                area,
                version,
                open_conflicts,
                last_seq,
            },
        )
        .collect();
    Ok((items, total))
}

/// An entity of `project`, if it exists and is in `scope`.
pub fn entity(
    conn: &mut DbConnection,
    project: &str,
    id: Uuid,
    scope: &Scope,
) -> Result<Option<Entity>, StoreError> {
    let body: Option<(String, String)> = sync_entities::table
        .filter(sync_entities::project_id.eq(project))
        .filter(sync_entities::id.eq(id.to_string()))
        .select((sync_entities::scope, sync_entities::body))
        .get_result(conn)
        .optional()?;
    let Some((key, body)) = body else {
        return Ok(None);
    };
    let key = Uuid::parse_str(&key).unwrap_or_default();
    if !scope.contains(key) {
        return Ok(None);
    }
    decode(&body, "entity").map(Some)
}

/// Entities in `scope` with at least one open conflict record, by id (at most `limit`).
pub fn with_open_conflicts(
    conn: &mut DbConnection,
    project: &str,
    scope: &Scope,
    limit: i64,
) -> Result<Vec<Entity>, StoreError> {
    let q = sync_entities::table
        .filter(sync_entities::project_id.eq(project.to_string()))
        .filter(sync_entities::open_conflicts.gt(0))
        .into_boxed();
    let Some(q) = in_scope(q, scope) else {
        return Ok(Vec::new());
    };
    let bodies: Vec<String> = q
        .order(sync_entities::id.asc())
        .limit(limit)
        .select(sync_entities::body)
        .load(conn)?;
    bodies.iter().map(|b| decode(b, "entity")).collect()
}

/// Whose refusals a reader sees.
#[derive(Debug, Clone, Default)]
pub struct RefusalView {
    /// Everything (administrators).
    pub all: bool,
    /// Refusals of operations from these devices.
    pub devices: Vec<String>,
    /// Refusals of operations by these users.
    pub authors: Vec<String>,
    /// Refusals of operations on targets in these scope keys.
    pub scope: Option<Scope>,
}

/// A refused operation as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRefusal {
    /// Its log sequence number.
    pub seq: i64,
    /// The device it came from.
    pub device: String,
    /// Who made it.
    pub author: String,
    /// The target's scope, when known.
    pub scope: Option<String>,
    /// The operation.
    pub op: Operation,
    /// Why it was refused.
    pub reason: Reason,
}

/// Refusals visible in `view` with a sequence number after `after`, oldest first (at most
/// `limit`).
pub fn refusals(
    conn: &mut DbConnection,
    project: &str,
    view: &RefusalView,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredRefusal>, StoreError> {
    let mut q = sync_refusals::table
        .filter(sync_refusals::project_id.eq(project.to_string()))
        .filter(sync_refusals::seq.gt(after))
        .into_boxed();
    let all = view.all || matches!(view.scope, Some(Scope::All));
    if !all {
        let keys: Vec<String> = match &view.scope {
            Some(Scope::Keys(keys)) => keys.iter().map(Uuid::to_string).collect(),
            _ => Vec::new(),
        };
        q = q.filter(
            sync_refusals::device_id
                .eq_any(view.devices.clone())
                .or(sync_refusals::author.eq_any(view.authors.clone()))
                .or(sync_refusals::scope.assume_not_null().eq_any(keys)),
        );
    }
    #[allow(clippy::type_complexity)]
    let rows: Vec<(i64, String, String, Option<String>, String, String)> = q
        .order(sync_refusals::seq.asc())
        .limit(limit)
        .select((
            sync_refusals::seq,
            sync_refusals::device_id,
            sync_refusals::author,
            sync_refusals::scope,
            sync_refusals::op,
            sync_refusals::reason,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(seq, device, author, scope, op, reason)| {
            Ok(StoredRefusal {
                seq,
                device,
                author,
                scope,
                op: decode(&op, "operation")?,
                reason: decode(&reason, "reason")?,
            })
        })
        .collect()
}
