//! The frame and the sample over HTTP: listing import (GeoJSON, with an explicit `crs`) and
//! export, areas, the self-check report, frame freeze, draws that create cases (multi-stage, or
//! one stage of dwellings with a reserve and its release), and assignments. Supervisors and administrators; areas are readable by anyone signed in (phones
//! draw their boundaries).

use super::error::Located;
use super::{ApiError, AppState, Json, Problem};
use crate::auth::{Actor, Role};
use crate::fieldwork::{
    self, AssignmentSummary, FrozenFrame, ImportSummary, ReleaseError, ReleaseSummary,
    ReserveState, SampleSummary,
};
use crate::store::{projects, users};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use sync_core::crs::Crs;
use sync_core::listing::geojson::{ExportOptions, ImportOptions, read_listing, write_listing};
use sync_core::listing::{Listing, geojson::ImportErrors};
use sync_core::sampling::design::Design;
use sync_core::sampling::multistage::MultiStageDesign;
use sync_core::selfcheck::{CheckOptions, check};

/// The largest listing upload accepted (a city of 1M dwellings is about 400 MB: import it in
/// pieces, area by area).
pub const LISTING_LIMIT: usize = 64 * 1024 * 1024;

const GEOJSON: &str = "application/geo+json";

/// Query of a listing import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// The coordinate system of the file: `wgs84` (default), `gcj02` (Amap, Tencent) or `bd09`
    /// (Baidu). Never guessed.
    pub crs: Option<String>,
    /// The property through which buildings and dwellings name their area's code (default
    /// `area`; OSM extracts often use `community`).
    pub area_key: Option<String>,
}

fn import_errors(e: &ImportErrors) -> Vec<Located> {
    e.errors
        .iter()
        .map(|e| Located {
            code: Some(e.code.as_str().into()),
            row: e.line.map(|l| l as u64),
            column: e.column.map(|c| c.to_string()),
            feature: e.feature.map(|f| f as u64),
            id: e.feature_id.clone(),
            field: e.field.clone(),
            message: e.message.clone(),
            ..Located::default()
        })
        .collect()
}

fn supervisor(actor: &Actor) -> Result<(), ApiError> {
    Ok(actor.require_role(&[Role::Supervisor])?)
}

