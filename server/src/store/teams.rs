//! Teams: a supervisor leads one, interviewers belong to one. Created on first mention (adding a
//! user with a team that does not exist yet creates it).

use super::{FieldError, StoreError, new_id};
use crate::db::{self, DbConnection, schema::teams};
use diesel::prelude::*;

/// A team.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = teams)]
pub struct Team {
    /// Its id (UUID).
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// When it was created (ms since the epoch).
    pub created_at: i64,
}

/// Checks a team name: trimmed, 1–64 characters.
pub fn normalize_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > 64 {
        return Err(FieldError::new(
            "team",
            "a team name has 1 to 64 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new("team", "no control characters"));
    }
    Ok(name.to_string())
}

/// The team with this name, if any.
pub fn by_name(conn: &mut DbConnection, name: &str) -> Result<Option<Team>, StoreError> {
    Ok(teams::table
        .filter(teams::name.eq(name))
        .select(Team::as_select())
        .get_result(conn)
        .optional()?)
}

/// The team with this id.
pub fn by_id(conn: &mut DbConnection, id: &str) -> Result<Team, StoreError> {
    teams::table
        .find(id)
        .select(Team::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(StoreError::NotFound { what: "team" })
}

/// The team with this name, created if it does not exist (if another process creates it at the
/// same moment, that one is returned).
pub fn get_or_create(conn: &mut DbConnection, name: &str, now: i64) -> Result<Team, StoreError> {
    let name = normalize_name(name)?;
    db::write(conn, |conn| {
        if let Some(team) = by_name(conn, &name)? {
            return Ok(team);
        }
        let team = Team {
            id: new_id(),
            name,
            created_at: now,
        };
        // A savepoint: losing the race to a concurrent insert leaves the transaction usable.
        let inserted = db::write(conn, |conn| {
            diesel::insert_into(teams::table)
                .values((
                    teams::id.eq(&team.id),
                    teams::name.eq(&team.name),
                    teams::created_at.eq(team.created_at),
                ))
                .execute(conn)
                .map_err(|e| StoreError::unique(e, "team", "name"))
        });
        match inserted {
            Ok(_) => Ok(team),
            Err(StoreError::AlreadyExists { .. }) => {
                by_name(conn, &team.name)?.ok_or(StoreError::NotFound { what: "team" })
            }
            Err(e) => Err(e),
        }
    })
}

/// All teams, by name.
pub fn list(conn: &mut DbConnection) -> Result<Vec<Team>, StoreError> {
    Ok(teams::table
        .order(teams::name.asc())
        .select(Team::as_select())
        .load(conn)?)
}
