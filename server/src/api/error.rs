//! Errors as RFC 9457 problem details (`application/problem+json`), each with a stable machine
//! `code` clients can act on, a human `detail`, and the `field` that was wrong when there is one.
//!
//! Handlers return [`ApiError`]; [`problem_for_plain_errors`] (an `ErrorHandlers` default) turns
//! every other error response actix produces (unknown route, wrong method, extractor failures)
//! into the same shape, so a client never has to parse anything else.

use crate::auth::{AuthError, Forbidden};
use crate::store::StoreError;
use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{StatusCode, header};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem: what every error response carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "urn:mapframe:problem:invalid_field",
    "title": "Invalid field",
    "status": 422,
    "detail": "invalid type: integer `5`, expected a string (line 1, column 17)",
    "code": "invalid_field",
    "field": "username"
}))]
pub struct Problem {
    /// `urn:mapframe:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// What went wrong, for programs: stable, snake_case.
    pub code: String,
    /// The request field that was wrong (a path like `settings.tiles[0]` for nested fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem found in an uploaded document (a form, a listing), each located.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Located>,
}

/// One located problem in an uploaded document: where (sheet, row, column for spreadsheets;
/// feature index, id and property for GeoJSON) and what.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Located {
    /// Stable code of this problem, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Spreadsheet sheet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Spreadsheet row (header = 1) or text line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// Spreadsheet column or text column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// GeoJSON feature index (0-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<u64>,
    /// The feature's own id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The property or field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Every error an endpoint can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON (400 `malformed_json`); the detail has line and column.
    #[error("{detail}")]
    MalformedJson {
        /// The parser's message with its position.
        detail: String,
    },
    /// A value has the wrong type or is not acceptable (422 `invalid_field`).
    #[error("{detail}")]
    InvalidField {
        /// The field (`None`: the body as a whole).
        field: Option<String>,
        /// What is wrong.
        detail: String,
    },
    /// A required field is absent (422 `missing_field`).
    #[error("missing field `{field}`")]
    MissingField {
        /// The field's path.
        field: String,
    },
    /// A malformed request line, query or header (400 `bad_request`).
    #[error("{detail}")]
    BadRequest {
        /// What is wrong.
        detail: String,
    },
    /// No valid bearer token, or wrong credentials at sign-in (401, the [`AuthError`]'s code).
    #[error(transparent)]
    Unauthenticated(#[from] AuthError),
    /// Signed in but not allowed (403 `forbidden`).
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such resource or route (404 `not_found`).
    #[error("{detail}")]
    NotFound {
        /// What was not found.
        detail: String,
    },
    /// The route exists but not with this method (405 `method_not_allowed`).
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    /// A unique value is taken (409 `already_exists`).
    #[error("a {what} with this {field} already exists")]
    AlreadyExists {
        /// The kind of record.
        what: String,
        /// The unique field.
        field: String,
    },
    /// Someone else changed the record first (409 `version_conflict`).
    #[error("{detail}")]
    VersionConflict {
        /// What changed.
        detail: String,
    },
    /// The body is larger than the route accepts (413 `payload_too_large`).
    #[error("the request body is larger than the {limit} bytes this route accepts")]
    PayloadTooLarge {
        /// The route's limit in bytes.
        limit: usize,
    },
    /// The body is not in a media type the route accepts (415 `unsupported_media_type`).
    #[error("{detail}")]
    UnsupportedMediaType {
        /// What was sent and what is accepted.
        detail: String,
    },
    /// The database is unreachable or too busy (503 `unavailable`); worth retrying.
    #[error("the service is temporarily unavailable: {detail}")]
    Unavailable {
        /// Why.
        detail: String,
    },
    /// A bug or an unexpected failure (500 `internal`). The detail is logged, not sent.
    #[error("internal error")]
    Internal {
        /// What happened (logged only).
        detail: String,
    },
    /// The request is well formed but the domain refuses it (an XLSForm with authoring errors, a
    /// listing with bad features, a frame that is not frozen, …): the status, a stable code and
    /// every located problem.
    #[error("{detail}")]
    Rejected {
        /// 409 (the state does not allow it) or 422 (the document is wrong).
        status: StatusCode,
        /// Stable code, e.g. `form_invalid`.
        code: &'static str,
        /// What went wrong, for people.
        detail: String,
        /// Every located problem.
        errors: Vec<Located>,
    },
    /// An error with a code of its own: sync messages that cannot be decoded (the
    /// [`WireError`](sync_core::sync::WireError) code), an operation the merge refused (the
    /// refusal's code), `device_required`.
    #[error("{detail}")]
    Coded {
        /// The status.
        status: StatusCode,
        /// The stable code.
        code: String,
        /// What went wrong.
        detail: String,
    },
    /// Any other HTTP error status actix produced (code `http_<status>`).
    #[error("{detail}")]
    Other {
        /// The status.
        status: StatusCode,
        /// What actix said.
        detail: String,
    },
}

