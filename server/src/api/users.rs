//! `/api/v1/users`: accounts. Administrators list and create them; a user may read their own
//! account, a supervisor the accounts of their team.

use super::{ApiError, AppState, Json, Problem, rfc3339};
use crate::auth::{self, Actor, NewAccount, Role};
use crate::store::users::{self, User};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

/// An account as the API shows it (never the password hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// Its id (UUID).
    pub id: String,
    /// Its username (lower case).
    pub username: String,
    /// The name shown to people.
    pub display_name: String,
    /// Its role.
    pub role: Role,
    /// Its team's id, if any.
    pub team_id: Option<String>,
    /// Its team's name, if any.
    pub team: Option<String>,
    /// Whether it may no longer sign in.
    pub disabled: bool,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            team_id: u.team_id,
            team: u.team,
            disabled: u.disabled,
            created_at: rfc3339(u.created_at),
        }
    }
}

/// A new account.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateUser {
    /// 1–64 letters, digits, `.`, `_`, `-`, `@`; stored in lower case; unique.
    pub username: String,
    /// The name shown to people (default: the username).
    #[serde(default)]
    pub display_name: Option<String>,
    /// `admin`, `supervisor` or `interviewer`.
    pub role: Role,
    /// The team's name (created if new): required for supervisors, refused for administrators.
    #[serde(default)]
    pub team: Option<String>,
    /// At least 8 characters.
    pub password: String,
}

/// Every account (administrators).
#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "listUsers",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The accounts, by username", body = Vec<UserView>),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator (`forbidden`)", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn list(state: web::Data<AppState>, actor: Actor) -> Result<HttpResponse, ApiError> {
    actor.require_admin()?;
    let users = state.db(users::list).await?;
    Ok(HttpResponse::Ok().json(users.into_iter().map(UserView::from).collect::<Vec<_>>()))
}

/// Creates an account (administrators).
#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "createUser",
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator (`forbidden`)", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "The username is taken (`already_exists`, field \
         `username`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or invalid field (a short password, a \
         supervisor without a team, …)", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    actor.require_admin()?;
    let body = body.into_inner();
    let settings = state.auth.clone();
    let now = crate::db::now_ms();
    let user = state
        .db(move |conn| {
            auth::create_account(
                conn,
                &NewAccount {
                    username: &body.username,
                    display_name: body.display_name.as_deref(),
                    role: body.role,
                    team: body.team.as_deref(),
                    password: &body.password,
                },
                &settings,
                now,
            )
        })
        .await?;
    tracing::info!(by = %actor.username, user = %user.username, role = %user.role, "user created");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", user.id)))
        .json(UserView::from(user)))
}

/// One account: your own, one in the team you supervise, or any (administrators).
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    operation_id = "getUser",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id (UUID)")),
    responses(
        (status = 200, description = "The account", body = UserView),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
        (status = 403, description = "Not yours, not your team's (`forbidden`)", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No such user (`not_found`)", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::store::parse_id(&id, "id").map_err(|_| ApiError::not_found("user"))?;
    let user = state.db(move |conn| users::by_id(conn, &id)).await?;
    actor.require_self_or_supervisor(&user.id, user.team_id.as_deref())?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}
