//! Supervision on the web, under `/api/v1/projects/{project}/`: interviews (list, one, approve,
//! return, reopen), open conflict records (list, resolve) and refused operations.
//!
//! Everyone sees only their scope ([`sync::scope_of`]): an interviewer their own cases, a
//! supervisor their team's, an administrator everything; anything outside it is a 404. Review
//! actions are for supervisors and administrators; they become operations of the actor's web
//! device through [`sync::act`], so they merge exactly like a supervisor's phone would — a merge
//! refusal is a 409 with the refusal's code (`bad_version`, `unresolved_conflicts`, …).

use super::sync::project_id;
use super::{ApiError, AppState, Json, Problem, json};
use crate::auth::{Actor, Role};
use crate::store::devices;
use crate::sync::{self, query};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use sync_core::sync::log::{Ack, AckStatus};
use sync_core::sync::{ConflictId, Decision, Entity, EntityKind, OpBody, Scope, Target};
use uuid::Uuid;

/// The largest page.
pub const MAX_PAGE: i64 = 1_000;
/// The page size when none is asked for.
pub const DEFAULT_PAGE: i64 = 100;

/// Filters and paging of `GET interviews`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InterviewQuery {
    /// Only this status (`assigned`, `in_progress`, `submitted`, `approved`, `returned`).
    pub status: Option<String>,
    /// Only this interviewer's (user id).
    pub interviewer: Option<String>,
    /// Only this area's (area id).
    pub area: Option<String>,
    /// Page size (default 100, at most 1,000).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// One interview in a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InterviewItem {
    /// The case id.
    pub id: String,
    /// Workflow status.
    pub status: Option<String>,
    /// The interviewer's user id.
    pub interviewer: Option<String>,
    /// The area id.
    pub area: Option<String>,
    /// Entity version.
    pub version: i64,
    /// Open conflict records.
    pub open_conflicts: i32,
    /// Log sequence of the last change.
    pub last_seq: i64,
}

/// A page of interviews.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InterviewPage {
    /// The interviews, by id.
    pub items: Vec<InterviewItem>,
    /// How many match in all.
    pub total: i64,
    /// The page size used.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

/// An approval (`at_version`: the version reviewed; default: the current one).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ApproveBody {
    /// The entity version the supervisor reviewed.
    pub at_version: Option<u64>,
}

/// A return to the interviewer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReturnBody {
    /// Why (shown to the interviewer).
    pub note: String,
}

/// A reopening of an approved interview.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReopenBody {
    /// Why.
    #[serde(default)]
    pub note: String,
}

/// The result of a review action or a resolution.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActionResult {
    /// The operation's acknowledgement (`applied`, `conflict`, …).
    #[schema(value_type = Object)]
    pub ack: serde_json::Value,
    /// The entity as it now is.
    #[schema(value_type = Object)]
    pub entity: serde_json::Value,
}

/// A resolution of a conflict record.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResolveBody {
    /// The entity holding the record.
    #[schema(value_type = String)]
    pub entity: Uuid,
    /// The decision: `{"value": …}`, `"keep_current"`, `"delete"`, `"approve"`, `"reopen"`,
    /// `{"remove_member": uuid}`.
    #[schema(value_type = Object)]
    pub decision: Decision,
}

/// An open conflict record, its contributions side by side.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConflictItem {
    /// The entity's kind.
    pub entity_kind: String,
    /// The entity's id.
    pub entity_id: String,
    /// The entity's version.
    pub entity_version: u64,
    /// The conflict record's id.
    pub conflict: String,
    /// `value`, `position`, `parent`, `existence`, `structure`, `workflow`, `duplicate`.
    pub kind: String,
    /// The field path or structural key.
    pub key: String,
    /// The entity version at which it opened.
    pub opened_at: u64,
    /// The value shown meanwhile.
    #[schema(value_type = Option<Object>)]
    pub provisional: Option<serde_json::Value>,
    /// Every competing contribution (device, author, value, action, clock, queued operation).
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<serde_json::Value>,
}

/// Paging of `GET refusals`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefusalQuery {
    /// Only refusals with a log sequence after this.
    pub after: Option<i64>,
    /// Page size (default 100, at most 1,000).
    pub limit: Option<i64>,
}

/// A refused operation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefusalItem {
    /// Its log sequence number.
    pub seq: i64,
    /// The device it came from.
    pub device: String,
    /// Who made it (user id).
    pub author: String,
    /// The target's scope, when known.
    pub scope: Option<String>,
    /// `{code, message}`.
    #[schema(value_type = Object)]
    pub reason: serde_json::Value,
    /// The operation as sent.
    #[schema(value_type = Object)]
    pub op: serde_json::Value,
}

fn page(limit: Option<i64>) -> i64 {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

fn to_value<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

fn parse_uuid(text: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::NotFound {
        detail: format!("{what} not found: `{text}` is not a UUID"),
    })
}

