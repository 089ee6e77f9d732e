//! `/api/v1/projects/{project}/forms`: questionnaires. Supervisors and administrators upload an
//! XLSForm (`.xlsx`, `.xls`, `.ods` as the request body, or the form model as JSON); every version
//! is kept; anyone signed in reads them (phones download the model they interview with).
//!
//! An upload is read and compiled completely before anything is stored: authoring errors come
//! back all at once, each with sheet, row and column (`form_invalid`), and nothing is written.

use super::error::Located;
use super::{ApiError, AppState, Problem, rfc3339};
use crate::auth::{Actor, Role};
use crate::formfile;
use crate::store::forms::{self, StoredForm, Upload};
use crate::store::projects;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::path::Path;
use sync_core::form::engine::CompiledForm;
use sync_core::form::model::Form;
use sync_core::form::xlsform;

/// The largest form upload accepted (a 1,000-question XLSForm is well under 1 MiB).
pub const UPLOAD_LIMIT: usize = 16 * 1024 * 1024;

/// A stored form version, without its questions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FormSummary {
    /// `settings.form_id`.
    pub form_id: String,
    /// `settings.version`.
    pub version: String,
    /// `settings.form_title`.
    pub title: String,
    /// Languages of its labels.
    pub languages: Vec<String>,
    /// Number of questions, groups and repeats.
    pub questions: usize,
    /// Hex SHA-256 of the form model's JSON.
    pub sha256: String,
    /// The uploaded file's name.
    pub source_name: String,
    /// When it was uploaded (RFC 3339).
    pub uploaded_at: String,
}

impl From<&StoredForm> for FormSummary {
    fn from(f: &StoredForm) -> Self {
        FormSummary {
            form_id: f.form_id.clone(),
            version: f.version.clone(),
            title: f.title.clone(),
            languages: f.form.languages.clone(),
            questions: f.form.questions.len(),
            sha256: f.sha256.clone(),
            source_name: f.source_name.clone(),
            uploaded_at: rfc3339(f.uploaded_at),
        }
    }
}

/// A form version with its model.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FormView {
    /// The version's summary.
    #[serde(flatten)]
    pub summary: FormSummary,
    /// The form model (questions, choices, settings) the phones run.
    #[schema(value_type = Object)]
    pub form: serde_json::Value,
    /// Whether this upload created the version (false: the same form was already stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<bool>,
}

/// Query of an upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file's name, kept with the version (default `form.xlsx`).
    pub name: Option<String>,
}

/// Query of a read.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct VersionQuery {
    /// The version (default: the latest upload).
    pub version: Option<String>,
}

fn authoring_errors(errors: &xlsform::AuthoringErrors) -> Vec<Located> {
    errors
        .0
        .iter()
        .map(|e| Located {
            sheet: Some(e.sheet.clone()),
            row: e.row.map(|r| r as u64),
            column: e.column.clone(),
            message: e.message.clone(),
            ..Located::default()
        })
        .collect()
}

