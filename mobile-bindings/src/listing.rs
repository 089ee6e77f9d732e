//! The listing of assigned areas on the phone: buildings and dwellings as sync entities (fields
//! per `sync_core::fieldwork`), edited through operations, and the same self-check the server
//! runs, over the listing as this device shows it.

use crate::error::FieldError;
use crate::records::{
    AreaRecord, BuildingInput, BuildingRecord, DwellingInput, DwellingRecord, FindingRecord,
    Occupancy, Point,
};
use crate::store::{FieldStore, Inner, key, parse_id};
use std::collections::BTreeMap;
use sync_core::fieldwork::{building_of, dwelling_of, field};
use sync_core::listing::geojson::{ImportOptions, read_listing};
use sync_core::listing::{Area, Listing};
use sync_core::selfcheck::{CheckOptions, check};
use sync_core::sync::entity::{PARTS_FIELD, RETIRED_FIELD};
use sync_core::sync::{Entity, EntityKind, FieldValue, OpBody, Part, Position, Target};
use uuid::Uuid;

/// Reads the areas' GeoJSON (as the server serves it).
pub(crate) fn read_areas(text: &str) -> Result<Vec<Area>, FieldError> {
    read_listing(text, None, &ImportOptions::default())
        .map(|i| i.listing.areas)
        .map_err(|e| FieldError::validation("bad_areas", "areas", e.to_string()))
}

impl Occupancy {
    fn word(self) -> &'static str {
        match self {
            Occupancy::Occupied => "occupied",
            Occupancy::Vacant => "vacant",
            Occupancy::Business => "business",
            Occupancy::NotDwelling => "not_dwelling",
            Occupancy::Unknown => "unknown",
        }
    }

    fn of(word: Option<&str>) -> Self {
        match word {
            Some("occupied") => Occupancy::Occupied,
            Some("vacant") => Occupancy::Vacant,
            Some("business") => Occupancy::Business,
            Some("not_dwelling") => Occupancy::NotDwelling,
            _ => Occupancy::Unknown,
        }
    }
}

pub(crate) fn point_value(p: Point) -> Result<FieldValue, FieldError> {
    let pos = Position {
        lon: p.lon,
        lat: p.lat,
        accuracy_m: p.accuracy_m,
    };
    if !pos.is_valid() {
        return Err(FieldError::validation(
            "bad_position",
            field::POSITION,
            format!("({}, {}) is not a WGS-84 position", p.lon, p.lat),
        ));
    }
    Ok(FieldValue::Position(pos))
}

fn point_of(e: &Entity) -> Option<Point> {
    e.get(field::POSITION)
        .and_then(FieldValue::as_position)
        .map(|p| Point {
            lon: p.lon,
            lat: p.lat,
            accuracy_m: p.accuracy_m,
        })
}

fn int_u32(e: &Entity, k: &str) -> Option<u32> {
    match e.get(k)? {
        FieldValue::Int(i) => u32::try_from(*i).ok(),
        FieldValue::Float(f) if f.fract() == 0.0 && *f >= 0.0 => Some(*f as u32),
        _ => None,
    }
}

fn text(e: &Entity, k: &str) -> Option<String> {
    e.text(k).map(str::to_string)
}

fn open_conflicts(e: &Entity) -> u32 {
    u32::try_from(e.open_conflicts().count()).unwrap_or(u32::MAX)
}

fn building_record(e: &Entity) -> BuildingRecord {
    BuildingRecord {
        id: e.id.to_string(),
        area_id: e.scope.to_string(),
        number: text(e, field::NUMBER),
        name: text(e, field::NAME),
        kind: text(e, field::BUILDING_KIND).unwrap_or_else(|| "unknown".into()),
        floors: int_u32(e, field::FLOORS),
        serpentine: int_u32(e, field::SERPENTINE),
        position: point_of(e),
        open_conflicts: open_conflicts(e),
    }
}

