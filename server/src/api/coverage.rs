//! What supervisors watch and statisticians take away: coverage per area, interviewer and stratum
//! (JSON and GeoJSON) and the CSV exports of a form's interviews and their repeats. Supervisors see
//! their team's areas and cases, administrators everything.

use super::{ApiError, AppState, Problem};
use crate::auth::{Actor, Role};
use crate::fieldwork;
use crate::store::{StoreError, forms, projects};
use crate::sync;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use sync_core::coverage::geojson::{GeoJsonOptions, coverage_geojson};
use sync_core::coverage::rows::{AreaInfo, CaseRow, DwellingRow};
use sync_core::coverage::{CoverageInput, Thresholds, coverage};
use sync_core::export::{ExportOptions, interviews_csv, repeat_csv};
use sync_core::sync::{Entity, Scope};

/// Everything coverage reads, already filtered to the actor's scope.
struct Rows {
    areas: Vec<AreaInfo>,
    dwellings: Vec<DwellingRow>,
    cases: Vec<CaseRow>,
}

fn in_scope(scope: &Scope, e: &Entity) -> bool {
    scope.contains(e.scope)
}

fn rows(
    conn: &mut crate::db::DbConnection,
    project: &str,
    actor: &Actor,
) -> Result<Rows, StoreError> {
    projects::by_id(conn, project)?;
    let scope = sync::scope_of(conn, project, actor)?;
    let areas: Vec<AreaInfo> = fieldwork::areas(conn, project)?
        .into_iter()
        .filter(|a| scope.contains(a.id.uuid()))
        .map(|a| AreaInfo {
            id: a.id.uuid(),
            code: a.code,
            name: a.name,
            stratum: a.stratum,
            expected: a.measure_of_size,
            team: None,
            supervisor: None,
            boundary: a.boundary,
        })
        .collect();
    let mut dwellings = Vec::new();
    for e in fieldwork::entity_values(conn, project, "dwelling")? {
        if !in_scope(&scope, &e) {
            continue;
        }
        match DwellingRow::from_entity(&e) {
            Ok(d) => dwellings.push(d),
            Err(err) => tracing::warn!(dwelling = %e.id, %err, "left out of coverage"),
        }
    }
    let mut cases = Vec::new();
    for e in fieldwork::entity_values(conn, project, "interview")? {
        let area_ok = e
            .text(sync_core::fieldwork::field::AREA)
            .and_then(|a| uuid::Uuid::parse_str(a).ok())
            .is_some_and(|a| scope.contains(a));
        if !(in_scope(&scope, &e) || area_ok) {
            continue;
        }
        match CaseRow::from_entity(&e) {
            Ok(c) => cases.push(c),
            Err(err) => tracing::warn!(case = %e.id, %err, "left out of coverage"),
        }
    }
    Ok(Rows {
        areas,
        dwellings,
        cases,
    })
}

/// Query of the coverage endpoints: the quality-flag thresholds.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CoverageQuery {
    /// An interview's GPS fix farther than this from its dwelling (plus the fix's accuracy) is
    /// flagged (default 50 m).
    pub gps_threshold_m: Option<f64>,
    /// Interviews shorter than this are flagged (default 10 minutes).
    pub min_duration_minutes: Option<f64>,
}

fn thresholds(q: &CoverageQuery) -> Thresholds {
    let mut t = Thresholds::default();
    if let Some(m) = q.gps_threshold_m.filter(|m| m.is_finite() && *m >= 0.0) {
        t.gps_distance_m = m;
    }
    if let Some(m) = q
        .min_duration_minutes
        .filter(|m| m.is_finite() && *m >= 0.0)
    {
        t.short_duration_ms = (m * 60_000.0) as i64;
    }
    t
}

