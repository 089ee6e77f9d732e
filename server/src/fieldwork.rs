//! The frame and the sample on the server: areas, the listing as sync entities, frozen frames,
//! multi-stage draws that create cases, and assignments.
//!
//! Buildings, dwellings, cases and assignments are sync entities (see `sync_core::fieldwork`):
//! the server creates them with [`sync::act`] — the same log, merge and acknowledgements as a
//! phone's operations — so phones pull them like any other change. Areas (boundaries, measures of
//! size) are rows of their own. Every function here runs in one transaction: a refused import or
//! draw leaves nothing behind.

use crate::auth::Actor;
use crate::db::schema::{areas, frames, samples, sync_entities};
use crate::db::{self, DbConnection};
use crate::store::{StoreError, new_id};
use crate::sync;
use diesel::prelude::*;
use std::collections::{BTreeMap, HashMap};
use sync_core::fieldwork::{self, CaseFields, field};
use sync_core::ids::AreaId;
use sync_core::listing::{Area, Listing};
use sync_core::sampling::frame::Frame;
use sync_core::sampling::multistage::{MultiStageDesign, MultiStageDraw, draw_multistage};
use sync_core::serpentine::{NumberingOptions, number};
use sync_core::sync::{AckStatus, Entity, EntityKind, FieldValue, OpBody, Target};
use uuid::Uuid;

/// Namespace of the ids the server derives (cases, assignments), so that drawing or assigning
/// twice names the same entities.
const NAMESPACE: Uuid = Uuid::from_u128(0x6d61_7066_7261_6d65_0000_0000_0000_0001);

fn derived_id(parts: &[&str]) -> Uuid {
    Uuid::new_v5(&NAMESPACE, parts.join("/").as_bytes())
}

fn json_err(what: &str, e: serde_json::Error) -> StoreError {
    StoreError::Internal(format!("stored {what} is not valid JSON: {e}"))
}

/// What a listing import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    /// Areas created.
    pub areas_created: usize,
    /// Areas already known (by code) and kept as they were.
    pub areas_kept: usize,
    /// Buildings created.
    pub buildings: usize,
    /// Dwellings created.
    pub dwellings: usize,
    /// Buildings and dwellings already in the project (same ids): left as they are, since the
    /// field may have changed them.
    pub unchanged: usize,
    /// Creations the merge refused (kept as refusals with their reason).
    pub refused: usize,
}

/// The project's areas, by code.
pub fn areas(conn: &mut DbConnection, project: &str) -> Result<Vec<Area>, StoreError> {
    areas::table
        .filter(areas::project_id.eq(project))
        .order(areas::code.asc())
        .select(areas::body)
        .load::<String>(conn)?
        .iter()
        .map(|b| serde_json::from_str(b).map_err(|e| json_err("area", e)))
        .collect()
}