/// Lists interviews in scope.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/interviews",
    operation_id = "listInterviews",
    tag = "review",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id or code"), InterviewQuery),
    responses(
        (status = 200, description = "A page of interviews", body = InterviewPage),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    project: web::Path<String>,
    q: web::Query<InterviewQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let filter = query::InterviewFilter {
        status: q.status,
        interviewer: q.interviewer,
        area: q.area,
        limit: page(q.limit),
        offset: q.offset.unwrap_or(0).max(0),
    };
    let key = project.into_inner();
    let (limit, offset) = (filter.limit, filter.offset);
    let (items, total) = state
        .db(move |conn| {
            let project = project_id(conn, &key)?;
            let scope = sync::scope_of(conn, &project, &actor)?;
            query::interviews(conn, &project, &scope, &filter)
        })
        .await?;
    let items = items
        .into_iter()
        .map(|i| InterviewItem {
            id: i.id,
            status: i.status,
            interviewer: i.interviewer,
            area: i.area,
            version: i.version,
            open_conflicts: i.open_conflicts,
            last_seq: i.last_seq,
        })
        .collect();
    Ok(HttpResponse::Ok().json(InterviewPage {
        items,
        total,
        limit,
        offset,
    }))
}

/// The entity `id` of `project` in the actor's scope, with the scope; 404 otherwise.
async fn load(
    state: &AppState,
    actor: &Actor,
    key: String,
    id: Uuid,
) -> Result<(String, Entity), ApiError> {
    let actor = actor.clone();
    let found = state
        .db(move |conn| {
            let project = project_id(conn, &key)?;
            let scope = sync::scope_of(conn, &project, &actor)?;
            Ok(query::entity(conn, &project, id, &scope)?.map(|e| (project, e)))
        })
        .await?;
    found.ok_or_else(|| ApiError::not_found("entity"))
}

/// One interview: fields, conflict records, version.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/interviews/{id}",
    operation_id = "getInterview",
    tag = "review",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id or code"),
           ("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "The interview entity (docs/sync.md)", body = Object),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No such project or interview in scope", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (key, id) = path.into_inner();
    let id = parse_uuid(&id, "interview")?;
    let (_, entity) = load(&state, &actor, key, id).await?;
    if entity.kind != EntityKind::Interview {
        return Err(ApiError::not_found("interview"));
    }
    Ok(HttpResponse::Ok().json(entity))
}

/// Runs one action on an entity in scope through [`sync::act`]; a refusal is a 409.
async fn act_on(
    state: &AppState,
    actor: Actor,
    key: String,
    id: Uuid,
    kind: Option<EntityKind>,
    body: impl FnOnce(&Entity) -> OpBody,
) -> Result<HttpResponse, ApiError> {
    actor.require_role(&[Role::Supervisor])?;
    let (project, entity) = load(state, &actor, key, id).await?;
    if kind.is_some_and(|k| k != entity.kind) {
        return Err(ApiError::not_found("interview"));
    }
    let target = Target::new(entity.kind.clone(), entity.id);
    let op = body(&entity);
    let now = crate::db::now_ms();
    let who = actor.clone();
    let (ack, entity) = state
        .db(move |conn| {
            let mut acks = sync::act(conn, &project, &who, &[(target, op)], now)?;
            let ack = acks
                .pop()
                .ok_or_else(|| crate::store::StoreError::Internal("no acknowledgement".into()))?;
            let entity = query::entity(conn, &project, id, &Scope::All)?;
            Ok((ack, entity))
        })
        .await?;
    refused(&ack)?;
    tracing::info!(by = %actor.username, %id, status = ?ack.status, "review action");
    Ok(HttpResponse::Ok().json(ActionResult {
        ack: to_value(&ack),
        entity: to_value(&entity),
    }))
}

/// A refused acknowledgement as a 409 with the refusal's code.
fn refused(ack: &Ack) -> Result<(), ApiError> {
    match &ack.status {
        AckStatus::Refused { reason, .. } => Err(ApiError::Coded {
            status: StatusCode::CONFLICT,
            code: reason.code.clone(),
            detail: reason.message.clone(),
        }),
        _ => Ok(()),
    }
}

/// Approves an interview (supervisors, administrators).
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/interviews/{id}/approve",
    operation_id = "approveInterview",
    tag = "review",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id or code"),
           ("id" = String, Path, description = "Case id")),
    request_body(content = ApproveBody, description = "Optional; `at_version` defaults to the \
        current version"),
    responses(
        (status = 200, description = "Approved (or recorded as a workflow conflict)",
         body = ActionResult),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor (`forbidden`)", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No such interview in scope", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "Refused by the merge (`bad_version`, \
          `unresolved_conflicts`, …)", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn approve(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: ApproveBody = if body.iter().all(u8::is_ascii_whitespace) {
        ApproveBody::default()
    } else {
        json::parse::<ApproveBody>(&body)?.into_inner()
    };
    let (key, id) = path.into_inner();
    let id = parse_uuid(&id, "interview")?;
    act_on(
        &state,
        actor,
        key,
        id,
        Some(EntityKind::Interview),
        move |e| OpBody::Approve {
            at_version: body.at_version.unwrap_or(e.version),
        },
    )
    .await
}

/// Returns a submitted interview to its interviewer (supervisors, administrators).
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/interviews/{id}/return",
    operation_id = "returnInterview",
    tag = "review",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id or code"),
           ("id" = String, Path, description = "Case id")),
    request_body = ReturnBody,
    responses(
        (status = 200, description = "Returned", body = ActionResult),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor (`forbidden`)", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No such interview in scope", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "Refused by the merge", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "`note` missing", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn return_(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, String)>,
    body: Json<ReturnBody>,
) -> Result<HttpResponse, ApiError> {
    let (key, id) = path.into_inner();
    let id = parse_uuid(&id, "interview")?;
    let note = body.into_inner().note;
    act_on(
        &state,
        actor,
        key,
        id,
        Some(EntityKind::Interview),
        move |_| OpBody::Return { note },
    )
    .await
}