/// Reads the actor's rows, computes their coverage off the async threads, and hands both to `f`
/// (which writes the response body).
async fn computed<T, F>(
    state: &AppState,
    actor: Actor,
    project: String,
    query: &CoverageQuery,
    f: F,
) -> Result<T, ApiError>
where
    F: FnOnce(&CoverageInput<'_>, &sync_core::coverage::CoverageReport) -> T + Send + 'static,
    T: Send + 'static,
{
    actor.require_role(&[Role::Supervisor])?;
    let t = thresholds(query);
    let rows = state.db(move |conn| rows(conn, &project, &actor)).await?;
    super::blocking(move || {
        let input = CoverageInput {
            areas: &rows.areas,
            dwellings: &rows.dwellings,
            cases: &rows.cases,
        };
        let report = coverage(&input, &t);
        f(&input, &report)
    })
    .await
}

/// Coverage per area, interviewer and stratum, with AAPOR rates and quality flags.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/coverage",
    operation_id = "coverage",
    tag = "coverage",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id"), CoverageQuery),
    responses(
        (status = 200, description = "The coverage report", body = Object),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn report(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    query: web::Query<CoverageQuery>,
) -> Result<HttpResponse, ApiError> {
    let body = computed(&state, actor, path.into_inner(), &query, |_, report| {
        serde_json::to_vec(report)
    })
    .await?
    .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// The coverage map: areas with their numbers and dwellings with their status (GeoJSON, for
/// QGIS and the dashboard).
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/coverage.geojson",
    operation_id = "coverageMap",
    tag = "coverage",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id"), CoverageQuery),
    responses(
        (status = 200, description = "GeoJSON FeatureCollection (WGS-84)", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn map(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    query: web::Query<CoverageQuery>,
) -> Result<HttpResponse, ApiError> {
    let body = computed(&state, actor, path.into_inner(), &query, |input, report| {
        coverage_geojson(input, report, &GeoJsonOptions::default())
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/geo+json")
        .body(body))
}

/// Query of the CSV exports.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// Add a `<question>_label` column after each select question, in this language (as named
    /// in the form's `label::…` columns).
    pub labels: Option<String>,
    /// Add one 0/1 column per choice of each select_multiple.
    #[serde(default)]
    pub choice_columns: bool,
    /// Times at this offset from UTC in minutes (default 480, China Standard Time).
    pub utc_offset_minutes: Option<i32>,
    /// The form version (default: the latest upload).
    pub version: Option<String>,
}

async fn export_rows(
    state: &AppState,
    actor: Actor,
    project: String,
    form_id: String,
    version: Option<String>,
) -> Result<(sync_core::form::model::Form, Vec<Entity>), ApiError> {
    state
        .db(move |conn| {
            projects::by_id(conn, &project)?;
            let form = forms::get(conn, &project, &form_id, version.as_deref())?;
            let scope = sync::scope_of(conn, &project, &actor)?;
            let cases: Vec<Entity> = fieldwork::entity_values(conn, &project, "interview")?
                .into_iter()
                .filter(|e| in_scope(&scope, e))
                .filter(|e| e.text(sync_core::fieldwork::field::FORM) == Some(form_id.as_str()))
                .collect();
            Ok((form.form, cases))
        })
        .await
}

fn options(q: &ExportQuery) -> ExportOptions {
    ExportOptions {
        labels: q.labels.clone().filter(|l| !l.is_empty()),
        choice_columns: q.choice_columns,
        utc_offset_minutes: q.utc_offset_minutes.unwrap_or(480),
    }
}

fn csv_response(name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

fn export_error(e: sync_core::export::ExportError) -> ApiError {
    ApiError::InvalidField {
        field: Some("utc_offset_minutes".into()),
        detail: e.to_string(),
    }
}

/// One row per interview of a form, with its design variables, final disposition and answers.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/exports/{form_id}/interviews.csv",
    operation_id = "exportInterviews",
    tag = "coverage",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id"),
           ("form_id" = String, Path, description = "The form"), ExportQuery),
    responses(
        (status = 200, description = "CSV (UTF-8)", body = String, content_type = "text/csv"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project or form", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad UTC offset", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn interviews(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, String)>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    actor.require_role(&[Role::Supervisor])?;
    let (project, form_id) = path.into_inner();
    let q = query.into_inner();
    let name = format!("{form_id}.csv");
    let (form, cases) = export_rows(&state, actor, project, form_id, q.version.clone()).await?;
    let body = super::blocking(move || interviews_csv(&form, &cases, &options(&q)))
        .await?
        .map_err(export_error)?;
    Ok(csv_response(&name, body))
}

/// One row per instance of a repeat group, keyed by interview and instance.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/exports/{form_id}/repeats/{group}.csv",
    operation_id = "exportRepeat",
    tag = "coverage",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id"),
           ("form_id" = String, Path, description = "The form"),
           ("group" = String, Path, description = "The repeat group's name"), ExportQuery),
    responses(
        (status = 200, description = "CSV (UTF-8)", body = String, content_type = "text/csv"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, form or repeat", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad UTC offset", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn repeat(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, String, String)>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    actor.require_role(&[Role::Supervisor])?;
    let (project, form_id, group) = path.into_inner();
    let q = query.into_inner();
    let name = format!("{form_id}-{group}.csv");
    let (form, cases) = export_rows(&state, actor, project, form_id, q.version.clone()).await?;
    let known = sync_core::export::repeat_groups(&form, &cases);
    if !known.contains(&group) {
        return Err(ApiError::not_found("repeat group"));
    }
    let body = super::blocking(move || repeat_csv(&form, &group, &cases, &options(&q)))
        .await?
        .map_err(export_error)?;
    Ok(csv_response(&name, body))
}