/// Imports a listing read from GeoJSON: its areas (kept when their code is already known — the
/// listing's buildings and dwellings then go to the known area), then a building and a dwelling
/// entity for each one not yet in the project.
pub fn import_listing(
    conn: &mut DbConnection,
    project: &str,
    actor: &Actor,
    mut listing: Listing,
    now: i64,
) -> Result<ImportSummary, StoreError> {
    db::write(conn, |conn| {
        sync::lock_project(conn, project)?;
        let mut summary = ImportSummary::default();
        let known: HashMap<String, Area> = areas(conn, project)?
            .into_iter()
            .map(|a| (a.code.clone(), a))
            .collect();
        let mut remap: HashMap<AreaId, AreaId> = HashMap::new();
        for a in &listing.areas {
            if let Some(k) = known.get(&a.code) {
                remap.insert(a.id, k.id);
                summary.areas_kept += 1;
                continue;
            }
            let body = serde_json::to_string(a).map_err(|e| json_err("area", e))?;
            diesel::insert_into(areas::table)
                .values((
                    areas::project_id.eq(project),
                    areas::id.eq(a.id.to_string()),
                    areas::code.eq(&a.code),
                    areas::name.eq(&a.name),
                    areas::stratum.eq(a.stratum.as_deref()),
                    areas::body.eq(body),
                ))
                .execute(conn)
                .map_err(|e| StoreError::unique(e, "area", "code"))?;
            summary.areas_created += 1;
        }
        for b in &mut listing.buildings {
            b.area = *remap.get(&b.area).unwrap_or(&b.area);
        }
        for d in &mut listing.dwellings {
            d.area = *remap.get(&d.area).unwrap_or(&d.area);
        }
        let codes: HashMap<AreaId, String> = areas(conn, project)?
            .into_iter()
            .map(|a| (a.id, a.code))
            .collect();
        let existing: std::collections::HashSet<String> = sync_entities::table
            .filter(sync_entities::project_id.eq(project))
            .filter(sync_entities::kind.eq_any(["building", "dwelling"]))
            .select(sync_entities::id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let mut actions = Vec::new();
        let code = |a: &AreaId| codes.get(a).cloned().unwrap_or_default();
        for b in &listing.buildings {
            if existing.contains(&b.id.to_string()) {
                summary.unchanged += 1;
                continue;
            }
            actions.push((
                Target::new(EntityKind::Building, b.id.uuid()),
                OpBody::Create {
                    scope: b.area.uuid(),
                    fields: fieldwork::building(b, &code(&b.area)),
                },
            ));
            summary.buildings += 1;
        }
        for d in &listing.dwellings {
            if existing.contains(&d.id.to_string()) {
                summary.unchanged += 1;
                continue;
            }
            actions.push((
                Target::new(EntityKind::Dwelling, d.id.uuid()),
                OpBody::Create {
                    scope: d.area.uuid(),
                    fields: fieldwork::dwelling(d, &code(&d.area)),
                },
            ));
            summary.dwellings += 1;
        }
        let acks = sync::act_unscoped(conn, project, actor, &actions, now)?;
        summary.refused = acks
            .iter()
            .filter(|a| matches!(a.status, AckStatus::Refused { .. }))
            .count();
        Ok(summary)
    })
}

/// Live (not deleted) entities of a kind, optionally of one area, by id.
pub fn entities(
    conn: &mut DbConnection,
    project: &str,
    kind: &str,
    area: Option<&str>,
) -> Result<Vec<Entity>, StoreError> {
    bodies(conn, project, kind, area)?
        .iter()
        .map(|b| serde_json::from_str(b).map_err(|e| json_err("entity", e)))
        .collect()
}

/// The stored JSON of the live entities of a kind (of one area), by id.
fn bodies(
    conn: &mut DbConnection,
    project: &str,
    kind: &str,
    area: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let q = sync_entities::table
        .filter(sync_entities::project_id.eq(project))
        .filter(sync_entities::kind.eq(kind))
        .filter(sync_entities::deleted.eq(false))
        .order(sync_entities::id.asc())
        .select(sync_entities::body);
    Ok(match area {
        Some(a) => q.filter(sync_entities::area.eq(a)).load(conn)?,
        None => q.load(conn)?,
    })
}

/// An entity's current values only, read without its provenance and conflict records: what
/// coverage and exports need. (A whole entity carries every field's heads and keeps unknown
/// members through a flattened map, which makes reading it several times slower.)
#[derive(serde::Deserialize)]
struct Values {
    kind: EntityKind,
    id: uuid::Uuid,
    scope: uuid::Uuid,
    #[serde(default)]
    version: u64,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    fields: BTreeMap<String, FieldValue>,
}

/// Live entities of a kind with their current values only (no provenance, no conflict records),
/// by id: for coverage and exports.
pub fn entity_values(
    conn: &mut DbConnection,
    project: &str,
    kind: &str,
) -> Result<Vec<Entity>, StoreError> {
    bodies(conn, project, kind, None)?
        .iter()
        .map(|b| {
            let v: Values = serde_json::from_str(b).map_err(|e| json_err("entity", e))?;
            let mut e = Entity::new(v.kind, v.id, v.scope);
            e.version = v.version;
            e.deleted = v.deleted;
            e.fields = v.fields;
            Ok(e)
        })
        .collect()
}

/// The listing as it stands now: the project's areas with the live buildings and dwellings (split
/// or merged-away dwellings left out).
pub fn current_listing(conn: &mut DbConnection, project: &str) -> Result<Listing, StoreError> {
    let areas = areas(conn, project)?;
    let buildings = entities(conn, project, "building", None)?
        .iter()
        .map(fieldwork::building_of)
        .collect();
    let dwellings = entities(conn, project, "dwelling", None)?
        .iter()
        .filter(|e| !e.is_retired())
        .map(fieldwork::dwelling_of)
        .collect();
    Ok(Listing {
        areas,
        buildings,
        dwellings,
        ..Listing::default()
    })
}

/// A frozen frame.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct FrozenFrame {
    /// Its id.
    pub id: String,
    /// The frame's content hash (SHA-256 over every unit's id, stratum, size and order).
    pub hash: String,
    /// Dwellings in the frame (vacant ones included; business and non-dwellings left out).
    pub dwellings: u64,
    /// Areas.
    pub areas: usize,
    /// When (ms since the epoch).
    pub created_at: i64,
}

