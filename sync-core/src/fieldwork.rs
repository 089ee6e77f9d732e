//! Fieldwork as sync entities: how the frame, the sample and the interviews are written into the
//! generic documents of [`crate::sync`], so that the server, the phones, coverage and exports read
//! the same fields.
//!
//! | kind | id | scope | fields |
//! | --- | --- | --- | --- |
//! | building | listing building id | area id | see [`building`] |
//! | dwelling | listing dwelling id | area id | see [`dwelling`] |
//! | household | household id | area id | `_dwelling`, `number`, `head_name` |
//! | interview (a case) | case id | the case id itself | see [`CaseFields`] |
//! | assignment | assignment id | area id | `interviewer` (user id), `area`, `task` |
//!
//! An interview entity is created for every sampled dwelling or household when a sample is drawn
//! (a *case*); its `design/…` fields carry the design variables the exports need. Interviewers
//! read the areas of their assignments (listing) and the cases whose `interviewer` names them.
//! Answers live under `answers/<name>`; a repeat instance under `answers/<group>[<uuid>]/<name>`
//! (see [`crate::sync::schema::instance_path`]); visits under `visits[<uuid>]/…`.

use crate::listing::{Building, Dwelling, Footprint};
use crate::sync::FieldValue;
use std::collections::BTreeMap;

/// Field names shared by every reader of fieldwork entities.
pub mod field {
    /// Area id (text UUID) of a building, dwelling or assignment.
    pub const AREA: &str = "area";
    /// Area code as people write it.
    pub const AREA_CODE: &str = "area_code";
    /// Building id of a dwelling.
    pub const BUILDING: &str = "building";
    /// Building number or dwelling door number.
    pub const NUMBER: &str = "number";
    /// Name of a building.
    pub const NAME: &str = "name";
    /// Building kind word (`residential`, `mixed`, `non_residential`, …).
    pub const BUILDING_KIND: &str = "kind";
    /// Number of floors.
    pub const FLOORS: &str = "floors";
    /// A building's footprint as GeoJSON geometry text (WGS-84).
    pub const FOOTPRINT: &str = "footprint";
    /// A point: a building's centroid, a dwelling's entrance, an interview's GPS fix.
    pub const POSITION: &str = "position";
    /// Serpentine number of a building in its area.
    pub const SERPENTINE: &str = "serpentine";
    /// Segment code.
    pub const SEGMENT: &str = "segment";
    /// Map sheet code.
    pub const SHEET: &str = "sheet";
    /// The imported feature's own id.
    pub const SOURCE_ID: &str = "source_id";
    /// Dwelling address parts (单元 / 层 / 室).
    pub const ADDRESS_UNIT: &str = "address/unit";
    pub const ADDRESS_FLOOR: &str = "address/floor";
    pub const ADDRESS_ROOM: &str = "address/room";
    /// Door number as written on the door.
    pub const DOOR_NUMBER: &str = "door_number";
    /// Occupancy word: `occupied`, `vacant`, `business`, `not_dwelling`, `unknown`.
    pub const OCCUPANCY: &str = "occupancy";
    /// Number of households in a dwelling.
    pub const HOUSEHOLDS: &str = "households";
    /// Listing number of a dwelling in its area.
    pub const LISTING_NUMBER: &str = "listing_number";
    /// Free notes.
    pub const NOTES: &str = "notes";

    /// Case: the dwelling (text UUID).
    pub const DWELLING: &str = "dwelling";
    /// Case: the household (text UUID), when households are sampled.
    pub const HOUSEHOLD: &str = "household";
    /// Case / assignment: the interviewer's user id (text UUID).
    pub const INTERVIEWER: &str = "interviewer";
    /// Case: the form id and version it is to be answered with.
    pub const FORM: &str = "form";
    pub const FORM_VERSION: &str = "form_version";
    /// Case: final (or current) disposition, an AAPOR code such as `"1.1"`.
    pub const DISPOSITION: &str = "disposition";
    /// Case: when the interview started and ended, ms since the Unix epoch.
    pub const STARTED_AT: &str = "started_at";
    pub const ENDED_AT: &str = "ended_at";
    /// Case: the roster instance selected as respondent.
    pub const RESPONDENT: &str = "respondent";
    /// Case design variables.
    pub const STRATUM: &str = "design/stratum";
    pub const PSU: &str = "design/psu";
    pub const DESIGN_SEGMENT: &str = "design/segment";
    /// Stage probabilities: `design/p1`, `design/p2`, … (see [`super::stage_prob`]).
    pub const STAGE_PROB_PREFIX: &str = "design/p";
    pub const BASE_WEIGHT: &str = "design/weight";
    pub const REPLICATE: &str = "design/replicate";
    /// Assignment: what the assignment is for, `listing` or `interviewing`.
    pub const TASK: &str = "task";
    /// Prefix of answers.
    pub const ANSWERS: &str = "answers/";
    /// Visit group: `visits[<uuid>]/at`, `/result`, `/position`, `/note`.
    pub const VISITS: &str = "visits";
    pub const VISIT_AT: &str = "at";
    pub const VISIT_RESULT: &str = "result";
    pub const VISIT_NOTE: &str = "note";
}

/// The field of stage `k`'s probability (1-based).
pub fn stage_prob(k: usize) -> String {
    format!("{}{k}", field::STAGE_PROB_PREFIX)
}

/// The field holding answer `name` (a top-level question).
pub fn answer(name: &str) -> String {
    format!("{}{name}", field::ANSWERS)
}

