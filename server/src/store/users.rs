//! Accounts. Usernames are compared in lower case; password hashes never leave this module except
//! through [`credentials`].

use super::{FieldError, StoreError, new_id, teams};
use crate::auth::Role;
use crate::db::{
    self, DbConnection,
    schema::{teams as teams_table, users},
};
use diesel::prelude::*;

/// An account (without its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id (UUID).
    pub id: String,
    /// Its username (lower case).
    pub username: String,
    /// The name shown to people.
    pub display_name: String,
    /// What it may do.
    pub role: Role,
    /// Its team's id, if any.
    pub team_id: Option<String>,
    /// Its team's name, if any.
    pub team: Option<String>,
    /// Whether it may no longer sign in.
    pub disabled: bool,
    /// When it was created (ms since the epoch).
    pub created_at: i64,
}

/// A new account. Hash the password first ([`crate::auth::password::hash`]), outside any
/// transaction: it is deliberately slow.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// The username (normalised by [`normalize_username`]).
    pub username: &'a str,
    /// The name shown to people (default: the username).
    pub display_name: Option<&'a str>,
    /// The role.
    pub role: Role,
    /// The team's name (created if new). Required for supervisors, refused for administrators.
    pub team: Option<&'a str>,
    /// The Argon2id PHC string.
    pub password_hash: String,
}

type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    i64,
);

fn columns() -> (
    users::id,
    users::username,
    users::display_name,
    users::role,
    users::team_id,
    diesel::dsl::Nullable<teams_table::name>,
    users::disabled,
    users::created_at,
) {
    (
        users::id,
        users::username,
        users::display_name,
        users::role,
        users::team_id,
        teams_table::name.nullable(),
        users::disabled,
        users::created_at,
    )
}

fn from_row(row: Row) -> Result<User, StoreError> {
    let (id, username, display_name, role, team_id, team, disabled, created_at) = row;
    let role = Role::parse(&role).ok_or_else(|| {
        StoreError::Database(diesel::result::Error::DeserializationError(
            format!("user {id} has an unknown role `{role}`").into(),
        ))
    })?;
    Ok(User {
        id,
        username,
        display_name,
        role,
        team_id,
        team,
        disabled,
        created_at,
    })
}

/// Normalises a username: trimmed, lower case, 1–64 characters, letters, digits and `.`, `_`,
/// `-`, `@` only (Chinese names are letters).
pub fn normalize_username(username: &str) -> Result<String, FieldError> {
    let name = username.trim().to_lowercase();
    let n = name.chars().count();
    if n == 0 || n > 64 {
        return Err(FieldError::new(
            "username",
            "a username has 1 to 64 characters",
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
    {
        return Err(FieldError::new(
            "username",
            format!("`{c}` is not allowed: use letters, digits, `.`, `_`, `-`, `@`"),
        ));
    }
    Ok(name)
}

/// Creates an account (and its team, if new).
pub fn create(conn: &mut DbConnection, new: &NewUser<'_>, now: i64) -> Result<User, StoreError> {
    let username = normalize_username(new.username)?;
    let display_name = new
        .display_name
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or(&username)
        .to_string();
    if display_name.chars().count() > 100 || display_name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "display_name",
            "at most 100 characters, no control characters",
        )
        .into());
    }
    match (new.role, new.team) {
        (Role::Supervisor, None) => {
            return Err(FieldError::new("team", "a supervisor leads a team: name it").into());
        }
        (Role::Admin, Some(_)) => {
            return Err(FieldError::new("team", "an administrator belongs to no team").into());
        }
        _ => {}
    }
    db::write(conn, |conn| {
        let team = match new.team {
            Some(name) => Some(teams::get_or_create(conn, name, now)?),
            None => None,
        };
        let taken = users::table
            .filter(users::username.eq(&username))
            .count()
            .get_result::<i64>(conn)?;
        if taken > 0 {
            return Err(StoreError::AlreadyExists {
                what: "user",
                field: "username",
            });
        }
        let user = User {
            id: new_id(),
            username,
            display_name,
            role: new.role,
            team_id: team.as_ref().map(|t| t.id.clone()),
            team: team.map(|t| t.name),
            disabled: false,
            created_at: now,
        };
        diesel::insert_into(users::table)
            .values((
                users::id.eq(&user.id),
                users::username.eq(&user.username),
                users::display_name.eq(&user.display_name),
                users::role.eq(user.role.as_str()),
                users::team_id.eq(&user.team_id),
                users::password_hash.eq(&new.password_hash),
                users::disabled.eq(false),
                users::created_at.eq(now),
            ))
            .execute(conn)
            .map_err(|e| StoreError::unique(e, "user", "username"))?;
        Ok(user)
    })
}

/// The account and its password hash, by (normalised) username.
pub fn credentials(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<(User, String)>, StoreError> {
    let row = users::table
        .left_join(teams_table::table)
        .filter(users::username.eq(username))
        .select((columns(), users::password_hash))
        .first::<(Row, String)>(conn)
        .optional()?;
    row.map(|(row, hash)| Ok((from_row(row)?, hash)))
        .transpose()
}

/// The account with this id.
pub fn by_id(conn: &mut DbConnection, id: &str) -> Result<User, StoreError> {
    let row = users::table
        .left_join(teams_table::table)
        .filter(users::id.eq(id))
        .select(columns())
        .first::<Row>(conn)
        .optional()?;
    from_row(row.ok_or(StoreError::NotFound { what: "user" })?)
}

/// The account with this username (normalised first).
pub fn by_username(conn: &mut DbConnection, username: &str) -> Result<User, StoreError> {
    let username = normalize_username(username)?;
    let row = users::table
        .left_join(teams_table::table)
        .filter(users::username.eq(&username))
        .select(columns())
        .first::<Row>(conn)
        .optional()?;
    from_row(row.ok_or(StoreError::NotFound { what: "user" })?)
}

/// All accounts, by username.
pub fn list(conn: &mut DbConnection) -> Result<Vec<User>, StoreError> {
    users::table
        .left_join(teams_table::table)
        .order(users::username.asc())
        .select(columns())
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect()
}

/// The accounts in a team, by username.
pub fn in_team(conn: &mut DbConnection, team_id: &str) -> Result<Vec<User>, StoreError> {
    users::table
        .left_join(teams_table::table)
        .filter(users::team_id.eq(team_id))
        .order(users::username.asc())
        .select(columns())
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect()
}

/// How many accounts there are.
pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(users::table.count().get_result(conn)?)
}

/// Replaces an account's password hash.
pub fn set_password(
    conn: &mut DbConnection,
    user_id: &str,
    password_hash: &str,
) -> Result<(), StoreError> {
    let n = diesel::update(users::table.find(user_id))
        .set(users::password_hash.eq(password_hash))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound { what: "user" });
    }
    Ok(())
}

/// Disables or re-enables an account (a disabled account's tokens stop working at once).
pub fn set_disabled(
    conn: &mut DbConnection,
    user_id: &str,
    disabled: bool,
) -> Result<(), StoreError> {
    let n = diesel::update(users::table.find(user_id))
        .set(users::disabled.eq(disabled))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound { what: "user" });
    }
    Ok(())
}