/// Freezes the listing as it stands: numbered in serpentine order, its frame hashed, stored.
pub fn freeze(
    conn: &mut DbConnection,
    project: &str,
    actor: &Actor,
    now: i64,
) -> Result<FrozenFrame, StoreError> {
    db::write(conn, |conn| {
        let mut listing = current_listing(conn, project)?;
        if listing.dwellings.is_empty() {
            return Err(StoreError::Invalid(crate::store::FieldError::new(
                "listing",
                "the project has no listed dwellings to freeze",
            )));
        }
        number(&listing, &NumberingOptions::default()).apply(&mut listing);
        let frame = Frame::from_listing(&listing, true)
            .map_err(|e| StoreError::Invalid(crate::store::FieldError::new("listing", e)))?;
        let frozen = FrozenFrame {
            id: new_id(),
            hash: frame.hash(),
            dwellings: frame.units().len() as u64,
            areas: listing.areas.len(),
            created_at: now,
        };
        let body = serde_json::to_string(&listing).map_err(|e| json_err("listing", e))?;
        diesel::insert_into(frames::table)
            .values((
                frames::project_id.eq(project),
                frames::id.eq(&frozen.id),
                frames::hash.eq(&frozen.hash),
                frames::dwellings.eq(frozen.dwellings as i64),
                frames::listing.eq(body),
                frames::created_by.eq(&actor.user_id),
                frames::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(frozen)
    })
}

/// The latest frozen frame and its listing.
pub fn latest_frame(
    conn: &mut DbConnection,
    project: &str,
) -> Result<(FrozenFrame, Listing), StoreError> {
    let row: Option<(String, String, i64, String, i64)> = frames::table
        .filter(frames::project_id.eq(project))
        .order(frames::created_at.desc())
        .select((
            frames::id,
            frames::hash,
            frames::dwellings,
            frames::listing,
            frames::created_at,
        ))
        .first(conn)
        .optional()?;
    let (id, hash, dwellings, listing, created_at) = row.ok_or(StoreError::NotFound {
        what: "frozen frame",
    })?;
    let listing: Listing = serde_json::from_str(&listing).map_err(|e| json_err("frame", e))?;
    Ok((
        FrozenFrame {
            id,
            hash,
            dwellings: dwellings as u64,
            areas: listing.areas.len(),
            created_at,
        },
        listing,
    ))
}

/// A drawn sample.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct SampleSummary {
    /// Its id.
    pub id: String,
    /// The frame it was drawn from.
    pub frame_id: String,
    /// The frame's hash.
    pub frame_hash: String,
    /// The seed.
    pub seed: u64,
    /// PSUs selected.
    pub psus: usize,
    /// Households selected (main and reserve).
    pub households: usize,
    /// Cases created (released households).
    pub cases: usize,
}

/// Draws a multi-stage sample from the latest frozen frame and creates a case for every released
/// household, with its design variables.
pub fn draw(
    conn: &mut DbConnection,
    project: &str,
    actor: &Actor,
    design: &MultiStageDesign,
    seed: u64,
    form_id: Option<&str>,
    now: i64,
) -> Result<SampleSummary, StoreError> {
    db::write(conn, |conn| {
        let (frame, listing) = latest_frame(conn, project)?;
        let drawn = draw_multistage(&listing, design, seed).map_err(|e| {
            StoreError::Invalid(crate::store::FieldError::new("design", e.to_string()))
        })?;
        let id = new_id();
        let body = serde_json::to_string(&drawn).map_err(|e| json_err("draw", e))?;
        diesel::insert_into(samples::table)
            .values((
                samples::project_id.eq(project),
                samples::id.eq(&id),
                samples::frame_id.eq(&frame.id),
                samples::form_id.eq(form_id),
                samples::draw.eq(body),
                samples::created_by.eq(&actor.user_id),
                samples::created_at.eq(now),
            ))
            .execute(conn)?;
        let actions = case_actions(&id, &listing, &drawn, form_id);
        let cases = actions.len();
        sync::act_unscoped(conn, project, actor, &actions, now)?;
        Ok(SampleSummary {
            id,
            frame_id: frame.id,
            frame_hash: frame.hash,
            seed,
            psus: drawn.psus.len(),
            households: drawn.households.len(),
            cases,
        })
    })
}

/// The `create` of a case per released household of a draw.
fn case_actions(
    sample: &str,
    listing: &Listing,
    drawn: &MultiStageDraw,
    form_id: Option<&str>,
) -> Vec<(Target, OpBody)> {
    let areas: HashMap<&str, &Area> = listing.areas.iter().map(|a| (a.code.as_str(), a)).collect();
    let dwellings: HashMap<_, _> = listing.dwellings.iter().map(|d| (d.id, d)).collect();
    let mut out = Vec::new();
    for h in drawn.households.iter().filter(|h| h.released) {
        let Some(area) = areas.get(h.area.as_str()) else {
            continue;
        };
        let id = derived_id(&[sample, &h.dwelling.to_string(), &h.household.to_string()]);
        let d = dwellings.get(&h.dwelling);
        let case = CaseFields {
            area: area.id.to_string(),
            area_code: area.code.clone(),
            dwelling: h.dwelling.to_string(),
            household: Some(h.household.to_string()),
            form: form_id.map(str::to_string),
            form_version: None,
            stratum: h.stratum.clone(),
            psu: h.area.clone(),
            segment: h.segment.clone(),
            stage_probs: vec![
                h.probs.psu,
                h.probs.segment,
                h.probs.dwelling,
                h.probs.household,
            ],
            base_weight: h.base_weight,
            replicate: h.replicate,
            position: d.and_then(|d| d.location),
            listing_number: Some(h.listing_number),
        };
        let mut fields: BTreeMap<String, FieldValue> = case.fields();
        fields.insert("sample".into(), FieldValue::text(sample));
        out.push((
            Target::new(EntityKind::Interview, id),
            OpBody::Create { scope: id, fields },
        ));
    }
    out
}

/// What an assignment did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct AssignmentSummary {
    /// The assignment entity's id.
    pub id: String,
    /// The area's id.
    pub area: String,
    /// The interviewer's user id.
    pub interviewer: String,
    /// `listing` or `interviewing`.
    pub task: String,
    /// Cases of the area now assigned to the interviewer.
    pub cases: usize,
}

