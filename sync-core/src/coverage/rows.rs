//! The light input of a coverage report: one row per area, dwelling and case, holding only what
//! coverage needs. The server can fill them straight from its tables; [`AreaInfo::from_entity`],
//! [`DwellingRow::from_entity`] and [`CaseRow::from_entity`] read them from synced entities.

use crate::aapor::{Disposition, final_disposition};
use crate::fieldwork::field;
use crate::listing::Occupancy;
use crate::sync::{Entity, EntityKind, FieldValue, InterviewStatus, Position};
use geo::MultiPolygon;
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Fields of an area entity read by coverage (areas are not yet described in
/// [`crate::fieldwork`]; these names follow the listing's `Area`).
pub mod area_field {
    /// The area's code.
    pub const CODE: &str = "code";
    /// The area's name.
    pub const NAME: &str = "name";
    /// The stratum; `design/stratum` is read too.
    pub const STRATUM: &str = "stratum";
    /// Measure of size: the number of dwellings expected (registered households).
    pub const MEASURE_OF_SIZE: &str = "measure_of_size";
    /// The fieldwork team.
    pub const TEAM: &str = "team";
    /// The supervisor (user id or name).
    pub const SUPERVISOR: &str = "supervisor";
    /// The boundary as GeoJSON geometry text (WGS-84).
    pub const BOUNDARY: &str = "boundary";
}

/// Why an entity could not be read as a coverage row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowError {
    /// The entity is of another kind.
    #[error("entity {id} is a {found}, expected a {expected}")]
    WrongKind {
        id: Uuid,
        expected: &'static str,
        found: String,
    },
    /// A field coverage needs is missing.
    #[error("entity {id} has no {field:?}")]
    MissingField { id: Uuid, field: String },
    /// A field holds something coverage cannot read.
    #[error("entity {id}, field {field:?}: {message}")]
    BadField {
        id: Uuid,
        field: String,
        message: String,
    },
}

impl RowError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            RowError::WrongKind { .. } => "wrong_entity_kind",
            RowError::MissingField { .. } => "missing_field",
            RowError::BadField { .. } => "bad_field",
        }
    }
}

/// An area (PSU) as coverage sees it.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct AreaInfo {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub stratum: Option<String>,
    /// Measure of size: the number of dwellings the area is expected to hold.
    pub expected: Option<f64>,
    pub team: Option<String>,
    pub supervisor: Option<String>,
    /// Boundary in WGS-84, for the map.
    #[serde(skip)]
    pub boundary: Option<MultiPolygon<f64>>,
}

/// A listed dwelling as coverage sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct DwellingRow {
    pub id: Uuid,
    pub area: Uuid,
    pub listing_number: Option<u32>,
    pub position: Option<Position>,
    pub occupancy: Occupancy,
    /// Deleted, or split or merged away: not counted as listed, not drawn on the map.
    pub retired: bool,
}

/// One recorded visit of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRow {
    /// When, ms since the Unix epoch.
    pub at: Option<i64>,
    /// The outcome of the visit.
    pub result: Option<Disposition>,
    /// Where the phone was.
    pub position: Option<Position>,
}

/// A case (the interview of one sampled dwelling or household) as coverage sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseRow {
    pub id: Uuid,
    pub area: Uuid,
    pub dwelling: Option<Uuid>,
    /// The case's own stratum (`design/stratum`); else its area's.
    pub stratum: Option<String>,
    /// Form id: duration outliers are judged among cases of the same form.
    pub form: Option<String>,
    pub interviewer: Option<Uuid>,
    pub status: Option<InterviewStatus>,
    /// The recorded final (or current) disposition.
    pub disposition: Option<Disposition>,
    /// Visits, oldest first.
    pub visits: Vec<VisitRow>,
    /// When the interview started and ended, ms since the Unix epoch.
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// The interview's GPS fix.
    pub position: Option<Position>,
    /// Where the dwelling was mapped, when the case carries it; else coverage looks the dwelling
    /// up among the dwelling rows.
    pub dwelling_position: Option<Position>,
    /// A deleted case counts nowhere.
    pub deleted: bool,
}

impl CaseRow {
    /// The case's outcome: the recorded disposition, else the final disposition of its visit
    /// results ([`final_disposition`]), else `None` (not yet worked).
    pub fn outcome(&self) -> Option<Disposition> {
        self.disposition.or_else(|| {
            let results: Vec<Disposition> = self.visits.iter().filter_map(|v| v.result).collect();
            final_disposition(&results)
        })
    }

    /// Interview duration in ms, when both times are known.
    pub fn duration_ms(&self) -> Option<i64> {
        Some(self.ended_at? - self.started_at?)
    }
}

