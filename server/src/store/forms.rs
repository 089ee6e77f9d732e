//! Questionnaires of a project: every uploaded version is kept (interviews name the version they
//! were answered with), stored as the form model's JSON with the SHA-256 of that JSON, so that
//! uploading the same form again is recognised and a changed form under an old version is refused.

use super::StoreError;
use crate::db::{self, DbConnection, schema::forms};
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use sync_core::form::model::Form;

/// One stored version of a form.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredForm {
    /// `settings.form_id`.
    pub form_id: String,
    /// `settings.version` (may be empty when the author gave none).
    pub version: String,
    /// `settings.form_title`.
    pub title: String,
    /// The form model.
    pub form: Form,
    /// Hex SHA-256 of the model's JSON.
    pub sha256: String,
    /// The uploaded file's name.
    pub source_name: String,
    /// Who uploaded it (user id).
    pub uploaded_by: String,
    /// When (ms since the epoch).
    pub uploaded_at: i64,
}

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// A new version was stored.
    Created,
    /// The same form (same model) was already stored under this version: nothing changed.
    Unchanged,
}

type Row = (String, String, String, String, String, String, String, i64);

const COLUMNS: (
    forms::form_id,
    forms::version,
    forms::title,
    forms::definition,
    forms::sha256,
    forms::source_name,
    forms::uploaded_by,
    forms::uploaded_at,
) = (
    forms::form_id,
    forms::version,
    forms::title,
    forms::definition,
    forms::sha256,
    forms::source_name,
    forms::uploaded_by,
    forms::uploaded_at,
);

fn from_row(row: Row) -> Result<StoredForm, StoreError> {
    let (form_id, version, title, definition, sha256, source_name, uploaded_by, uploaded_at) = row;
    let form: Form = serde_json::from_str(&definition).map_err(|e| {
        StoreError::Internal(format!(
            "stored form {form_id} {version} is not a form model: {e}"
        ))
    })?;
    Ok(StoredForm {
        form_id,
        version,
        title,
        form,
        sha256,
        source_name,
        uploaded_by,
        uploaded_at,
    })
}

/// Stores a version of a form. The same model under the same version again is
/// [`Upload::Unchanged`]; a different model under a stored version is refused
/// ([`StoreError::AlreadyExists`], field `version`): bump the version in the settings sheet.
pub fn upload(
    conn: &mut DbConnection,
    project: &str,
    form: &Form,
    source_name: &str,
    uploaded_by: &str,
    now: i64,
) -> Result<(StoredForm, Upload), StoreError> {
    let definition =
        serde_json::to_string(form).map_err(|e| StoreError::Internal(e.to_string()))?;
    let sha256: String = Sha256::digest(definition.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let stored = StoredForm {
        form_id: form.settings.form_id.clone(),
        version: form.settings.version.clone(),
        title: form.settings.form_title.clone(),
        form: form.clone(),
        sha256,
        source_name: source_name.to_string(),
        uploaded_by: uploaded_by.to_string(),
        uploaded_at: now,
    };
    db::write(conn, |conn| {
        let existing = forms::table
            .filter(forms::project_id.eq(project))
            .filter(forms::form_id.eq(&stored.form_id))
            .filter(forms::version.eq(&stored.version))
            .select(COLUMNS)
            .first::<Row>(conn)
            .optional()?;
        if let Some(row) = existing {
            let old = from_row(row)?;
            if old.sha256 == stored.sha256 {
                return Ok((old, Upload::Unchanged));
            }
            return Err(StoreError::AlreadyExists {
                what: "form version",
                field: "version",
            });
        }
        diesel::insert_into(forms::table)
            .values((
                forms::project_id.eq(project),
                forms::form_id.eq(&stored.form_id),
                forms::version.eq(&stored.version),
                forms::title.eq(&stored.title),
                forms::definition.eq(&definition),
                forms::sha256.eq(&stored.sha256),
                forms::source_name.eq(&stored.source_name),
                forms::uploaded_by.eq(&stored.uploaded_by),
                forms::uploaded_at.eq(now),
            ))
            .execute(conn)
            .map_err(|e| StoreError::unique(e, "form version", "version"))?;
        Ok((stored.clone(), Upload::Created))
    })
}

/// Every version of every form of a project, by form id then upload time.
pub fn list(conn: &mut DbConnection, project: &str) -> Result<Vec<StoredForm>, StoreError> {
    forms::table
        .filter(forms::project_id.eq(project))
        .order((forms::form_id.asc(), forms::uploaded_at.asc()))
        .select(COLUMNS)
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect()
}

/// One version of a form; `version: None` is the latest upload.
pub fn get(
    conn: &mut DbConnection,
    project: &str,
    form_id: &str,
    version: Option<&str>,
) -> Result<StoredForm, StoreError> {
    let q = forms::table
        .filter(forms::project_id.eq(project))
        .filter(forms::form_id.eq(form_id))
        .order(forms::uploaded_at.desc())
        .select(COLUMNS);
    let row = match version {
        Some(v) => q
            .filter(forms::version.eq(v))
            .first::<Row>(conn)
            .optional()?,
        None => q.first::<Row>(conn).optional()?,
    };
    from_row(row.ok_or(StoreError::NotFound { what: "form" })?)
}
