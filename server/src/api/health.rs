//! `GET /healthz`: whether the server and its database answer (for load balancers and probes).

use super::{ApiError, AppState, Problem};
use actix_web::{HttpResponse, web};
use serde::Serialize;

/// The health report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` (otherwise the response is a 503 problem).
    pub status: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// The server's version.
    pub version: String,
}

/// Checks the database with `SELECT 1`.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "health",
    responses(
        (status = 200, description = "The server and its database answer", body = Health),
        (status = 503, description = "The database does not answer (`unavailable`)",
         body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.db(crate::db::ping).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Health {
            status: "ok".into(),
            database: state.backend.as_str().into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }))
}
