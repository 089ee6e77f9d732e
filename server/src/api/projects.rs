//! `GET/POST /api/v1/projects`: surveys. Anyone signed in lists them; administrators create them.

use super::{ApiError, AppState, Json, Problem, rfc3339};
use crate::auth::Actor;
use crate::store::projects::{self, NewProject, Project};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

/// A project.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    /// Its id (UUID).
    pub id: String,
    /// Its short unique code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Settings (a JSON object).
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
}

impl From<Project> for ProjectView {
    fn from(p: Project) -> Self {
        ProjectView {
            id: p.id,
            code: p.code,
            name: p.name,
            settings: p.settings,
            created_at: rfc3339(p.created_at),
        }
    }
}

/// A new project.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateProject {
    /// 1–32 ASCII letters, digits, `_` or `-`; unique.
    pub code: String,
    /// 1–200 characters.
    pub name: String,
    /// A JSON object (default `{}`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
}

/// Every project, by code.
#[utoipa::path(
    get,
    path = "/api/v1/projects",
    operation_id = "listProjects",
    tag = "projects",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The projects", body = Vec<ProjectView>),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn list(state: web::Data<AppState>, _actor: Actor) -> Result<HttpResponse, ApiError> {
    let projects = state.db(projects::list).await?;
    Ok(HttpResponse::Ok().json(
        projects
            .into_iter()
            .map(ProjectView::from)
            .collect::<Vec<_>>(),
    ))
}

/// Creates a project (administrators).
#[utoipa::path(
    post,
    path = "/api/v1/projects",
    operation_id = "createProject",
    tag = "projects",
    security(("bearer" = [])),
    request_body = CreateProject,
    responses(
        (status = 201, description = "Created", body = ProjectView),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator (`forbidden`)", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "The code is taken (`already_exists`, field `code`)",
         body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or invalid field", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<CreateProject>,
) -> Result<HttpResponse, ApiError> {
    actor.require_admin()?;
    let body = body.into_inner();
    let now = crate::db::now_ms();
    let project = state
        .db(move |conn| {
            projects::create(
                conn,
                &NewProject {
                    code: &body.code,
                    name: &body.name,
                    settings: body.settings,
                },
                now,
            )
        })
        .await?;
    tracing::info!(by = %actor.username, code = %project.code, "project created");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/projects/{}", project.id)))
        .json(ProjectView::from(project)))
}
