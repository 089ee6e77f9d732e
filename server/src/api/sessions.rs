//! Signing in (`POST /api/v1/sessions`) and out (`DELETE /api/v1/sessions/current`).

use super::users::UserView;
use super::{ApiError, AppState, Json, Problem, rfc3339};
use crate::auth::{self, Actor, SignIn};
use crate::store::{devices::Device, tokens};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

/// A sign-in.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignInRequest {
    /// The username (case does not matter).
    pub username: String,
    /// The password.
    pub password: String,
    /// The client's device id: a UUID it minted once and keeps. Registers the device to this
    /// user (a device another user signed in on before is taken over, and their tokens on it
    /// revoked).
    #[serde(default)]
    pub device_id: Option<String>,
    /// A name for the device, shown to supervisors.
    #[serde(default)]
    pub device_name: Option<String>,
}

/// A registered device.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeviceView {
    /// The device id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was registered to this user.
    pub registered_at: String,
    /// When it was last used.
    pub last_seen: String,
}

impl From<Device> for DeviceView {
    fn from(d: Device) -> Self {
        DeviceView {
            id: d.id,
            name: d.name,
            registered_at: rfc3339(d.registered_at),
            last_seen: rfc3339(d.last_seen),
        }
    }
}

/// A new session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionResponse {
    /// The bearer token: send it as `Authorization: Bearer <token>`. Shown only now.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// When the token stops working (RFC 3339, UTC).
    pub expires_at: String,
    /// Who signed in.
    pub user: UserView,
    /// The device, if a `device_id` was sent.
    pub device: Option<DeviceView>,
}

/// Signs in with a username and password and returns a bearer token.
#[utoipa::path(
    post,
    path = "/api/v1/sessions",
    operation_id = "signIn",
    tag = "sessions",
    request_body = SignInRequest,
    responses(
        (status = 201, description = "Signed in", body = SessionResponse),
        (status = 400, description = "Malformed JSON (`malformed_json`)", body = Problem,
         content_type = "application/problem+json"),
        (status = 401, description = "Wrong username or password (`bad_credentials`), or the \
         account is disabled (`account_disabled`)", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "A missing or invalid field (`missing_field`, \
         `invalid_field`: e.g. a `device_id` that is not a UUID)", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    body: Json<SignInRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let settings = state.auth.clone();
    let now = crate::db::now_ms();
    let signed_in = state
        .db(move |conn| {
            auth::sign_in(
                conn,
                &SignIn {
                    username: &body.username,
                    password: &body.password,
                    device_id: body.device_id.as_deref(),
                    device_name: body.device_name.as_deref(),
                },
                &settings,
                now,
            )
        })
        .await?;
    tracing::info!(user = %signed_in.user.username, device = ?signed_in.device.as_ref().map(|d| &d.id), "signed in");
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(SessionResponse {
            token: signed_in.token,
            token_type: "Bearer".into(),
            expires_at: rfc3339(signed_in.expires_at),
            user: signed_in.user.into(),
            device: signed_in.device.map(DeviceView::from),
        }))
}

/// Signs out: revokes the token this request carries.
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/current",
    operation_id = "signOut",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out; the token no longer works"),
        (status = 401, description = "No valid token", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn delete_current(
    state: web::Data<AppState>,
    actor: Actor,
) -> Result<HttpResponse, ApiError> {
    let now = crate::db::now_ms();
    state
        .db(move |conn| tokens::revoke(conn, &actor.token_hash, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