/// Reads and compiles an uploaded form: an XLSForm spreadsheet, or the form model as JSON.
pub fn read_upload(content_type: &str, name: &str, body: &[u8]) -> Result<Form, ApiError> {
    let is_json = content_type.starts_with("application/json")
        || (!body.starts_with(b"PK")
            && body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'));
    let form = if is_json {
        let mut de = serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize::<_, Form>(&mut de).map_err(|e| {
            ApiError::invalid_document(
                "form_invalid",
                format!("{name}: not a form model: {e}"),
                vec![Located {
                    field: Some(e.path().to_string()),
                    message: e.inner().to_string(),
                    ..Located::default()
                }],
            )
        })?
    } else {
        let wb = formfile::read_workbook_bytes(Path::new(name), body.to_vec()).map_err(|e| {
            ApiError::invalid_document("spreadsheet_unreadable", e.to_string(), Vec::new())
        })?;
        xlsform::read_form(&wb).map_err(|e| {
            let n = e.0.len();
            ApiError::invalid_document(
                "form_invalid",
                format!("{name}: {n} authoring error(s); nothing was stored"),
                authoring_errors(&e),
            )
        })?
    };
    if form.settings.form_id.trim().is_empty() {
        return Err(ApiError::invalid_document(
            "form_invalid",
            format!("{name}: the form has no form_id (settings sheet)"),
            vec![Located {
                sheet: Some("settings".into()),
                column: Some("form_id".into()),
                message: "missing form_id".into(),
                ..Located::default()
            }],
        ));
    }
    CompiledForm::compile(form.clone()).map_err(|errors| {
        ApiError::invalid_document(
            "form_invalid",
            format!("{name}: the form's expressions do not compile; nothing was stored"),
            errors
                .iter()
                .map(|e| Located {
                    code: Some(e.code().into()),
                    sheet: Some("survey".into()),
                    message: e.to_string(),
                    ..Located::default()
                })
                .collect(),
        )
    })?;
    Ok(form)
}

/// Uploads a form version (supervisors and administrators).
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/forms",
    operation_id = "uploadForm",
    tag = "forms",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id"), UploadQuery),
    request_body(content = Vec<u8>, description = "An XLSForm (.xlsx, .xls, .ods) or the form model as JSON",
                 content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses(
        (status = 201, description = "A new version was stored", body = FormView),
        (status = 200, description = "The same form was already stored under this version", body = FormView),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another form is stored under this version (`already_exists`, field `version`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 16 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Authoring errors, each with sheet, row and column (`form_invalid`), or not a spreadsheet (`spreadsheet_unreadable`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upload(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    query: web::Query<UploadQuery>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    actor.require_role(&[Role::Supervisor])?;
    let project = path.into_inner();
    let name = query
        .into_inner()
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "form.xlsx".into());
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    // The project first: a form for a project that does not exist is a 404, not a parse error.
    let p = project.clone();
    state.db(move |conn| projects::by_id(conn, &p)).await?;
    let form = super::blocking(move || read_upload(&content_type, &name, &body).map(|f| (f, name)))
        .await??;
    let (form, name) = form;
    let now = crate::db::now_ms();
    let user = actor.user_id.clone();
    let (stored, what) = state
        .db(move |conn| forms::upload(conn, &project, &form, &name, &user, now))
        .await?;
    tracing::info!(by = %actor.username, form = %stored.form_id, version = %stored.version, ?what, "form uploaded");
    let view = view(&stored, Some(what == Upload::Created))?;
    Ok(match what {
        Upload::Created => HttpResponse::Created().json(view),
        Upload::Unchanged => HttpResponse::Ok().json(view),
    })
}

fn view(f: &StoredForm, created: Option<bool>) -> Result<FormView, ApiError> {
    Ok(FormView {
        summary: FormSummary::from(f),
        form: serde_json::to_value(&f.form).map_err(|e| ApiError::internal(e.to_string()))?,
        created,
    })
}

/// Every version of every form of the project.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/forms",
    operation_id = "listForms",
    tag = "forms",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "The form versions, by form id then upload time", body = Vec<FormSummary>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    _actor: Actor,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let project = path.into_inner();
    let all = state
        .db(move |conn| {
            projects::by_id(conn, &project)?;
            forms::list(conn, &project)
        })
        .await?;
    Ok(HttpResponse::Ok().json(all.iter().map(FormSummary::from).collect::<Vec<_>>()))
}

/// One form version with its model (default: the latest upload).
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/forms/{form_id}",
    operation_id = "getForm",
    tag = "forms",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id"),
           ("form_id" = String, Path, description = "The form's form_id"), VersionQuery),
    responses(
        (status = 200, description = "The form", body = FormView),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, form or version", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    _actor: Actor,
    path: web::Path<(String, String)>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let (project, form_id) = path.into_inner();
    let version = query.into_inner().version;
    let f = state
        .db(move |conn| {
            projects::by_id(conn, &project)?;
            forms::get(conn, &project, &form_id, version.as_deref())
        })
        .await?;
    Ok(HttpResponse::Ok().json(view(&f, None)?))
}