fn dwelling_record(e: &Entity) -> DwellingRecord {
    let parts = match e.get(PARTS_FIELD) {
        Some(FieldValue::List(l)) => l
            .iter()
            .filter_map(|v| v.as_text().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    DwellingRecord {
        id: e.id.to_string(),
        area_id: e.scope.to_string(),
        building_id: text(e, field::BUILDING),
        unit: text(e, field::ADDRESS_UNIT),
        floor: text(e, field::ADDRESS_FLOOR),
        room: text(e, field::ADDRESS_ROOM),
        door_number: text(e, field::DOOR_NUMBER),
        occupancy: Occupancy::of(e.text(field::OCCUPANCY)),
        households: int_u32(e, field::HOUSEHOLDS).unwrap_or(1),
        listing_number: int_u32(e, field::LISTING_NUMBER),
        notes: text(e, field::NOTES),
        position: point_of(e),
        retired: e.is_retired(),
        parts,
        open_conflicts: open_conflicts(e),
    }
}

fn put_text(m: &mut Vec<(String, FieldValue)>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.push((k.to_string(), FieldValue::text(v.trim())));
    }
}

fn building_fields(input: &BuildingInput) -> Result<Vec<(String, FieldValue)>, FieldError> {
    let mut m = Vec::new();
    put_text(&mut m, field::NUMBER, &input.number);
    put_text(&mut m, field::NAME, &input.name);
    if let Some(k) = &input.kind {
        if sync_core::listing::BuildingKind::parse(k).is_none() {
            return Err(FieldError::validation(
                "bad_building_kind",
                field::BUILDING_KIND,
                format!("{k:?} is not a building kind"),
            ));
        }
        m.push((field::BUILDING_KIND.into(), FieldValue::text(k.as_str())));
    }
    if let Some(f) = input.floors {
        m.push((field::FLOORS.into(), FieldValue::Int(f.into())));
    }
    if let Some(p) = input.position {
        m.push((field::POSITION.into(), point_value(p)?));
    }
    Ok(m)
}

fn dwelling_fields(input: &DwellingInput) -> Result<Vec<(String, FieldValue)>, FieldError> {
    let mut m = Vec::new();
    if let Some(b) = &input.building_id {
        parse_id(field::BUILDING, b)?;
        m.push((field::BUILDING.into(), FieldValue::text(b.trim())));
    }
    put_text(&mut m, field::ADDRESS_UNIT, &input.unit);
    put_text(&mut m, field::ADDRESS_FLOOR, &input.floor);
    put_text(&mut m, field::ADDRESS_ROOM, &input.room);
    put_text(&mut m, field::DOOR_NUMBER, &input.door_number);
    put_text(&mut m, field::NOTES, &input.notes);
    if let Some(o) = input.occupancy {
        m.push((field::OCCUPANCY.into(), FieldValue::text(o.word())));
    }
    if let Some(h) = input.households {
        if h > 50 {
            return Err(FieldError::validation(
                "bad_households",
                field::HOUSEHOLDS,
                format!("{h} households in one dwelling is not plausible (at most 50)"),
            ));
        }
        m.push((field::HOUSEHOLDS.into(), FieldValue::Int(h.into())));
    }
    if let Some(p) = input.position {
        m.push((field::POSITION.into(), point_value(p)?));
    }
    Ok(m)
}

impl Inner {
    /// The area's code as the assignment or any listed entity of the area names it.
    fn area_code(&self, area: Uuid) -> Result<String, FieldError> {
        let r = self.replica()?;
        Ok(r.entities()
            .values()
            .filter(|e| e.scope == area || e.text(field::AREA) == Some(&area.to_string()))
            .find_map(|e| e.text(field::AREA_CODE).map(str::to_string))
            .unwrap_or_default())
    }

    fn listing_entity(&self, id: &str, kind: EntityKind) -> Result<(Uuid, &Entity), FieldError> {
        let id = parse_id("id", id)?;
        let e = self.entity(id)?;
        if e.kind != kind || e.deleted {
            return Err(FieldError::not_found(
                "no_such_entity",
                format!("no {kind} {id} on this device"),
            ));
        }
        Ok((id, e))
    }

    fn create(
        &mut self,
        kind: EntityKind,
        area: Uuid,
        fields: Vec<(String, FieldValue)>,
    ) -> Result<String, FieldError> {
        let id = self.new_id();
        let mut all: BTreeMap<String, FieldValue> = fields.into_iter().collect();
        all.insert(field::AREA.into(), FieldValue::text(area.to_string()));
        let code = self.area_code(area)?;
        if !code.is_empty() {
            all.insert(field::AREA_CODE.into(), FieldValue::text(code));
        }
        self.act(
            Target::new(kind, id),
            OpBody::Create {
                scope: area,
                fields: all,
            },
        )?;
        Ok(id.to_string())
    }
}

#[uniffi::export]
impl FieldStore {
    /// The areas this device works in: from its assignments, and any area it holds listing
    /// entities of; names from the areas' GeoJSON when synced.
    pub fn areas(&self) -> Result<Vec<AreaRecord>, FieldError> {
        let inner = self.lock();
        let r = inner.replica()?;
        let me = inner.me()?.to_string();
        let supervises = r.identity().role.supervises();
        let mut areas: BTreeMap<Uuid, AreaRecord> = BTreeMap::new();
        let blank = |id: Uuid| AreaRecord {
            id: id.to_string(),
            code: String::new(),
            name: String::new(),
            task: String::new(),
            buildings: 0,
            dwellings: 0,
        };
        for e in r.entities().values() {
            if e.deleted {
                continue;
            }
            match e.kind {
                EntityKind::Assignment
                    if supervises || e.text(field::INTERVIEWER) == Some(me.as_str()) =>
                {
                    let id = e
                        .text(field::AREA)
                        .and_then(|a| Uuid::parse_str(a).ok())
                        .unwrap_or(e.scope);
                    let a = areas.entry(id).or_insert_with(|| blank(id));
                    if let Some(c) = e.text(field::AREA_CODE) {
                        a.code = c.to_string();
                    }
                    if let Some(t) = e.text(field::TASK) {
                        if !a.task.is_empty() && a.task != t {
                            a.task = format!("{},{t}", a.task);
                        } else {
                            a.task = t.to_string();
                        }
                    }
                }
                EntityKind::Building | EntityKind::Dwelling => {
                    let a = areas.entry(e.scope).or_insert_with(|| blank(e.scope));
                    if a.code.is_empty()
                        && let Some(c) = e.text(field::AREA_CODE)
                    {
                        a.code = c.to_string();
                    }
                    if e.kind == EntityKind::Building {
                        a.buildings += 1;
                    } else if !e.is_retired() {
                        a.dwellings += 1;
                    }
                }
                _ => {}
            }
        }
        if let Some(text) = inner.setting(key::AREAS)?
            && let Ok(listed) = read_areas(&text)
        {
            for a in areas.values_mut() {
                if let Some(l) = listed.iter().find(|l| l.code == a.code) {
                    a.name = l.name.clone();
                }
            }
        }
        let mut out: Vec<AreaRecord> = areas.into_values().collect();
        out.sort_by(|a, b| a.code.cmp(&b.code).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// The buildings of an area, in serpentine order.
    pub fn buildings(&self, area_id: String) -> Result<Vec<BuildingRecord>, FieldError> {
        let inner = self.lock();
        let area = parse_id("area_id", &area_id)?;
        let mut out: Vec<BuildingRecord> = inner
            .replica()?
            .entities()
            .values()
            .filter(|e| e.kind == EntityKind::Building && e.scope == area && !e.deleted)
            .map(|e| building_record(e))
            .collect();
        out.sort_by(|a, b| {
            (a.serpentine.is_none(), a.serpentine, &a.number, &a.id).cmp(&(
                b.serpentine.is_none(),
                b.serpentine,
                &b.number,
                &b.id,
            ))
        });
        Ok(out)
    }

    /// The dwellings of an area in listing order (dwellings split or merged away only with
    /// `include_retired`).
    pub fn dwellings(
        &self,
        area_id: String,
        include_retired: bool,
    ) -> Result<Vec<DwellingRecord>, FieldError> {
        let inner = self.lock();
        let area = parse_id("area_id", &area_id)?;
        let mut out: Vec<DwellingRecord> = inner
            .replica()?
            .entities()
            .values()
            .filter(|e| e.kind == EntityKind::Dwelling && e.scope == area && !e.deleted)
            .filter(|e| include_retired || !e.is_retired())
            .map(|e| dwelling_record(e))
            .collect();
        out.sort_by(|a, b| {
            (
                a.listing_number.is_none(),
                a.listing_number,
                &a.building_id,
                &a.id,
            )
                .cmp(&(
                    b.listing_number.is_none(),
                    b.listing_number,
                    &b.building_id,
                    &b.id,
                ))
        });
        Ok(out)
    }

    /// One dwelling.
    pub fn dwelling(&self, id: String) -> Result<DwellingRecord, FieldError> {
        let inner = self.lock();
        let (_, e) = inner.listing_entity(&id, EntityKind::Dwelling)?;
        Ok(dwelling_record(e))
    }

    /// Adds a building to an area; returns its id (minted here).
    pub fn add_building(
        &self,
        area_id: String,
        input: BuildingInput,
    ) -> Result<String, FieldError> {
        let mut inner = self.lock();
        let area = parse_id("area_id", &area_id)?;
        let mut fields = building_fields(&input)?;
        if input.kind.is_none() {
            fields.push((field::BUILDING_KIND.into(), FieldValue::text("residential")));
        }
        inner.create(EntityKind::Building, area, fields)
    }

    /// Changes a building's attributes (the `Some` ones).
    pub fn edit_building(&self, id: String, input: BuildingInput) -> Result<(), FieldError> {
        let mut inner = self.lock();
        let (id, _) = inner.listing_entity(&id, EntityKind::Building)?;
        let fields = building_fields(&input)?;
        inner.edit(Target::new(EntityKind::Building, id), fields)?;
        Ok(())
    }

    /// Adds a dwelling to an area; returns its id (minted here). Occupied, one household, unless
    /// the input says otherwise.
    pub fn add_dwelling(
        &self,
        area_id: String,
        input: DwellingInput,
    ) -> Result<String, FieldError> {
        let mut inner = self.lock();
        let area = parse_id("area_id", &area_id)?;
        let mut fields = dwelling_fields(&input)?;
        if input.occupancy.is_none() {
            fields.push((field::OCCUPANCY.into(), FieldValue::text("occupied")));
        }
        if input.households.is_none() {
            fields.push((field::HOUSEHOLDS.into(), FieldValue::Int(1)));
        }
        inner.create(EntityKind::Dwelling, area, fields)
    }

    /// Changes a dwelling's attributes (the `Some` ones).
    pub fn edit_dwelling(&self, id: String, input: DwellingInput) -> Result<(), FieldError> {
        let mut inner = self.lock();
        let (id, _) = inner.listing_entity(&id, EntityKind::Dwelling)?;
        let fields = dwelling_fields(&input)?;
        inner.edit(Target::new(EntityKind::Dwelling, id), fields)?;
        Ok(())
    }

    /// Moves a building or dwelling (its position; positions merge last-writer-wins and are
    /// flagged beyond 50 m).
    pub fn move_to(&self, id: String, position: Point) -> Result<(), FieldError> {
        let mut inner = self.lock();
        let uuid = parse_id("id", &id)?;
        let kind = inner.entity(uuid)?.kind.clone();
        if !matches!(kind, EntityKind::Building | EntityKind::Dwelling) {
            return Err(FieldError::validation(
                "not_listing",
                "id",
                format!("{kind} {id} is not a building or dwelling"),
            ));
        }
        let v = point_value(position)?;
        inner.edit(Target::new(kind, uuid), vec![(field::POSITION.into(), v)])?;
        Ok(())
    }

    /// Marks a dwelling's occupancy (vacant 空房空户, business, not a dwelling, occupied).
    pub fn set_occupancy(&self, id: String, occupancy: Occupancy) -> Result<(), FieldError> {
        self.edit_dwelling(
            id,
            DwellingInput {
                occupancy: Some(occupancy),
                ..DwellingInput::default()
            },
        )
    }

    /// Splits a dwelling into parts (two households found behind one door): returns the new
    /// dwellings' ids. Each part keeps the building and address of the original unless its input
    /// says otherwise.
    pub fn split_dwelling(
        &self,
        id: String,
        parts: Vec<DwellingInput>,
    ) -> Result<Vec<String>, FieldError> {
        let mut inner = self.lock();
        let (id, e) = inner.listing_entity(&id, EntityKind::Dwelling)?;
        if parts.len() < 2 {
            return Err(FieldError::validation(
                "too_few_parts",
                "parts",
                "a split makes at least two dwellings",
            ));
        }
        let inherited: Vec<(String, FieldValue)> = [
            field::AREA,
            field::AREA_CODE,
            field::BUILDING,
            field::ADDRESS_UNIT,
            field::ADDRESS_FLOOR,
            field::ADDRESS_ROOM,
            field::DOOR_NUMBER,
            field::POSITION,
        ]
        .iter()
        .filter_map(|k| e.get(k).map(|v| (k.to_string(), v.clone())))
        .collect();
        let mut out = Vec::new();
        let mut made = Vec::new();
        for p in &parts {
            let mut fields: BTreeMap<String, FieldValue> = inherited.iter().cloned().collect();
            fields.insert(field::OCCUPANCY.into(), FieldValue::text("occupied"));
            fields.insert(field::HOUSEHOLDS.into(), FieldValue::Int(1));
            fields.extend(dwelling_fields(p)?);
            let pid = inner.new_id();
            out.push(pid.to_string());
            made.push(Part::new(pid, fields));
        }
        inner.act(
            Target::new(EntityKind::Dwelling, id),
            OpBody::Split { parts: made },
        )?;
        Ok(out)
    }

    /// The listing self-check (绘图自查) over the listing as shown on this device: the same
    /// findings, codes and messages as the server's. All areas, or one.
    pub fn self_check(&self, area_id: Option<String>) -> Result<Vec<FindingRecord>, FieldError> {
        let inner = self.lock();
        let only = area_id.map(|a| parse_id("area_id", &a)).transpose()?;
        let r = inner.replica()?;
        let mut listing = Listing {
            areas: Vec::new(),
            buildings: Vec::new(),
            dwellings: Vec::new(),
            households: Vec::new(),
        };
        let mut codes: BTreeMap<Uuid, String> = BTreeMap::new();
        for e in r.entities().values() {
            if e.deleted || only.is_some_and(|a| a != e.scope) {
                continue;
            }
            match e.kind {
                EntityKind::Building => listing.buildings.push(building_of(e)),
                EntityKind::Dwelling if !e.is_retired() && e.get(RETIRED_FIELD).is_none() => {
                    listing.dwellings.push(dwelling_of(e))
                }
                _ => continue,
            }
            if let Some(c) = e.text(field::AREA_CODE) {
                codes.entry(e.scope).or_insert_with(|| c.to_string());
            }
        }
        let listed = match inner.setting(key::AREAS)? {
            Some(t) => read_areas(&t).unwrap_or_default(),
            None => Vec::new(),
        };
        for (id, code) in codes {
            let mut area = listed
                .iter()
                .find(|a| a.code == code)
                .cloned()
                .unwrap_or_else(|| Area::named(&code));
            area.id = sync_core::ids::AreaId::from_uuid(id);
            listing.areas.push(area);
        }
        let report = check(&listing, &CheckOptions::default());
        Ok(report
            .findings
            .into_iter()
            .map(|f| FindingRecord {
                code: f.code.as_str().to_string(),
                severity: f.severity.as_str().to_string(),
                area: f.area,
                ids: f.ids,
                message: f.message,
                message_zh: f.message_zh,
            })
            .collect())
    }
}