impl ApiError {
    /// An internal error (logged when the response is built).
    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::Internal {
            detail: detail.into(),
        }
    }

    /// A 404 for a thing.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::NotFound {
            detail: format!("{what} not found"),
        }
    }

    /// The stable machine code.
    pub fn code(&self) -> String {
        match self {
            ApiError::MalformedJson { .. } => "malformed_json".into(),
            ApiError::InvalidField { .. } => "invalid_field".into(),
            ApiError::MissingField { .. } => "missing_field".into(),
            ApiError::BadRequest { .. } => "bad_request".into(),
            ApiError::Unauthenticated(e) => e.code().into(),
            ApiError::Forbidden(_) => "forbidden".into(),
            ApiError::NotFound { .. } => "not_found".into(),
            ApiError::MethodNotAllowed => "method_not_allowed".into(),
            ApiError::AlreadyExists { .. } => "already_exists".into(),
            ApiError::VersionConflict { .. } => "version_conflict".into(),
            ApiError::PayloadTooLarge { .. } => "payload_too_large".into(),
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type".into(),
            ApiError::Unavailable { .. } => "unavailable".into(),
            ApiError::Internal { .. } => "internal".into(),
            ApiError::Rejected { code, .. } => (*code).into(),
            ApiError::Coded { code, .. } => code.clone(),
            ApiError::Other { status, .. } => format!("http_{}", status.as_u16()),
        }
    }

    /// A 422 refusal of a document with located problems.
    pub fn invalid_document(
        code: &'static str,
        detail: impl Into<String>,
        errors: Vec<Located>,
    ) -> ApiError {
        ApiError::Rejected {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            detail: detail.into(),
            errors,
        }
    }

    /// A 409: the current state does not allow the action.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::Rejected {
            status: StatusCode::CONFLICT,
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    fn title(&self) -> String {
        match self {
            ApiError::MalformedJson { .. } => "Malformed JSON".into(),
            ApiError::InvalidField { .. } => "Invalid field".into(),
            ApiError::MissingField { .. } => "Missing field".into(),
            ApiError::BadRequest { .. } => "Bad request".into(),
            ApiError::Unauthenticated(AuthError::BadCredentials) => "Sign-in failed".into(),
            ApiError::Unauthenticated(_) => "Not signed in".into(),
            ApiError::Forbidden(_) => "Forbidden".into(),
            ApiError::NotFound { .. } => "Not found".into(),
            ApiError::MethodNotAllowed => "Method not allowed".into(),
            ApiError::AlreadyExists { .. } => "Already exists".into(),
            ApiError::VersionConflict { .. } => "Version conflict".into(),
            ApiError::PayloadTooLarge { .. } => "Payload too large".into(),
            ApiError::UnsupportedMediaType { .. } => "Unsupported media type".into(),
            ApiError::Unavailable { .. } => "Service unavailable".into(),
            ApiError::Internal { .. } => "Internal error".into(),
            ApiError::Rejected { status, .. }
            | ApiError::Other { status, .. }
            | ApiError::Coded { status, .. } => status
                .canonical_reason()
                .unwrap_or("HTTP error")
                .to_string(),
        }
    }

    /// The field the error is about, if any.
    pub fn field(&self) -> Option<String> {
        match self {
            ApiError::InvalidField { field, .. } => field.clone(),
            ApiError::MissingField { field } => Some(field.clone()),
            ApiError::AlreadyExists { field, .. } => Some(field.clone()),
            _ => None,
        }
    }

    /// The problem body.
    pub fn problem(&self) -> Problem {
        let code = self.code();
        Problem {
            type_: format!("urn:mapframe:problem:{code}"),
            title: self.title(),
            status: self.status_code().as_u16(),
            detail: self.to_string(),
            code,
            field: self.field(),
            errors: match self {
                ApiError::Rejected { errors, .. } => errors.clone(),
                _ => Vec::new(),
            },
        }
    }

    /// The error for an error status some other part of actix produced.
    pub fn from_status(status: StatusCode, detail: Option<String>) -> ApiError {
        let detail = detail.filter(|d| !d.is_empty());
        match status {
            StatusCode::NOT_FOUND => ApiError::NotFound {
                detail: detail.unwrap_or_else(|| "no such resource".into()),
            },
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
                limit: super::json::DEFAULT_LIMIT,
            },
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType {
                detail: detail.unwrap_or_else(|| "unsupported media type".into()),
            },
            StatusCode::BAD_REQUEST => ApiError::BadRequest {
                detail: detail.unwrap_or_else(|| "bad request".into()),
            },
            StatusCode::INTERNAL_SERVER_ERROR => ApiError::internal(detail.unwrap_or_default()),
            status => ApiError::Other {
                status,
                detail: detail
                    .unwrap_or_else(|| status.canonical_reason().unwrap_or("HTTP error").into()),
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound { what } => ApiError::not_found(what),
            StoreError::AlreadyExists { what, field } => ApiError::AlreadyExists {
                what: what.into(),
                field: field.into(),
            },
            StoreError::Invalid(f) => ApiError::InvalidField {
                field: Some(f.field.into()),
                detail: f.message,
            },
            e @ StoreError::Stale { .. } => ApiError::VersionConflict {
                detail: e.to_string(),
            },
            StoreError::Auth(e) => ApiError::Unauthenticated(e),
            StoreError::Unavailable(detail) => ApiError::Unavailable { detail },
            e @ (StoreError::Migration(_) | StoreError::Database(_) | StoreError::Internal(_)) => {
                ApiError::internal(e.to_string())
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson { .. } | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::InvalidField { .. } | ApiError::MissingField { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::AlreadyExists { .. } | ApiError::VersionConflict { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Rejected { status, .. }
            | ApiError::Other { status, .. }
            | ApiError::Coded { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal { detail } => tracing::error!(%detail, "internal error"),
            ApiError::Unavailable { detail } => tracing::warn!(%detail, "unavailable"),
            _ => {}
        }
        let problem = self.problem();
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        if let ApiError::Unauthenticated(e) = self {
            let challenge = match e {
                AuthError::Missing | AuthError::BadCredentials => {
                    "Bearer realm=\"mapframe\"".to_string()
                }
                e => format!(
                    "Bearer realm=\"mapframe\", error=\"invalid_token\", error_description=\"{e}\""
                ),
            };
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if matches!(self, ApiError::Unavailable { .. }) {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        response.body(body)
    }
}

/// An `ErrorHandlers` default handler: any error response that is not already a problem (actix's
/// own 404 for unknown routes, 405, extractor errors, Swagger UI's 404) is replaced by one.
pub fn problem_for_plain_errors<B: MessageBody>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = res.response().error().map(|e| e.to_string());
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::NotFound {
            detail: format!("no such resource: {}", res.request().path()),
        },
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        _ => ApiError::from_status(status, detail),
    };
    let (req, old) = res.into_parts();
    let mut new = error.error_response();
    if let Some(allow) = old.headers().get(header::ALLOW) {
        new.headers_mut().insert(header::ALLOW, allow.clone());
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_carry_type_title_status_detail_code_and_field() {
        let e = ApiError::InvalidField {
            field: Some("username".into()),
            detail: "expected a string".into(),
        };
        let p = serde_json::to_value(e.problem()).unwrap();
        assert_eq!(
            p,
            serde_json::json!({
                "type": "urn:mapframe:problem:invalid_field",
                "title": "Invalid field",
                "status": 422,
                "detail": "expected a string",
                "code": "invalid_field",
                "field": "username"
            })
        );
        let p = serde_json::to_value(ApiError::MethodNotAllowed.problem()).unwrap();
        assert!(p.get("field").is_none(), "no field when none applies");
    }

    #[test]
    fn store_errors_map_to_statuses_and_codes() {
        let cases: Vec<(StoreError, u16, &str)> = vec![
            (StoreError::NotFound { what: "user" }, 404, "not_found"),
            (
                StoreError::AlreadyExists {
                    what: "user",
                    field: "username",
                },
                409,
                "already_exists",
            ),
            (
                StoreError::Stale { what: "dwelling" },
                409,
                "version_conflict",
            ),
            (AuthError::Expired.into(), 401, "token_expired"),
            (StoreError::Unavailable("locked".into()), 503, "unavailable"),
            (StoreError::Internal("rng".into()), 500, "internal"),
        ];
        for (store, status, code) in cases {
            let api = ApiError::from(store);
            assert_eq!(api.status_code().as_u16(), status, "{api:?}");
            assert_eq!(api.code(), code);
        }
    }

    #[test]
    fn internal_details_are_not_sent() {
        let p = ApiError::internal("connection string postgres://secret").problem();
        assert_eq!(p.detail, "internal error");
    }
}
