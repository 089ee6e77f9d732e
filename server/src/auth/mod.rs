//! Accounts and permissions: roles, passwords (Argon2id), bearer tokens, signing in, and the
//! [`Actor`] — who is making a request — with the permission checks every endpoint uses.
//!
//! The rules: an administrator may do anything; a supervisor leads one team and sees that team's
//! people (and, later, its areas); an interviewer sees their own account (and, later, their own
//! assignments). Endpoints check with [`Actor::require_admin`], [`Actor::require_role`],
//! [`Actor::require_supervisor_of`] and [`Actor::require_self_or_supervisor`].

pub mod password;
pub mod token;

use crate::db::{self, DbConnection};
use crate::store::{self, FieldError, StoreError, devices, tokens, users};
use std::time::Duration;

/// What an account may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the server: accounts, projects, everything.
    Admin,
    /// Leads a team: its people, areas, review queues.
    Supervisor,
    /// Lists and interviews: only their own assignments.
    Interviewer,
}

impl Role {
    /// As stored and shown: `admin`, `supervisor`, `interviewer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Interviewer => "interviewer",
        }
    }

    /// The role named `s` (as stored).
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "supervisor" => Some(Role::Supervisor),
            "interviewer" => Some(Role::Interviewer),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request or a sign-in is not authenticated. Each has a stable [`code`](AuthError::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    #[error(
        "sign in first: POST /api/v1/sessions, then send the token as `Authorization: Bearer <token>`"
    )]
    Missing,
    /// A token that was never issued (or a malformed header).
    #[error("the bearer token is not valid")]
    Invalid,
    /// A token past its expiry time.
    #[error("the bearer token has expired: sign in again")]
    Expired,
    /// A token that was signed out or revoked.
    #[error("the bearer token was revoked: sign in again")]
    Revoked,
    /// The account is disabled.
    #[error("this account is disabled")]
    Disabled,
    /// Sign-in with an unknown username or a wrong password (the two are not told apart).
    #[error("wrong username or password")]
    BadCredentials,
}

impl AuthError {
    /// The stable machine code.
    pub fn code(self) -> &'static str {
        match self {
            AuthError::Missing => "token_missing",
            AuthError::Invalid => "token_invalid",
            AuthError::Expired => "token_expired",
            AuthError::Revoked => "token_revoked",
            AuthError::Disabled => "account_disabled",
            AuthError::BadCredentials => "bad_credentials",
        }
    }
}

/// An action the actor may not take; the message says who may.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Forbidden(pub String);

/// Who is making a request: the signed-in user behind a valid bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's id.
    pub user_id: String,
    /// The user's username.
    pub username: String,
    /// The user's role.
    pub role: Role,
    /// The user's team, if any.
    pub team_id: Option<String>,
    /// The device the token was issued to, if the client named one.
    pub device_id: Option<String>,
    /// The SHA-256 (hex) of the token used (to sign this session out).
    pub token_hash: String,
}

impl Actor {
    /// Whether the actor is an administrator.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Only administrators.
    pub fn require_admin(&self) -> Result<(), Forbidden> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Forbidden("only an administrator may do this".into()))
        }
    }

    /// Only the listed roles (administrators are always allowed).
    pub fn require_role(&self, allowed: &[Role]) -> Result<(), Forbidden> {
        if self.is_admin() || allowed.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
            Err(Forbidden(format!(
                "only these roles may do this: admin, {}",
                names.join(", ")
            )))
        }
    }

    /// Whether the actor supervises `team_id`: an administrator supervises every team (and people
    /// in none); a supervisor only their own team.
    pub fn supervises(&self, team_id: Option<&str>) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Supervisor => team_id.is_some() && team_id == self.team_id.as_deref(),
            Role::Interviewer => false,
        }
    }

    /// Only an administrator or the supervisor of `team_id`.
    pub fn require_supervisor_of(&self, team_id: Option<&str>) -> Result<(), Forbidden> {
        if self.supervises(team_id) {
            Ok(())
        } else {
            Err(Forbidden(
                "only an administrator or the supervisor of this team may do this".into(),
            ))
        }
    }

    /// Only the user `user_id` themself, the supervisor of their team (`team_id`), or an
    /// administrator. The rule for anything that belongs to one person (an account, and later an
    /// interviewer's assignments).
    pub fn require_self_or_supervisor(
        &self,
        user_id: &str,
        team_id: Option<&str>,
    ) -> Result<(), Forbidden> {
        if self.user_id == user_id || self.supervises(team_id) {
            Ok(())
        } else {
            Err(Forbidden(
                "only this user, their team's supervisor or an administrator may do this".into(),
            ))
        }
    }
}

/// Settings for accounts and sessions.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// How long a token is valid after sign-in (default 30 days).
    pub token_ttl: Duration,
    /// Argon2id cost for new password hashes.
    pub password: password::PasswordParams,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            password: password::PasswordParams::default(),
        }
    }
}

/// A sign-in request.
#[derive(Debug, Clone)]
pub struct SignIn<'a> {
    /// The username (compared after [`users::normalize_username`]).
    pub username: &'a str,
    /// The password.
    pub password: &'a str,
    /// The client's device id (a UUID it minted once), to register the device to this user.
    pub device_id: Option<&'a str>,
    /// A name for the device ("Redmi 12, Li Wei").
    pub device_name: Option<&'a str>,
}

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The bearer token (shown once; only its hash is stored).
    pub token: String,
    /// When it expires (ms since the epoch).
    pub expires_at: i64,
    /// The user.
    pub user: users::User,
    /// The registered device, if one was named.
    pub device: Option<devices::Device>,
}