/// Imports a listing (GeoJSON FeatureCollection of areas, buildings and dwellings).
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/listing",
    operation_id = "importListing",
    tag = "frame",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id"), ImportQuery),
    request_body(content = Object, description = "GeoJSON (docs/listing-geojson.md)", content_type = "application/geo+json"),
    responses(
        (status = 201, description = "Imported", body = ImportSummary),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every bad feature, with index, id and property (`listing_invalid`); an unknown `crs` (`invalid_field`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn import(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    query: web::Query<ImportQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    supervisor(&actor)?;
    let project = path.into_inner();
    let q = query.into_inner();
    let crs: Crs = match q.crs.as_deref() {
        None => Crs::Wgs84,
        Some(c) => c.parse().map_err(|e: String| ApiError::InvalidField {
            field: Some("crs".into()),
            detail: e,
        })?,
    };
    let options = ImportOptions {
        crs,
        area_key: q.area_key.unwrap_or_else(|| "area".into()),
    };
    let p = project.clone();
    state.db(move |conn| projects::by_id(conn, &p)).await?;
    let listing = super::blocking(move || {
        let text = std::str::from_utf8(&body).map_err(|e| {
            ApiError::invalid_document(
                "listing_invalid",
                format!("the listing is not UTF-8 text: {e}"),
                Vec::new(),
            )
        })?;
        read_listing(text, None, &options)
            .map(|i| i.listing)
            .map_err(|e| {
                ApiError::invalid_document(
                    "listing_invalid",
                    format!(
                        "{} problem(s) in the listing; nothing was imported",
                        e.errors.len()
                    ),
                    import_errors(&e),
                )
            })
    })
    .await??;
    let now = crate::db::now_ms();
    let who = actor.clone();
    let summary = state
        .db(move |conn| fieldwork::import_listing(conn, &project, &who, listing, now))
        .await?;
    tracing::info!(by = %actor.username, ?summary, "listing imported");
    Ok(HttpResponse::Created().json(summary))
}

async fn listing_now(state: &AppState, project: String) -> Result<Listing, ApiError> {
    state
        .db(move |conn| {
            projects::by_id(conn, &project)?;
            fieldwork::current_listing(conn, &project)
        })
        .await
}

/// The listing as it stands (GeoJSON: areas, buildings, dwellings).
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/listing",
    operation_id = "exportListing",
    tag = "frame",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "GeoJSON FeatureCollection (WGS-84)", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn export(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    supervisor(&actor)?;
    let listing = listing_now(&state, path.into_inner()).await?;
    let text = write_listing(&listing, &ExportOptions::default());
    Ok(HttpResponse::Ok().content_type(GEOJSON).body(text))
}

/// The project's areas with their boundaries (GeoJSON).
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/areas",
    operation_id = "listAreas",
    tag = "frame",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "GeoJSON FeatureCollection of areas", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn areas(
    state: web::Data<AppState>,
    _actor: Actor,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let project = path.into_inner();
    let areas = state
        .db(move |conn| {
            projects::by_id(conn, &project)?;
            fieldwork::areas(conn, &project)
        })
        .await?;
    let listing = Listing {
        areas,
        ..Listing::default()
    };
    let text = write_listing(
        &listing,
        &ExportOptions {
            areas: true,
            buildings: false,
            dwellings: false,
        },
    );
    Ok(HttpResponse::Ok().content_type(GEOJSON).body(text))
}

/// The self-check of the listing as it stands (the findings `mapframe frame check` gives).
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/selfcheck",
    operation_id = "selfCheck",
    tag = "frame",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "Findings (stable codes, severity, ids, messages in English and Chinese) and a summary", body = Object),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn selfcheck(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    supervisor(&actor)?;
    let listing = listing_now(&state, path.into_inner()).await?;
    let report = super::blocking(move || check(&listing, &CheckOptions::default())).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Freezes the listing as it stands into a numbered, hashed frame.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/frames",
    operation_id = "freezeFrame",
    tag = "frame",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id")),
    responses(
        (status = 201, description = "Frozen", body = FrozenFrame),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Nothing to freeze (`invalid_field`, field `listing`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn freeze(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    supervisor(&actor)?;
    let project = path.into_inner();
    let now = crate::db::now_ms();
    let who = actor.clone();
    let frame = state
        .db(move |conn| {
            projects::by_id(conn, &project)?;
            fieldwork::freeze(conn, &project, &who, now)
        })
        .await?;
    Ok(HttpResponse::Created().json(frame))
}

/// Which kind of sample a draw makes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DrawStage {
    /// PSUs (areas), optionally a segment, a take of dwellings, households: `design` as
    /// `mapframe sample multistage` writes it.
    #[default]
    Multistage,
    /// One stage: the frame's dwellings with the designs of `mapframe sample draw` (SRS,
    /// systematic, PPS; strata = areas in listing-number order; a reserve drawn as replicates,
    /// released with `POST …/reserve/release`).
    Dwellings,
}

/// A sample to draw from the latest frozen frame.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DrawRequest {
    /// The seed (kept with the draw; the same seed and frame give the same sample).
    pub seed: u64,
    /// `multistage` (the default) or `dwellings`.
    #[serde(default)]
    pub stage: DrawStage,
    /// The design, as the stage says.
    #[schema(value_type = Object)]
    pub design: serde_json::Value,
    /// For `dwellings`: whether vacant dwellings are in the frame (default: yes).
    #[serde(default = "yes")]
    pub include_vacant: bool,
    /// The form the cases are to be interviewed with.
    #[serde(default)]
    pub form_id: Option<String>,
}

fn yes() -> bool {
    true
}

fn design_of<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| ApiError::InvalidField {
        field: Some(match e.path().to_string().as_str() {
            "." => "design".to_string(),
            path => format!("design.{path}"),
        }),
        detail: e.inner().to_string(),
    })
}

/// Draws a sample from the latest frozen frame; every released household (multi-stage) or
/// selected dwelling (one stage) becomes a case with its design variables.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/samples",
    operation_id = "drawSample",
    tag = "frame",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id")),
    request_body = DrawRequest,
    responses(
        (status = 201, description = "Drawn", body = SampleSummary),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, or no frozen frame", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A design the frame cannot satisfy (`invalid_field`, field `design`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn draw(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    body: Json<DrawRequest>,
) -> Result<HttpResponse, ApiError> {
    supervisor(&actor)?;
    let project = path.into_inner();
    let body = body.into_inner();
    let now = crate::db::now_ms();
    let who = actor.clone();
    let form_id = body.form_id.clone();
    // The design is read before any database work: a bad one is located inside `design`.
    enum Chosen {
        Multistage(MultiStageDesign),
        Dwellings(Design),
    }
    let design = match body.stage {
        DrawStage::Multistage => Chosen::Multistage(design_of(body.design)?),
        DrawStage::Dwellings => Chosen::Dwellings(design_of(body.design)?),
    };
    let (seed, include_vacant) = (body.seed, body.include_vacant);
    let sample = state
        .db(move |conn| {
            projects::by_id(conn, &project)?;
            let form_id = form_id.as_deref();
            match &design {
                Chosen::Multistage(d) => {
                    fieldwork::draw(conn, &project, &who, d, seed, form_id, now)
                }
                Chosen::Dwellings(d) => fieldwork::draw_dwellings(
                    conn,
                    &project,
                    &who,
                    d,
                    include_vacant,
                    seed,
                    form_id,
                    now,
                ),
            }
        })
        .await?;
    tracing::info!(by = %actor.username, ?sample, "sample drawn");
    Ok(HttpResponse::Created().json(sample))
}