/// Assigns an area to an interviewer: an assignment entity (which gives their phone the area's
/// listing), and for `interviewing` every case of the area not yet approved.
pub fn assign(
    conn: &mut DbConnection,
    project: &str,
    actor: &Actor,
    area: &Area,
    interviewer: &str,
    task: &str,
    now: i64,
) -> Result<AssignmentSummary, StoreError> {
    db::write(conn, |conn| {
        let id = derived_id(&[project, &area.id.to_string(), interviewer, task]);
        let mut actions = Vec::new();
        let exists = sync_entities::table
            .filter(sync_entities::project_id.eq(project))
            .filter(sync_entities::id.eq(id.to_string()))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if !exists {
            let mut fields = BTreeMap::new();
            fields.insert(field::INTERVIEWER.into(), FieldValue::text(interviewer));
            fields.insert(field::AREA.into(), FieldValue::text(area.id.to_string()));
            fields.insert(field::AREA_CODE.into(), FieldValue::text(area.code.clone()));
            fields.insert(field::TASK.into(), FieldValue::text(task));
            actions.push((
                Target::new(EntityKind::Assignment, id),
                OpBody::Create {
                    scope: area.id.uuid(),
                    fields,
                },
            ));
        }
        let mut cases = 0;
        if task == "interviewing" {
            for case in entities(conn, project, "interview", Some(&area.id.to_string()))? {
                if case.status() == Some("approved") {
                    continue;
                }
                let old = case.get(field::INTERVIEWER).cloned().unwrap_or_default();
                cases += 1;
                if old == FieldValue::text(interviewer) {
                    continue;
                }
                actions.push((
                    Target::new(EntityKind::Interview, case.id),
                    OpBody::Edit {
                        changes: vec![sync_core::sync::Change::new(
                            field::INTERVIEWER,
                            old,
                            FieldValue::text(interviewer),
                        )],
                    },
                ));
            }
        }
        sync::act_unscoped(conn, project, actor, &actions, now)?;
        Ok(AssignmentSummary {
            id: id.to_string(),
            area: area.id.to_string(),
            interviewer: interviewer.to_string(),
            task: task.to_string(),
            cases,
        })
    })
}