/// Checks a username and password, registers the device (if any) to the user, and issues a token.
/// An unknown username costs the same password check as a wrong password, so the two cannot be
/// told apart by timing either.
pub fn sign_in(
    conn: &mut DbConnection,
    request: &SignIn<'_>,
    settings: &AuthSettings,
    now: i64,
) -> Result<SignedIn, StoreError> {
    let device_id = request
        .device_id
        .map(|d| store::parse_id(d, "device_id"))
        .transpose()?;
    let device_name = request.device_name.unwrap_or("").trim();
    if device_name.chars().count() > 200 {
        return Err(FieldError::new("device_name", "at most 200 characters").into());
    }
    let username = users::normalize_username(request.username).unwrap_or_default();
    let Some((user, hash)) = users::credentials(conn, &username)? else {
        password::verify_dummy(request.password);
        return Err(AuthError::BadCredentials.into());
    };
    if !password::verify(request.password, &hash) {
        return Err(AuthError::BadCredentials.into());
    }
    if user.disabled {
        return Err(AuthError::Disabled.into());
    }
    let ttl = i64::try_from(settings.token_ttl.as_millis()).unwrap_or(i64::MAX);
    db::write(conn, |conn| {
        let device = match &device_id {
            Some(id) => Some(devices::register(conn, id, &user.id, device_name, now)?),
            None => None,
        };
        let issued = tokens::issue(conn, &user.id, device_id.as_deref(), ttl, now)?;
        Ok(SignedIn {
            token: issued.token,
            expires_at: issued.expires_at,
            user,
            device,
        })
    })
}

/// A new account, as an administrator gives it.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    /// The username.
    pub username: &'a str,
    /// The name shown to people (default: the username).
    pub display_name: Option<&'a str>,
    /// The role.
    pub role: Role,
    /// The team's name (created if new). Required for supervisors, refused for administrators.
    pub team: Option<&'a str>,
    /// The password (checked by [`password::check_new`]).
    pub password: &'a str,
}

/// Creates an account: checks the username and password, hashes the password (outside any
/// transaction), stores the account.
pub fn create_account(
    conn: &mut DbConnection,
    new: &NewAccount<'_>,
    settings: &AuthSettings,
    now: i64,
) -> Result<users::User, StoreError> {
    users::normalize_username(new.username)?;
    password::check_new(new.password)?;
    let password_hash = password::hash(new.password, &settings.password)
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    users::create(
        conn,
        &users::NewUser {
            username: new.username,
            display_name: new.display_name,
            role: new.role,
            team: new.team,
            password_hash,
        },
        now,
    )
}

/// Sets a new password and revokes every token of the account (a reset password signs the user
/// out everywhere); returns how many tokens were revoked.
pub fn change_password(
    conn: &mut DbConnection,
    user_id: &str,
    new_password: &str,
    settings: &AuthSettings,
    now: i64,
) -> Result<usize, StoreError> {
    password::check_new(new_password)?;
    let hash = password::hash(new_password, &settings.password)
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    db::write(conn, |conn| {
        users::set_password(conn, user_id, &hash)?;
        tokens::revoke_all(conn, user_id, now)
    })
}

/// The actor behind a bearer token (see [`tokens::authenticate`]).
pub fn authenticate(conn: &mut DbConnection, token: &str, now: i64) -> Result<Actor, StoreError> {
    tokens::authenticate(conn, token, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, team: Option<&str>) -> Actor {
        Actor {
            user_id: "u-self".into(),
            username: "self".into(),
            role,
            team_id: team.map(String::from),
            device_id: None,
            token_hash: String::new(),
        }
    }

    #[test]
    fn administrators_may_do_everything() {
        let admin = actor(Role::Admin, None);
        assert!(admin.require_admin().is_ok());
        assert!(admin.require_role(&[Role::Supervisor]).is_ok());
        assert!(admin.require_supervisor_of(Some("north")).is_ok());
        assert!(admin.require_supervisor_of(None).is_ok());
        assert!(admin.require_self_or_supervisor("u-other", None).is_ok());
    }

    #[test]
    fn supervisors_see_their_own_team_only() {
        let sup = actor(Role::Supervisor, Some("north"));
        assert!(sup.require_admin().is_err());
        assert!(sup.require_role(&[Role::Supervisor]).is_ok());
        assert!(sup.require_supervisor_of(Some("north")).is_ok());
        assert!(sup.require_supervisor_of(Some("south")).is_err());
        assert!(sup.require_supervisor_of(None).is_err());
        assert!(
            sup.require_self_or_supervisor("u-other", Some("north"))
                .is_ok()
        );
        assert!(
            sup.require_self_or_supervisor("u-other", Some("south"))
                .is_err()
        );
        assert!(sup.require_self_or_supervisor("u-self", None).is_ok());
    }

    #[test]
    fn interviewers_see_only_themselves() {
        let int = actor(Role::Interviewer, Some("north"));
        assert!(int.require_admin().is_err());
        assert!(int.require_role(&[Role::Supervisor]).is_err());
        assert!(int.require_role(&[Role::Interviewer]).is_ok());
        assert!(int.require_supervisor_of(Some("north")).is_err());
        assert!(
            int.require_self_or_supervisor("u-self", Some("north"))
                .is_ok()
        );
        assert!(
            int.require_self_or_supervisor("u-other", Some("north"))
                .is_err()
        );
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [Role::Admin, Role::Supervisor, Role::Interviewer] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(
                serde_json::to_value(role).unwrap(),
                serde_json::json!(role.as_str())
            );
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn every_auth_error_has_its_own_code() {
        let all = [
            AuthError::Missing,
            AuthError::Invalid,
            AuthError::Expired,
            AuthError::Revoked,
            AuthError::Disabled,
            AuthError::BadCredentials,
        ];
        let codes: std::collections::BTreeSet<_> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), all.len());
    }
}
