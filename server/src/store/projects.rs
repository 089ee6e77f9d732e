//! Projects: one survey each, with a short unique code and free-form JSON settings.

use super::{FieldError, StoreError, new_id};
use crate::db::{self, DbConnection, schema::projects};
use diesel::prelude::*;

/// A project.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Its id (UUID).
    pub id: String,
    /// Its unique short code (`cgss2026`).
    pub code: String,
    /// Its name.
    pub name: String,
    /// Settings (a JSON object).
    pub settings: serde_json::Value,
    /// When it was created (ms since the epoch).
    pub created_at: i64,
}

/// A new project.
#[derive(Debug, Clone)]
pub struct NewProject<'a> {
    /// 1–32 characters: letters, digits, `_`, `-`.
    pub code: &'a str,
    /// 1–200 characters.
    pub name: &'a str,
    /// A JSON object (default `{}`).
    pub settings: Option<serde_json::Value>,
}

type Row = (String, String, String, String, i64);

fn from_row((id, code, name, settings, created_at): Row) -> Result<Project, StoreError> {
    let settings = serde_json::from_str(&settings).map_err(|e| {
        StoreError::Database(diesel::result::Error::DeserializationError(
            format!("project {code}: settings are not JSON: {e}").into(),
        ))
    })?;
    Ok(Project {
        id,
        code,
        name,
        settings,
        created_at,
    })
}

const COLUMNS: (
    projects::id,
    projects::code,
    projects::name,
    projects::settings,
    projects::created_at,
) = (
    projects::id,
    projects::code,
    projects::name,
    projects::settings,
    projects::created_at,
);

/// Checks a project code: 1–32 ASCII letters, digits, `_` or `-`.
pub fn check_code(code: &str) -> Result<(), FieldError> {
    if code.is_empty()
        || code.len() > 32
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(FieldError::new(
            "code",
            "a project code has 1 to 32 ASCII letters, digits, `_` or `-`",
        ));
    }
    Ok(())
}

/// Creates a project.
pub fn create(
    conn: &mut DbConnection,
    new: &NewProject<'_>,
    now: i64,
) -> Result<Project, StoreError> {
    check_code(new.code)?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(FieldError::new("name", "a project name has 1 to 200 characters").into());
    }
    let settings = new
        .settings
        .clone()
        .unwrap_or_else(|| serde_json::json!({}));
    if !settings.is_object() {
        return Err(FieldError::new("settings", "settings must be a JSON object").into());
    }
    let project = Project {
        id: new_id(),
        code: new.code.to_string(),
        name: name.to_string(),
        settings,
        created_at: now,
    };
    db::write(conn, |conn| {
        let taken = projects::table
            .filter(projects::code.eq(&project.code))
            .count()
            .get_result::<i64>(conn)?;
        if taken > 0 {
            return Err(StoreError::AlreadyExists {
                what: "project",
                field: "code",
            });
        }
        diesel::insert_into(projects::table)
            .values((
                projects::id.eq(&project.id),
                projects::code.eq(&project.code),
                projects::name.eq(&project.name),
                projects::settings.eq(project.settings.to_string()),
                projects::created_at.eq(now),
            ))
            .execute(conn)
            .map_err(|e| StoreError::unique(e, "project", "code"))?;
        Ok(project)
    })
}

/// All projects, by code.
pub fn list(conn: &mut DbConnection) -> Result<Vec<Project>, StoreError> {
    projects::table
        .order(projects::code.asc())
        .select(COLUMNS)
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect()
}

/// The project with this id.
pub fn by_id(conn: &mut DbConnection, id: &str) -> Result<Project, StoreError> {
    let row = projects::table
        .find(id)
        .select(COLUMNS)
        .first::<Row>(conn)
        .optional()?;
    from_row(row.ok_or(StoreError::NotFound { what: "project" })?)
}

/// The project with this code.
pub fn by_code(conn: &mut DbConnection, code: &str) -> Result<Project, StoreError> {
    let row = projects::table
        .filter(projects::code.eq(code))
        .select(COLUMNS)
        .first::<Row>(conn)
        .optional()?;
    from_row(row.ok_or(StoreError::NotFound { what: "project" })?)
}