fn check_kind(e: &Entity, expected: EntityKind) -> Result<(), RowError> {
    if e.kind == expected {
        Ok(())
    } else {
        Err(RowError::WrongKind {
            id: e.id,
            expected: match expected {
                EntityKind::Area => "area",
                EntityKind::Dwelling => "dwelling",
                _ => "interview",
            },
            found: e.kind.to_string(),
        })
    }
}

fn bad(e: &Entity, field: &str, message: impl Into<String>) -> RowError {
    RowError::BadField {
        id: e.id,
        field: field.to_string(),
        message: message.into(),
    }
}

/// Non-empty text of a field.
fn text<'e>(e: &'e Entity, field: &str) -> Option<&'e str> {
    e.text(field).map(str::trim).filter(|s| !s.is_empty())
}

fn uuid_field(e: &Entity, field: &str) -> Result<Option<Uuid>, RowError> {
    match e.get(field) {
        None | Some(FieldValue::Null) => Ok(None),
        Some(FieldValue::Text(s)) if s.trim().is_empty() => Ok(None),
        Some(FieldValue::Text(s)) => Uuid::try_parse(s.trim())
            .map(Some)
            .map_err(|_| bad(e, field, format!("{s:?} is not a UUID"))),
        Some(other) => Err(bad(e, field, format!("expected a UUID, found {other:?}"))),
    }
}