fn put_text(m: &mut BTreeMap<String, FieldValue>, key: &str, v: Option<&str>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        m.insert(key.to_string(), FieldValue::text(v));
    }
}

/// A point as a sync position (no accuracy: a mapped point, not a GPS fix).
pub fn point(p: geo::Point<f64>) -> FieldValue {
    FieldValue::Position(crate::sync::Position::new(p.x(), p.y()))
}

/// The creation fields of a listed building.
pub fn building(b: &Building, area_code: &str) -> BTreeMap<String, FieldValue> {
    let mut m = BTreeMap::new();
    m.insert(field::AREA.into(), FieldValue::text(b.area.to_string()));
    put_text(&mut m, field::AREA_CODE, Some(area_code));
    put_text(&mut m, field::NUMBER, b.number.as_deref());
    put_text(&mut m, field::NAME, b.name.as_deref());
    put_text(&mut m, field::BUILDING_KIND, Some(b.kind.as_str()));
    if let Some(f) = b.floors {
        m.insert(field::FLOORS.into(), FieldValue::Int(f.into()));
    }
    m.insert(field::POSITION.into(), point(b.footprint.anchor()));
    if let Footprint::Polygon(mp) = &b.footprint {
        let gj = geojson::Geometry::new(geojson::GeometryValue::from(mp));
        m.insert(field::FOOTPRINT.into(), FieldValue::text(gj.to_string()));
    }
    if let Some(s) = b.serpentine {
        m.insert(field::SERPENTINE.into(), FieldValue::Int(s.into()));
    }
    put_text(&mut m, field::SEGMENT, b.segment.as_deref());
    put_text(&mut m, field::SHEET, b.sheet.as_deref());
    put_text(&mut m, field::SOURCE_ID, b.source_id.as_deref());
    m
}

/// The creation fields of a listed dwelling.
pub fn dwelling(d: &Dwelling, area_code: &str) -> BTreeMap<String, FieldValue> {
    let mut m = BTreeMap::new();
    m.insert(field::AREA.into(), FieldValue::text(d.area.to_string()));
    put_text(&mut m, field::AREA_CODE, Some(area_code));
    if let Some(b) = d.building {
        m.insert(field::BUILDING.into(), FieldValue::text(b.to_string()));
    }
    put_text(&mut m, field::ADDRESS_UNIT, d.address.unit.as_deref());
    put_text(&mut m, field::ADDRESS_FLOOR, d.address.floor.as_deref());
    put_text(&mut m, field::ADDRESS_ROOM, d.address.room.as_deref());
    put_text(&mut m, field::DOOR_NUMBER, d.door_number.as_deref());
    if let Some(p) = d.location {
        m.insert(field::POSITION.into(), point(p));
    }
    m.insert(
        field::OCCUPANCY.into(),
        FieldValue::text(d.occupancy.as_str()),
    );
    m.insert(
        field::HOUSEHOLDS.into(),
        FieldValue::Int(d.households.into()),
    );
    if let Some(n) = d.listing_number {
        m.insert(field::LISTING_NUMBER.into(), FieldValue::Int(n.into()));
    }
    put_text(&mut m, field::NOTES, d.notes.as_deref());
    put_text(&mut m, field::SOURCE_ID, d.source_id.as_deref());
    m
}

/// The creation fields of a case (an interview to be done at a sampled dwelling or household).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseFields {
    pub area: String,
    pub area_code: String,
    pub dwelling: String,
    pub household: Option<String>,
    pub form: Option<String>,
    pub form_version: Option<String>,
    pub stratum: String,
    pub psu: String,
    pub segment: Option<String>,
    /// Every stage's inclusion probability, first stage first.
    pub stage_probs: Vec<f64>,
    pub base_weight: f64,
    pub replicate: Option<u32>,
    pub position: Option<geo::Point<f64>>,
    pub listing_number: Option<u32>,
}

impl CaseFields {
    /// The fields of the `create` operation.
    pub fn fields(&self) -> BTreeMap<String, FieldValue> {
        let mut m = BTreeMap::new();
        m.insert(field::AREA.into(), FieldValue::text(self.area.clone()));
        put_text(&mut m, field::AREA_CODE, Some(&self.area_code));
        m.insert(
            field::DWELLING.into(),
            FieldValue::text(self.dwelling.clone()),
        );
        put_text(&mut m, field::HOUSEHOLD, self.household.as_deref());
        put_text(&mut m, field::FORM, self.form.as_deref());
        put_text(&mut m, field::FORM_VERSION, self.form_version.as_deref());
        m.insert(
            field::STRATUM.into(),
            FieldValue::text(self.stratum.clone()),
        );
        m.insert(field::PSU.into(), FieldValue::text(self.psu.clone()));
        put_text(&mut m, field::DESIGN_SEGMENT, self.segment.as_deref());
        for (k, p) in self.stage_probs.iter().enumerate() {
            m.insert(stage_prob(k + 1), FieldValue::Float(*p));
        }
        m.insert(
            field::BASE_WEIGHT.into(),
            FieldValue::Float(self.base_weight),
        );
        if let Some(r) = self.replicate {
            m.insert(field::REPLICATE.into(), FieldValue::Int(r.into()));
        }
        if let Some(p) = self.position {
            m.insert(field::POSITION.into(), point(p));
        }
        if let Some(n) = self.listing_number {
            m.insert(field::LISTING_NUMBER.into(), FieldValue::Int(n.into()));
        }
        m.insert(
            crate::sync::entity::STATUS_FIELD.into(),
            FieldValue::text("assigned"),
        );
        m
    }
}
