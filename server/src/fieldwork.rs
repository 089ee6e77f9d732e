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

/// Live entities of a kind with their current values only (no provenance, no conflict records),
/// by id: for coverage and exports. Reads the `fields` column, a tenth of a listing entity's body
/// (the rest is every field's provenance), in table order — an index walk in id order costs a
/// seek per row — and sorts here.
pub fn entity_values(
    conn: &mut DbConnection,
    project: &str,
    kind: &str,
) -> Result<Vec<Entity>, StoreError> {
    type Row = (String, String, String, i64, bool, Option<String>);
    let rows: Vec<Row> = sync_entities::table
        .filter(sync_entities::project_id.eq(project))
        .filter(sync_entities::kind.eq(kind))
        .filter(sync_entities::deleted.eq(false))
        .select((
            sync_entities::kind,
            sync_entities::id,
            sync_entities::scope,
            sync_entities::version,
            sync_entities::deleted,
            sync_entities::fields,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (kind, id, scope, version, deleted, fields) in rows {
        let uuid = |text: &str, what: &str| {
            uuid::Uuid::parse_str(text)
                .map_err(|e| StoreError::Internal(format!("stored {what} {text:?}: {e}")))
        };
        let mut e = Entity::new(
            EntityKind::parse(&kind),
            uuid(&id, "entity id")?,
            uuid(&scope, "entity scope")?,
        );
        e.version = u64::try_from(version).unwrap_or(0);
        e.deleted = deleted;
        e.fields = match fields {
            Some(f) => serde_json::from_str(&f).map_err(|e| json_err("entity fields", e))?,
            // Written before the column existed and missed by its migration: the body has them.
            None => {
                let body: String = sync_entities::table
                    .filter(sync_entities::project_id.eq(project))
                    .filter(sync_entities::id.eq(&id))
                    .select(sync_entities::body)
                    .get_result(conn)?;
                serde_json::from_str::<Entity>(&body)
                    .map_err(|e| json_err("entity", e))?
                    .fields
            }
        };
        out.push(e);
    }
    out.sort_unstable_by_key(|e| e.id);
    Ok(out)
}

/// The listing as it stands now: the project's areas with the live buildings and dwellings (split
/// or merged-away dwellings left out).
pub fn current_listing(conn: &mut DbConnection, project: &str) -> Result<Listing, StoreError> {
    let areas = areas(conn, project)?;
    // Current values only: a frame of a million dwellings is read in seconds, not minutes.
    let buildings = entity_values(conn, project, "building")?
        .iter()
        .map(fieldwork::building_of)
        .collect();
    let dwellings = entity_values(conn, project, "dwelling")?
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

fn bad_design(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(crate::store::FieldError::new("design", e.to_string()))
}

/// Stores a draw (a multi-stage draw, or a one-stage selection record) and returns its id.
fn store_sample(
    conn: &mut DbConnection,
    project: &str,
    actor: &Actor,
    frame_id: &str,
    form_id: Option<&str>,
    draw: &impl serde::Serialize,
    now: i64,
) -> Result<String, StoreError> {
    let id = new_id();
    let body = serde_json::to_string(draw).map_err(|e| json_err("draw", e))?;
    diesel::insert_into(samples::table)
        .values((
            samples::project_id.eq(project),
            samples::id.eq(&id),
            samples::frame_id.eq(frame_id),
            samples::form_id.eq(form_id),
            samples::draw.eq(body),
            samples::created_by.eq(&actor.user_id),
            samples::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
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
        let drawn = draw_multistage(&listing, design, seed).map_err(bad_design)?;
        let id = store_sample(conn, project, actor, &frame.id, form_id, &drawn, now)?;
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

// ---------------------------------------------------------------------------------------------
// One-stage dwelling samples and their reserve

/// Why a reserve replicate cannot be released.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The project has no sample yet.
    #[error("the project has no sample")]
    NoSample,
    /// The latest sample is multi-stage: its reserve is per PSU and is not released here.
    #[error(
        "the latest sample is multi-stage; reserve replicates are released for one-stage dwelling \
         samples"
    )]
    MultiStage,
    /// The sampling rules refuse (no replicate left, unknown stratum, a frame that changed).
    #[error(transparent)]
    Sampling(#[from] sync_core::sampling::SamplingError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ReleaseError {
    fn from(e: diesel::result::Error) -> Self {
        ReleaseError::Store(e.into())
    }
}

/// The frame of a one-stage dwelling sample: the frozen listing's dwellings, stratum = area.
fn dwelling_frame(listing: &Listing, include_vacant: bool) -> Result<Frame, StoreError> {
    Frame::from_listing(listing, include_vacant).map_err(bad_design)
}

/// The `create` of a case per selected unit of a one-stage draw whose id is not in `existing`.
fn dwelling_case_actions(
    sample: &str,
    listing: &Listing,
    frame: &Frame,
    drawn: &sync_core::sampling::design::Draw,
    existing: &std::collections::HashSet<String>,
    form_id: Option<&str>,
) -> Vec<(Target, OpBody)> {
    let areas: HashMap<&str, &Area> = listing.areas.iter().map(|a| (a.code.as_str(), a)).collect();
    let dwellings: HashMap<String, &sync_core::listing::Dwelling> = listing
        .dwellings
        .iter()
        .map(|d| (d.id.to_string(), d))
        .collect();
    let mut out = Vec::new();
    for u in drawn.units.iter().filter(|u| u.selected && u.hits > 0) {
        let unit = &frame.units()[u.index];
        if existing.contains(&unit.id) {
            continue;
        }
        let (Some(area), Some(d)) = (areas.get(unit.stratum.as_str()), dwellings.get(&unit.id))
        else {
            continue;
        };
        let id = derived_id(&[sample, &unit.id]);
        let case = CaseFields {
            area: area.id.to_string(),
            area_code: area.code.clone(),
            dwelling: unit.id.clone(),
            household: None,
            form: form_id.map(str::to_string),
            form_version: None,
            stratum: unit.stratum.clone(),
            psu: area.code.clone(),
            segment: None,
            stage_probs: vec![u.prob],
            base_weight: u.weight.unwrap_or(1.0 / u.prob),
            replicate: u.replicate,
            position: d.location,
            listing_number: d.listing_number,
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

/// Draws a one-stage sample of dwellings from the latest frozen frame with the sampling designs
/// of `mapframe sample draw` (strata = areas, in listing-number order; a reserve drawn as
/// replicates); every selected dwelling becomes a case.
#[allow(clippy::too_many_arguments)]
pub fn draw_dwellings(
    conn: &mut DbConnection,
    project: &str,
    actor: &Actor,
    design: &sync_core::sampling::design::Design,
    include_vacant: bool,
    seed: u64,
    form_id: Option<&str>,
    now: i64,
) -> Result<SampleSummary, StoreError> {
    db::write(conn, |conn| {
        let (frozen, listing) = latest_frame(conn, project)?;
        let frame = dwelling_frame(&listing, include_vacant)?;
        let drawn = sync_core::sampling::design::draw(
            &frame,
            design,
            seed,
            &format!("frame {}", frozen.id),
        )
        .map_err(bad_design)?;
        let id = store_sample(
            conn,
            project,
            actor,
            &frozen.id,
            form_id,
            &drawn.record,
            now,
        )?;
        let actions =
            dwelling_case_actions(&id, &listing, &frame, &drawn, &Default::default(), form_id);
        let cases = actions.len();
        sync::act_unscoped(conn, project, actor, &actions, now)?;
        Ok(SampleSummary {
            id,
            frame_id: frozen.id,
            frame_hash: frozen.hash,
            seed,
            psus: drawn.record.strata.iter().filter(|s| s.n > 0).count(),
            households: drawn.record.drawn.len(),
            cases,
        })
    })
}

/// A stratum's reserve.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ReserveStratum {
    /// The stratum (area code).
    pub stratum: String,
    /// Replicates drawn in all.
    pub replicates: u32,
    /// Replicates released so far (the main sample's among them).
    pub released: u32,
    /// Dwellings still held in reserve.
    pub held: usize,
}

/// The reserve of the latest sample.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ReserveState {
    /// The sample's id.
    pub sample: String,
    /// Strata drawn with a reserve.
    pub strata: Vec<ReserveStratum>,
    /// Every release so far, with its note.
    #[schema(value_type = Vec<Object>)]
    pub releases: Vec<sync_core::sampling::design::Release>,
}

/// What a release did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ReleaseSummary {
    /// The reserve after the release.
    pub reserve: ReserveState,
    /// Cases created for the released dwellings.
    pub cases: usize,
    /// Of these, cases given to the interviewer who holds their area (the only one
    /// interviewing it).
    pub assigned: usize,
    /// Cases already in the field whose probability and base weight were brought up to date.
    pub reweighted: usize,
    /// Approved cases whose design variables were left as approved (nothing changes an
    /// approved interview but a reopen); the sample's selection record has their probability.
    pub approved_unchanged: usize,
}

fn latest_sample(
    conn: &mut DbConnection,
    project: &str,
) -> Result<(String, String, Option<String>, String), ReleaseError> {
    samples::table
        .filter(samples::project_id.eq(project))
        .order(samples::created_at.desc())
        .select((
            samples::id,
            samples::frame_id,
            samples::form_id,
            samples::draw,
        ))
        .first(conn)
        .optional()?
        .ok_or(ReleaseError::NoSample)
}

fn selection_record(
    draw: &str,
) -> Result<sync_core::sampling::design::SelectionRecord, ReleaseError> {
    let value: serde_json::Value = serde_json::from_str(draw).map_err(|e| json_err("draw", e))?;
    if value.get("format").is_none() {
        return Err(ReleaseError::MultiStage);
    }
    Ok(serde_json::from_value(value).map_err(|e| json_err("draw", e))?)
}

fn reserve_state(
    sample: &str,
    record: &sync_core::sampling::design::SelectionRecord,
) -> ReserveState {
    ReserveState {
        sample: sample.to_string(),
        strata: record
            .strata
            .iter()
            .filter(|s| s.replicates > 0)
            .map(|s| ReserveStratum {
                stratum: s.name.clone(),
                replicates: s.replicates,
                released: s.released,
                held: record
                    .drawn
                    .iter()
                    .filter(|u| u.stratum == s.name && !u.released)
                    .count(),
            })
            .collect(),
        releases: record.releases.clone(),
    }
}

/// The reserve of the project's latest sample.
pub fn reserve(conn: &mut DbConnection, project: &str) -> Result<ReserveState, ReleaseError> {
    let (id, _, _, draw) = latest_sample(conn, project)?;
    Ok(reserve_state(&id, &selection_record(&draw)?))
}

/// Releases the next reserve replicate of `stratum` (of every stratum with one left when
/// `None`) of the latest one-stage sample: the draw is re-run from its record with one more
/// replicate (verifying the frame by its hash), the newly selected dwellings become cases, and the
/// cases already in the field get their new inclusion probability and base weight.
pub fn release(
    conn: &mut DbConnection,
    project: &str,
    actor: &Actor,
    stratum: Option<&str>,
    note: &str,
    now: i64,
) -> Result<ReleaseSummary, ReleaseError> {
    db::write(conn, |conn| {
        sync::lock_project(conn, project)?;
        let (id, frame_id, form_id, draw) = latest_sample(conn, project)?;
        let record = selection_record(&draw)?;
        let listing: String = frames::table
            .filter(frames::project_id.eq(project))
            .filter(frames::id.eq(&frame_id))
            .select(frames::listing)
            .get_result(conn)?;
        let listing: Listing = serde_json::from_str(&listing).map_err(|e| json_err("frame", e))?;
        let include_vacant = record.frame.columns.id == sync_core::sampling::frame::LISTING_ID;
        let frame = dwelling_frame(&listing, include_vacant)?;
        let drawn = sync_core::sampling::design::release(&record, &frame, stratum, note)?;
        let before: std::collections::HashSet<String> = record
            .drawn
            .iter()
            .filter(|u| u.released && u.hits > 0)
            .map(|u| u.id.clone())
            .collect();
        let mut creates =
            dwelling_case_actions(&id, &listing, &frame, &drawn, &before, form_id.as_deref());
        // A released dwelling in an area one interviewer is interviewing goes to them; where
        // several share the area (or nobody has it yet) the supervisor assigns.
        let mut holders: HashMap<String, std::collections::BTreeSet<String>> = HashMap::new();
        for a in entity_values(conn, project, "assignment")? {
            if let (Some("interviewing"), Some(area), Some(who)) = (
                a.text(field::TASK),
                a.text(field::AREA),
                a.text(field::INTERVIEWER),
            ) {
                holders
                    .entry(area.to_string())
                    .or_default()
                    .insert(who.to_string());
            }
        }
        let mut assigned = 0;
        for (_, body) in &mut creates {
            if let OpBody::Create { fields, .. } = body {
                let area = fields.get(field::AREA).and_then(FieldValue::as_text);
                if let Some(only) = area
                    .and_then(|a| holders.get(a))
                    .filter(|h| h.len() == 1)
                    .and_then(|h| h.first())
                {
                    fields.insert(field::INTERVIEWER.into(), FieldValue::text(only.clone()));
                    assigned += 1;
                }
            }
        }
        // Cases already in the field: their probability changed with the released replicate.
        let mut edits = Vec::new();
        let mut approved_unchanged = 0;
        for u in drawn.units.iter().filter(|u| u.selected && u.hits > 0) {
            let unit = &frame.units()[u.index];
            if !before.contains(&unit.id) {
                continue;
            }
            let case = derived_id(&[&id, &unit.id]);
            let Some(e) =
                sync::query::entity(conn, project, case, &sync_core::sync::log::Scope::All)?
            else {
                continue;
            };
            let weight = u.weight.unwrap_or(1.0 / u.prob);
            let mut changes = Vec::new();
            for (path, new) in [
                (fieldwork::stage_prob(1), FieldValue::Float(u.prob)),
                (field::BASE_WEIGHT.to_string(), FieldValue::Float(weight)),
            ] {
                let old = e.get(&path).cloned().unwrap_or(FieldValue::Null);
                if old != new {
                    changes.push(sync_core::sync::Change::new(path, old, new));
                }
            }
            if changes.is_empty() {
                continue;
            }
            // Nothing changes an approved interview but a reopen: its design variables stay as
            // they were approved (the selection record keeps the probabilities of the release).
            if e.status() == Some("approved") {
                approved_unchanged += 1;
                continue;
            }
            edits.push((
                Target::new(EntityKind::Interview, case),
                OpBody::Edit { changes },
            ));
        }
        let cases = creates.len();
        sync::act_unscoped(conn, project, actor, &creates, now)?;
        let acks = sync::act_unscoped(conn, project, actor, &edits, now)?;
        let reweighted = acks
            .iter()
            .filter(|a| matches!(a.status, AckStatus::Applied { .. }))
            .count();

        let body = serde_json::to_string(&drawn.record).map_err(|e| json_err("draw", e))?;
        diesel::update(
            samples::table
                .filter(samples::project_id.eq(project))
                .filter(samples::id.eq(&id)),
        )
        .set(samples::draw.eq(body))
        .execute(conn)?;
        Ok(ReleaseSummary {
            reserve: reserve_state(&id, &drawn.record),
            cases,
            assigned,
            reweighted,
            approved_unchanged,
        })
    })
}
