//! `POST /api/v1/projects/{project}/sync/push` and `…/sync/pull`: phones exchange operations
//! with the server (docs/sync.md).
//!
//! Bodies are sync-core's wire messages: JSON (`application/json`) by default, the compressed
//! binary form with `Content-Type: application/vnd.mapframe.sync+cbor`; answers follow `Accept`
//! (or, without one, the request's format). A message that cannot be decoded is a problem with the
//! [`WireError`] code (`malformed`, `bad_header`, `unsupported_version`, …) and never reaches the
//! database. The token must carry a device (phones sign in with their device id): otherwise
//! `device_required`. Within a push, an operation the server refuses is acknowledged `refused`
//! and kept (`GET …/refusals`); the others apply.

use super::json::read_limited;
use super::{ApiError, AppState, Problem};
use crate::auth::Actor;
use crate::db::DbConnection;
use crate::store::{StoreError, projects};
use crate::sync;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use sync_core::sync::wire::Message;
use sync_core::sync::{
    DeviceId, PullRequest, PushRequest, WireError, decode_binary, decode_json, encode_binary,
    encode_json,
};

/// The media type of binary sync messages.
pub const SYNC_CBOR: &str = "application/vnd.mapframe.sync+cbor";
/// The largest push accepted (8 MiB).
pub const PUSH_LIMIT: usize = 8 << 20;
/// The largest pull request accepted (1 MiB).
pub const PULL_LIMIT: usize = 1 << 20;

/// How a message is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// [`SYNC_CBOR`].
    Binary,
}

fn essence(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

impl Format {
    /// The format of the request body (415 for anything else).
    pub fn of_body(req: &HttpRequest) -> Result<Format, ApiError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(essence);
        match ct.as_deref() {
            Some("application/json") => Ok(Format::Json),
            Some(SYNC_CBOR) => Ok(Format::Binary),
            other => Err(ApiError::UnsupportedMediaType {
                detail: format!(
                    "a sync message is application/json or {SYNC_CBOR}, not {}",
                    other.unwrap_or("(none)")
                ),
            }),
        }
    }

    /// The format of the answer: what `Accept` names, else the request's.
    pub fn of_answer(req: &HttpRequest, body: Format) -> Format {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let types: Vec<String> = accept.split(',').map(essence).collect();
        if types.iter().any(|t| t == SYNC_CBOR) {
            Format::Binary
        } else if types.iter().any(|t| t == "application/json") {
            Format::Json
        } else {
            body
        }
    }

    fn decode<M: Message>(self, bytes: &[u8]) -> Result<M, ApiError> {
        match self {
            Format::Json => decode_json(bytes),
            Format::Binary => decode_binary(bytes),
        }
        .map_err(wire_error)
    }

    fn respond<M: Message>(self, m: &M) -> Result<HttpResponse, ApiError> {
        let (bytes, ct) = match self {
            Format::Json => (encode_json(m).map(String::into_bytes), "application/json"),
            Format::Binary => (encode_binary(m), SYNC_CBOR),
        };
        let bytes = bytes.map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(HttpResponse::Ok()
            .content_type(ct)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(bytes))
    }
}

/// A sync message that cannot be decoded: 400 (413 when too large) with the wire error's code.
pub fn wire_error(e: WireError) -> ApiError {
    let status = match e {
        WireError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::Coded {
        status,
        code: e.code().to_string(),
        detail: e.to_string(),
    }
}

/// The token's device, or 400 `device_required`.
pub fn require_device(actor: &Actor) -> Result<DeviceId, ApiError> {
    actor
        .device_id
        .as_deref()
        .and_then(|d| d.parse::<DeviceId>().ok())
        .ok_or_else(|| ApiError::Coded {
            status: StatusCode::BAD_REQUEST,
            code: "device_required".into(),
            detail: "sync needs a device: sign in with your device id (POST /api/v1/sessions \
                     with device_id)"
                .into(),
        })
}

fn device_mismatch(device: DeviceId) -> ApiError {
    ApiError::Coded {
        status: StatusCode::BAD_REQUEST,
        code: "device_mismatch".into(),
        detail: format!("the message names another device than this session's ({device})"),
    }
}

/// The id of the project named by `key` (its id, or its code).
pub fn project_id(conn: &mut DbConnection, key: &str) -> Result<String, StoreError> {
    match uuid::Uuid::parse_str(key) {
        Ok(id) => projects::by_id(conn, &id.to_string()).map(|p| p.id),
        Err(_) => projects::by_code(conn, key).map(|p| p.id),
    }
}

/// A push request (docs/sync.md, "The wire").
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PushRequestDoc {
    /// The wire version (1).
    version: u32,
    /// The device (must be the session's).
    device_id: String,
    /// Operations in `device_seq` order.
    #[schema(value_type = Vec<Object>)]
    ops: Vec<serde_json::Value>,
}

/// One acknowledgement per operation, in order.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PushAckDoc {
    /// The wire version (1).
    version: u32,
    /// `{op_id, device_seq, status: {applied|agreed|no_op|conflict|refused|gap: …}}`.
    #[schema(value_type = Vec<Object>)]
    acks: Vec<serde_json::Value>,
}