fn release_error(e: ReleaseError) -> ApiError {
    match e {
        ReleaseError::NoSample => ApiError::conflict("no_sample", e.to_string()),
        ReleaseError::MultiStage => ApiError::conflict("multistage_reserve", e.to_string()),
        ReleaseError::Sampling(s) => ApiError::conflict(s.code(), s.to_string()),
        ReleaseError::Store(s) => s.into(),
    }
}

/// The reserve of the project's latest sample: per stratum, replicates drawn, released and
/// dwellings still held, and every release with its note.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project}/reserve",
    operation_id = "getReserve",
    tag = "frame",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "The reserve", body = ReserveState),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No sample yet (`no_sample`), or a multi-stage one (`multistage_reserve`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reserve(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    supervisor(&actor)?;
    let project = path.into_inner();
    let reserve = state
        .db(move |conn| {
            projects::by_id(conn, &project)?;
            Ok(fieldwork::reserve(conn, &project))
        })
        .await?
        .map_err(release_error)?;
    Ok(HttpResponse::Ok().json(reserve))
}

/// A release of reserve replicates.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReleaseRequest {
    /// The stratum (area code) whose next replicate to release; every stratum with one left
    /// when absent.
    #[serde(default)]
    pub stratum: Option<String>,
    /// Why (kept with the release).
    #[serde(default)]
    pub note: String,
}

/// Releases the next reserve replicate of a stratum (or of every stratum with one left) of the
/// latest one-stage sample: the draw is re-run from its record, the released dwellings become
/// cases, and the cases in the field get their new probability and base weight.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/reserve/release",
    operation_id = "releaseReserve",
    tag = "frame",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id")),
    request_body = ReleaseRequest,
    responses(
        (status = 200, description = "Released", body = ReleaseSummary),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing to release (`no_reserve_left`, `unknown_stratum`, `no_sample`, `multistage_reserve`) or a frame that changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn release(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    body: Json<ReleaseRequest>,
) -> Result<HttpResponse, ApiError> {
    supervisor(&actor)?;
    let project = path.into_inner();
    let body = body.into_inner();
    let now = crate::db::now_ms();
    let who = actor.clone();
    let summary = state
        .db(move |conn| {
            projects::by_id(conn, &project)?;
            Ok(fieldwork::release(
                conn,
                &project,
                &who,
                body.stratum.as_deref(),
                &body.note,
                now,
            ))
        })
        .await?
        .map_err(release_error)?;
    tracing::info!(by = %actor.username, cases = summary.cases, "reserve released");
    Ok(HttpResponse::Ok().json(summary))
}

/// An assignment of an area to an interviewer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssignRequest {
    /// The interviewer's user id or username.
    pub interviewer: String,
    /// The area's code or id.
    pub area: String,
    /// `interviewing` (default: the area's cases) or `listing` (the area's listing only).
    #[serde(default)]
    pub task: Option<String>,
}

/// Assigns an area to an interviewer (the supervisor of their team, or an administrator).
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/assignments",
    operation_id = "assignArea",
    tag = "frame",
    security(("bearer" = [])),
    params(("project" = String, Path, description = "Project id")),
    request_body = AssignRequest,
    responses(
        (status = 201, description = "Assigned", body = AssignmentSummary),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the interviewer's supervisor or an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, area or interviewer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an interviewer, or an unknown task (`invalid_field`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn assign(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    body: Json<AssignRequest>,
) -> Result<HttpResponse, ApiError> {
    supervisor(&actor)?;
    let project = path.into_inner();
    let body = body.into_inner();
    let task = body.task.unwrap_or_else(|| "interviewing".into());
    if task != "interviewing" && task != "listing" {
        return Err(ApiError::InvalidField {
            field: Some("task".into()),
            detail: "a task is `interviewing` or `listing`".into(),
        });
    }
    let now = crate::db::now_ms();
    let who = actor.clone();
    let p = project.clone();
    let (user, area) = state
        .db(move |conn| {
            projects::by_id(conn, &p)?;
            let user = match users::by_id(conn, &body.interviewer) {
                Ok(u) => u,
                Err(_) => users::by_username(conn, &body.interviewer)?,
            };
            let area = fieldwork::areas(conn, &p)?
                .into_iter()
                .find(|a| a.code == body.area || a.id.to_string() == body.area)
                .ok_or(crate::store::StoreError::NotFound { what: "area" })?;
            Ok((user, area))
        })
        .await?;
    if user.role != Role::Interviewer {
        return Err(ApiError::InvalidField {
            field: Some("interviewer".into()),
            detail: format!("{} is not an interviewer", user.username),
        });
    }
    actor.require_supervisor_of(user.team_id.as_deref())?;
    let summary = state
        .db(move |conn| fieldwork::assign(conn, &project, &who, &area, &user.id, &task, now))
        .await?;
    Ok(HttpResponse::Created().json(summary))
}