fn number(v: &FieldValue) -> Option<f64> {
    match v {
        FieldValue::Int(n) => Some(*n as f64),
        FieldValue::Float(x) if x.is_finite() => Some(*x),
        FieldValue::Text(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

fn number_field(e: &Entity, field: &str) -> Result<Option<f64>, RowError> {
    match e.get(field) {
        None | Some(FieldValue::Null) => Ok(None),
        Some(v) => number(v)
            .map(Some)
            .ok_or_else(|| bad(e, field, format!("expected a number, found {v:?}"))),
    }
}

fn millis(e: &Entity, field: &str) -> Result<Option<i64>, RowError> {
    Ok(number_field(e, field)?.map(|x| x.round() as i64))
}

fn position(e: &Entity, field: &str) -> Option<Position> {
    e.get(field)
        .and_then(FieldValue::as_position)
        .filter(|p| p.is_valid())
        .copied()
}

/// Reads a disposition from text (`"2.11"`) or a number a spreadsheet made of it (`2.11`).
pub(crate) fn disposition_value(v: &FieldValue) -> Result<Option<Disposition>, String> {
    let text = match v {
        FieldValue::Null => return Ok(None),
        FieldValue::Text(s) if s.trim().is_empty() => return Ok(None),
        FieldValue::Text(s) => s.clone(),
        FieldValue::Float(x) => x.to_string(),
        FieldValue::Int(n) => n.to_string(),
        other => return Err(format!("expected a disposition code, found {other:?}")),
    };
    text.parse::<Disposition>()
        .map(Some)
        .map_err(|e| e.to_string())
}

impl AreaInfo {
    /// Reads an area entity: `code`, `name`, `stratum` (or `design/stratum`), `measure_of_size`,
    /// `team`, `supervisor`, `boundary` (GeoJSON geometry text). See [`area_field`].
    pub fn from_entity(e: &Entity) -> Result<AreaInfo, RowError> {
        check_kind(e, EntityKind::Area)?;
        let code = text(e, area_field::CODE)
            .or_else(|| text(e, field::AREA_CODE))
            .ok_or_else(|| RowError::MissingField {
                id: e.id,
                field: area_field::CODE.into(),
            })?;
        let boundary = match text(e, area_field::BOUNDARY) {
            None => None,
            Some(gj) => {
                let g: geojson::Geometry = gj
                    .parse()
                    .map_err(|err| bad(e, area_field::BOUNDARY, format!("{err}")))?;
                let mp = match MultiPolygon::<f64>::try_from(&g.value) {
                    Ok(mp) => mp,
                    Err(_) => geo::Polygon::<f64>::try_from(&g.value)
                        .map(|p| MultiPolygon(vec![p]))
                        .map_err(|err| bad(e, area_field::BOUNDARY, format!("{err}")))?,
                };
                Some(mp)
            }
        };
        Ok(AreaInfo {
            id: e.id,
            code: code.to_string(),
            name: text(e, area_field::NAME).unwrap_or_default().to_string(),
            stratum: text(e, area_field::STRATUM)
                .or_else(|| text(e, field::STRATUM))
                .map(str::to_string),
            expected: number_field(e, area_field::MEASURE_OF_SIZE)?,
            team: text(e, area_field::TEAM).map(str::to_string),
            supervisor: text(e, area_field::SUPERVISOR).map(str::to_string),
            boundary,
        })
    }
}

impl DwellingRow {
    /// Reads a dwelling entity (fields of [`crate::fieldwork::dwelling`]). The area is the `area`
    /// field, else the entity's scope; an occupancy word mapframe does not know reads as unknown.
    pub fn from_entity(e: &Entity) -> Result<DwellingRow, RowError> {
        check_kind(e, EntityKind::Dwelling)?;
        let area = uuid_field(e, field::AREA)?.unwrap_or(e.scope);
        let listing_number = match number_field(e, field::LISTING_NUMBER)? {
            None => None,
            Some(n) if n >= 0.0 && n <= f64::from(u32::MAX) && n.fract() == 0.0 => Some(n as u32),
            Some(n) => {
                return Err(bad(
                    e,
                    field::LISTING_NUMBER,
                    format!("{n} is not a listing number"),
                ));
            }
        };
        Ok(DwellingRow {
            id: e.id,
            area,
            listing_number,
            position: position(e, field::POSITION),
            occupancy: text(e, field::OCCUPANCY)
                .and_then(Occupancy::parse)
                .unwrap_or(Occupancy::Unknown),
            retired: e.deleted || e.is_retired(),
        })
    }
}

impl CaseRow {
    /// Reads an interview entity (fields of [`crate::fieldwork::CaseFields`], plus what
    /// fieldwork adds: `interviewer`, `status`, `disposition`, `started_at`, `ended_at`, visits).
    ///
    /// Positions: a case is created with its dwelling's mapped point in `position` (no accuracy,
    /// see [`crate::fieldwork::point`]); the phone records its fix in `gps`. Older data without
    /// `gps`: a `position` with an accuracy is taken as the fix, and otherwise the last visit's
    /// position that has one.
    pub fn from_entity(e: &Entity) -> Result<CaseRow, RowError> {
        check_kind(e, EntityKind::Interview)?;
        let area = uuid_field(e, field::AREA)?.ok_or_else(|| RowError::MissingField {
            id: e.id,
            field: field::AREA.into(),
        })?;
        let status = match text(e, crate::sync::entity::STATUS_FIELD) {
            None => None,
            Some(w) => Some(InterviewStatus::parse(w).ok_or_else(|| {
                bad(
                    e,
                    crate::sync::entity::STATUS_FIELD,
                    format!("{w:?} is not an interview status"),
                )
            })?),
        };
        let disposition = match e.get(field::DISPOSITION) {
            None => None,
            Some(v) => disposition_value(v).map_err(|m| bad(e, field::DISPOSITION, m))?,
        };
        let visits = visits(e)?;
        let own = position(e, field::POSITION);
        let (fix, mapped) = match own {
            _ if position(e, field::GPS).is_some() => (position(e, field::GPS), own),
            Some(p) if p.accuracy_m.is_some() => (Some(p), None),
            other => (
                visits
                    .iter()
                    .rev()
                    .find_map(|v| v.position.filter(|p| p.accuracy_m.is_some())),
                other,
            ),
        };
        Ok(CaseRow {
            id: e.id,
            area,
            dwelling: uuid_field(e, field::DWELLING)?,
            stratum: text(e, field::STRATUM).map(str::to_string),
            form: text(e, field::FORM).map(str::to_string),
            interviewer: uuid_field(e, field::INTERVIEWER)?,
            status,
            disposition,
            visits,
            started_at: millis(e, field::STARTED_AT)?,
            ended_at: millis(e, field::ENDED_AT)?,
            position: fix,
            dwelling_position: mapped,
            deleted: e.deleted,
        })
    }
}

/// The visits of an interview entity, oldest first (by time, then by visit id); removed visits
/// (`_removed`) are left out.
fn visits(e: &Entity) -> Result<Vec<VisitRow>, RowError> {
    let prefix = format!("{}[", field::VISITS);
    let mut by_id: BTreeMap<Uuid, (VisitRow, bool)> = BTreeMap::new();
    for (key, value) in e.fields.range(prefix.clone()..) {
        if !key.starts_with(&prefix) {
            break;
        }
        let rest = &key[prefix.len()..];
        let Some((id, name)) = rest.split_once("]/") else {
            continue;
        };
        let Ok(id) = Uuid::try_parse(id) else {
            continue;
        };
        let (visit, removed) = by_id.entry(id).or_insert_with(|| {
            (
                VisitRow {
                    at: None,
                    result: None,
                    position: None,
                },
                false,
            )
        });
        match name {
            field::VISIT_AT => visit.at = number(value).map(|x| x.round() as i64),
            field::VISIT_RESULT => {
                visit.result = disposition_value(value).map_err(|m| bad(e, key, m))?;
            }
            "position" => visit.position = value.as_position().filter(|p| p.is_valid()).copied(),
            "_removed" => *removed = value == &FieldValue::Bool(true),
            _ => {}
        }
    }
    let mut out: Vec<(Uuid, VisitRow)> = by_id
        .into_iter()
        .filter(|(_, (_, removed))| !removed)
        .map(|(id, (v, _))| (id, v))
        .collect();
    out.sort_by_key(|(id, v)| (v.at.unwrap_or(i64::MAX), *id));
    Ok(out.into_iter().map(|(_, v)| v).collect())
}
