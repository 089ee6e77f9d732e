//! `GET /api/v1/me`: who the token belongs to.

use super::users::UserView;
use super::{ApiError, AppState, Problem};
use crate::auth::Actor;
use crate::store::users;
use actix_web::{HttpResponse, web};
use serde::Serialize;

/// The signed-in user and the device of this session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// The account.
    pub user: UserView,
    /// The device the token was issued to, if any.
    pub device_id: Option<String>,
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "getMe",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = Me),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn get(state: web::Data<AppState>, actor: Actor) -> Result<HttpResponse, ApiError> {
    let user_id = actor.user_id.clone();
    let user = state.db(move |conn| users::by_id(conn, &user_id)).await?;
    Ok(HttpResponse::Ok().json(Me {
        user: user.into(),
        device_id: actor.device_id,
    }))
}