/// Reopens an approved interview (supervisors, administrators).
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/interviews/{id}/reopen",
    operation_id = "reopenInterview",
    tag = "review",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id or code"),
           ("id" = String, Path, description = "Case id")),
    request_body = ReopenBody,
    responses(
        (status = 200, description = "Reopened", body = ActionResult),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor (`forbidden`)", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No such interview in scope", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "Refused by the merge", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn reopen(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, String)>,
    body: Json<ReopenBody>,
) -> Result<HttpResponse, ApiError> {
    let (key, id) = path.into_inner();
    let id = parse_uuid(&id, "interview")?;
    let note = body.into_inner().note;
    act_on(
        &state,
        actor,
        key,
        id,
        Some(EntityKind::Interview),
        move |_| OpBody::Reopen { note },
    )
    .await
}

/// Open conflict records in scope.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/conflicts",
    operation_id = "listConflicts",
    tag = "review",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id or code")),
    responses(
        (status = 200, description = "Open conflict records, by entity", body = Vec<ConflictItem>),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn conflicts(
    state: web::Data<AppState>,
    actor: Actor,
    project: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = project.into_inner();
    let entities = state
        .db(move |conn| {
            let project = project_id(conn, &key)?;
            let scope = sync::scope_of(conn, &project, &actor)?;
            query::with_open_conflicts(conn, &project, &scope, 10 * MAX_PAGE)
        })
        .await?;
    let items: Vec<ConflictItem> = entities
        .iter()
        .flat_map(|e| {
            e.open_conflicts().map(move |c| ConflictItem {
                entity_kind: e.kind.to_string(),
                entity_id: e.id.to_string(),
                entity_version: e.version,
                conflict: c.id.to_string(),
                kind: c.kind.to_string(),
                key: c.key.clone(),
                opened_at: c.opened_at,
                provisional: c.provisional.as_ref().map(to_value),
                entries: c.entries.iter().map(to_value).collect(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(items))
}

/// Resolves a conflict record (supervisors, administrators).
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/conflicts/{conflict}/resolve",
    operation_id = "resolveConflict",
    tag = "review",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id or code"),
           ("conflict" = String, Path, description = "Conflict record id")),
    request_body = ResolveBody,
    responses(
        (status = 200, description = "Resolved", body = ActionResult),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor (`forbidden`)", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No such entity in scope", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "Refused by the merge (`already_resolved`, \
          `bad_decision`, `conflict_not_found`, …)", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "A missing or invalid field", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn resolve(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, String)>,
    body: Json<ResolveBody>,
) -> Result<HttpResponse, ApiError> {
    let (key, conflict) = path.into_inner();
    let conflict = ConflictId::from_uuid(parse_uuid(&conflict, "conflict")?);
    let body = body.into_inner();
    act_on(&state, actor, key, body.entity, None, move |_| {
        OpBody::ResolveConflict {
            conflict,
            decision: body.decision,
        }
    })
    .await
}

/// Refused operations the actor may see: interviewers their own devices', supervisors their
/// scope's, administrators all.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/refusals",
    operation_id = "listRefusals",
    tag = "review",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id or code"), RefusalQuery),
    responses(
        (status = 200, description = "Refused operations, oldest first", body = Vec<RefusalItem>),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn refusals(
    state: web::Data<AppState>,
    actor: Actor,
    project: web::Path<String>,
    q: web::Query<RefusalQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = project.into_inner();
    let (after, limit) = (q.after.unwrap_or(0), page(q.limit));
    let rows = state
        .db(move |conn| {
            let project = project_id(conn, &key)?;
            let mut view = query::RefusalView {
                all: actor.is_admin(),
                devices: devices::for_user(conn, &actor.user_id)?
                    .into_iter()
                    .map(|d| d.id)
                    .collect(),
                authors: vec![actor.user_id.clone()],
                scope: None,
            };
            if actor.role == Role::Supervisor {
                view.scope = Some(sync::scope_of(conn, &project, &actor)?);
            }
            query::refusals(conn, &project, &view, after, limit)
        })
        .await?;
    let items: Vec<RefusalItem> = rows
        .into_iter()
        .map(|r| RefusalItem {
            seq: r.seq,
            device: r.device,
            author: r.author,
            scope: r.scope,
            reason: to_value(&r.reason),
            op: to_value(&r.op),
        })
        .collect();
    Ok(HttpResponse::Ok().json(items))
}