/// A pull request.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PullRequestDoc {
    /// The wire version (1).
    version: u32,
    /// The device (must be the session's).
    device_id: String,
    /// The `up_to` of the last pull (0 at first).
    after: u64,
    /// Scope keys held up to `after`.
    known_scopes: Vec<String>,
    /// Most entities wanted (0: the server's maximum, 5,000).
    limit: u32,
}

/// What changed in scope.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PullResponseDoc {
    /// The wire version (1).
    version: u32,
    /// Changed entities, whole.
    #[schema(value_type = Vec<Object>)]
    entities: Vec<serde_json::Value>,
    /// Refused operations of this device (of the scope, for supervisors).
    #[schema(value_type = Vec<Object>)]
    refusals: Vec<serde_json::Value>,
    /// The next pull's `after`.
    up_to: u64,
    /// False when more pages follow.
    complete: bool,
    /// The scope keys now assigned.
    scopes: Vec<String>,
    /// The principal sees every scope.
    all_scopes: bool,
}

/// Pushes operations.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/sync/push",
    operation_id = "syncPush",
    tag = "sync",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id or code")),
    request_body(content = PushRequestDoc, description = "JSON, or binary with \
        `Content-Type: application/vnd.mapframe.sync+cbor` (at most 8 MiB)"),
    responses(
        (status = 200, description = "One acknowledgement per operation (binary when `Accept` \
          names the binary type)", body = PushAckDoc),
        (status = 400, description = "An undecodable message (the wire error's code: \
          `malformed`, `bad_header`, `unsupported_version`, …), `device_required`, \
          `device_mismatch`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem,
         content_type = "application/problem+json"),
        (status = 413, description = "Larger than 8 MiB", body = Problem,
         content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor the binary type", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn push(
    state: web::Data<AppState>,
    actor: Actor,
    project: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let device = require_device(&actor)?;
    let format = Format::of_body(&req)?;
    let body = read_limited(&mut payload.into_inner(), PUSH_LIMIT, content_length(&req)).await?;
    let request: PushRequest = format.decode(&body)?;
    if request.device_id != device {
        return Err(device_mismatch(device));
    }
    let key = project.into_inner();
    let ops = request.ops.len();
    let ack = state
        .db(move |conn| {
            let project = project_id(conn, &key)?;
            let who = sync::principal(conn, &project, &actor, device)?;
            sync::push(conn, &project, &who, &request)
        })
        .await?;
    tracing::debug!(%device, ops, "push");
    Format::of_answer(&req, format).respond(&ack)
}

/// Pulls what changed in scope.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/sync/pull",
    operation_id = "syncPull",
    tag = "sync",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id or code")),
    request_body(content = PullRequestDoc, description = "JSON, or binary with \
        `Content-Type: application/vnd.mapframe.sync+cbor`"),
    responses(
        (status = 200, description = "A page of changes (binary when `Accept` names the binary \
          type)", body = PullResponseDoc),
        (status = 400, description = "An undecodable message, `device_required`, \
          `device_mismatch`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem,
         content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor the binary type", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn pull(
    state: web::Data<AppState>,
    actor: Actor,
    project: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let device = require_device(&actor)?;
    let format = Format::of_body(&req)?;
    let body = read_limited(&mut payload.into_inner(), PULL_LIMIT, content_length(&req)).await?;
    let request: PullRequest = format.decode(&body)?;
    if request.device_id != device {
        return Err(device_mismatch(device));
    }
    let key = project.into_inner();
    let response = state
        .db(move |conn| {
            let project = project_id(conn, &key)?;
            let who = sync::principal(conn, &project, &actor, device)?;
            sync::pull(conn, &project, &who, &request)
        })
        .await?;
    Format::of_answer(&req, format).respond(&response)
}

fn content_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}
