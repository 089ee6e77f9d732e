//! Reading and writing listings as GeoJSON.
//!
//! The conventions are documented for users in `docs/listing-geojson.md`. In short: one
//! FeatureCollection; each feature is an area, segment, map sheet, building or dwelling, said by the
//! `layer` property or inferred (polygons are buildings, points that name a `building_id` or carry
//! an address are dwellings); buildings and dwellings name their area by its code (property `area`,
//! or another one chosen by the caller) and dwellings name their building by its id (`building_id`).
//!
//! Reading is strict about what it interprets and lenient about how it is written: numbers may come
//! as JSON strings ("5"), empty strings count as absent, OpenStreetMap's `building=*`, `levels` and
//! `building:levels` are understood. Every property it does not interpret is kept and written back.
//! Every problem found is reported — not only the first — with the feature index, its id and the
//! property, and no partial listing is ever returned.

use super::{
    Address, Area, Building, BuildingKind, Dwelling, Extra, Footprint, Listing, MapSheet,
    Occupancy, Segment, SheetKind,
};
use crate::crs::Crs;
use crate::ids::{AreaId, BuildingId, DwellingId, SegmentId, SheetId};
use geo::{
    BoundingRect, Contains, Coord, Distance, Euclidean, LineString, MultiPolygon, Point, Polygon,
};
use geojson::{GeometryValue, Position};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::fmt;

/// How to read a listing.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The coordinate system the input is in; converted to WGS-84 on import.
    pub crs: Crs,
    /// The property through which buildings and dwellings name their area's code.
    pub area_key: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            crs: Crs::Wgs84,
            area_key: "area".to_string(),
        }
    }
}

/// Which input a problem was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    Listing,
    Areas,
}

/// Stable machine codes for import problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportErrorCode {
    MalformedJson,
    NotAFeatureCollection,
    EmptyCollection,
    NotAFeature,
    UnknownLayer,
    UndeterminedLayer,
    InvalidGeometry,
    WrongGeometryType,
    BadCoordinate,
    MissingProperty,
    BadProperty,
    DuplicateId,
    UnknownReference,
}

impl ImportErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::NotAFeatureCollection => "not_a_feature_collection",
            Self::EmptyCollection => "empty_collection",
            Self::NotAFeature => "not_a_feature",
            Self::UnknownLayer => "unknown_layer",
            Self::UndeterminedLayer => "undetermined_layer",
            Self::InvalidGeometry => "invalid_geometry",
            Self::WrongGeometryType => "wrong_geometry_type",
            Self::BadCoordinate => "bad_coordinate",
            Self::MissingProperty => "missing_property",
            Self::BadProperty => "bad_property",
            Self::DuplicateId => "duplicate_id",
            Self::UnknownReference => "unknown_reference",
        }
    }
}

/// One problem with the input, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportError {
    pub input: InputKind,
    pub code: ImportErrorCode,
    /// 0-based index of the feature in its collection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<usize>,
    /// The feature's own id, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_id: Option<String>,
    /// The property or member at fault: `"levels"`, `"geometry"`, `"geometry.coordinates[0][3]"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// 1-based line and column, for malformed JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, "line {l}, column {c}")?;
            sep = ": ";
        }
        if let Some(i) = self.feature {
            write!(f, "{sep}feature {i}")?;
            if let Some(id) = &self.feature_id {
                write!(f, " (id {id})")?;
            }
            sep = ": ";
        }
        if let Some(field) = &self.field {
            write!(f, "{sep}property \"{field}\"")?;
            sep = ": ";
        }
        write!(f, "{sep}{}", self.message)
    }
}

/// Every problem found in the input; never empty.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ImportErrors {
    pub errors: Vec<ImportError>,
    /// More problems were found than are listed.
    pub truncated: bool,
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.truncated {
            write!(f, "\n(more problems not shown)")?;
        }
        Ok(())
    }
}

/// At most this many problems are collected before reading stops.
pub const MAX_ERRORS: usize = 100;

/// A listing as read, with what the input contained.
#[derive(Debug, Clone)]
pub struct Imported {
    pub listing: Listing,
    /// Whether the listing input itself contained area features (as opposed to only naming codes).
    pub listing_had_areas: bool,
}

/// Reads a listing, and optionally a separate file of areas, from GeoJSON text.
pub fn read_listing(
    listing: &str,
    areas: Option<&str>,
    options: &ImportOptions,
) -> Result<Imported, ImportErrors> {
    let mut reader = Reader {
        options,
        errors: Vec::new(),
        truncated: false,
    };
    let mut raw = Vec::new();
    if let Some(text) = areas {
        reader.collect_features(InputKind::Areas, text, &mut raw);
    }
    reader.collect_features(InputKind::Listing, listing, &mut raw);
    reader.finish_early()?;
    let listing_had_areas = raw
        .iter()
        .any(|f| f.input == InputKind::Listing && f.layer == Layer::Area);
    let listing = reader.build(raw);
    reader.finish_early()?;
    Ok(Imported {
        listing,
        listing_had_areas,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Layer {
    Area,
    Segment,
    Sheet,
    Building,
    Dwelling,
}

impl Layer {
    fn as_str(self) -> &'static str {
        match self {
            Layer::Area => "area",
            Layer::Segment => "segment",
            Layer::Sheet => "sheet",
            Layer::Building => "building",
            Layer::Dwelling => "dwelling",
        }
    }
}

/// A feature taken apart but not yet interpreted.
struct RawFeature {
    input: InputKind,
    index: usize,
    id: Option<String>,
    layer: Layer,
    geometry: Option<GeometryValue>,
    properties: Map<String, Value>,
}

struct Reader<'o> {
    options: &'o ImportOptions,
    errors: Vec<ImportError>,
    truncated: bool,
}

/// Where in the input a value sits, for error messages.
#[derive(Clone)]
struct At {
    input: InputKind,
    feature: usize,
    id: Option<String>,
}

impl Reader<'_> {
    fn push(&mut self, e: ImportError) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(e);
        } else {
            self.truncated = true;
        }
    }

    fn err(
        &mut self,
        at: &At,
        code: ImportErrorCode,
        field: Option<&str>,
        message: impl Into<String>,
    ) {
        self.push(ImportError {
            input: at.input,
            code,
            feature: Some(at.feature),
            feature_id: at.id.clone(),
            field: field.map(str::to_string),
            line: None,
            column: None,
            message: message.into(),
        });
    }

    fn top_err(&mut self, input: InputKind, code: ImportErrorCode, message: impl Into<String>) {
        self.push(ImportError {
            input,
            code,
            feature: None,
            feature_id: None,
            field: None,
            line: None,
            column: None,
            message: message.into(),
        });
    }

    fn finish_early(&mut self) -> Result<(), ImportErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ImportErrors {
                errors: std::mem::take(&mut self.errors),
                truncated: self.truncated,
            })
        }
    }

    /// Parses the text, checks the collection's shape and splits it into raw features.
    fn collect_features(&mut self, input: InputKind, text: &str, out: &mut Vec<RawFeature>) {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let doc: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                self.push(ImportError {
                    input,
                    code: ImportErrorCode::MalformedJson,
                    feature: None,
                    feature_id: None,
                    field: None,
                    line: Some(e.line()),
                    column: Some(e.column()),
                    message: format!("not valid JSON: {e}"),
                });
                return;
            }
        };
        let features = match &doc {
            Value::Object(o) => match o.get("type").and_then(Value::as_str) {
                Some("FeatureCollection") => match o.get("features") {
                    Some(Value::Array(a)) => a.clone(),
                    _ => {
                        self.top_err(
                            input,
                            ImportErrorCode::NotAFeatureCollection,
                            "a FeatureCollection needs a \"features\" array",
                        );
                        return;
                    }
                },
                Some("Feature") => vec![doc.clone()],
                Some(other) => {
                    self.top_err(
                        input,
                        ImportErrorCode::NotAFeatureCollection,
                        format!("expected a GeoJSON FeatureCollection, found a {other}"),
                    );
                    return;
                }
                None => {
                    self.top_err(input, ImportErrorCode::NotAFeatureCollection, "expected a GeoJSON FeatureCollection: the top-level \"type\" member is missing");
                    return;
                }
            },
            other => {
                self.top_err(
                    input,
                    ImportErrorCode::NotAFeatureCollection,
                    format!(
                        "expected a GeoJSON FeatureCollection object, found {}",
                        json_kind(other)
                    ),
                );
                return;
            }
        };
        if features.is_empty() {
            self.top_err(
                input,
                ImportErrorCode::EmptyCollection,
                "the collection has no features",
            );
            return;
        }
        for (index, feature) in features.into_iter().enumerate() {
            if let Some(raw) = self.split_feature(input, index, feature) {
                out.push(raw);
            }
        }
    }

    fn split_feature(
        &mut self,
        input: InputKind,
        index: usize,
        feature: Value,
    ) -> Option<RawFeature> {
        let mut at = At {
            input,
            feature: index,
            id: None,
        };
        let Value::Object(mut obj) = feature else {
            self.err(
                &at,
                ImportErrorCode::NotAFeature,
                None,
                format!("expected a Feature object, found {}", json_kind(&feature)),
            );
            return None;
        };
        if obj.get("type").and_then(Value::as_str) != Some("Feature") {
            self.err(
                &at,
                ImportErrorCode::NotAFeature,
                Some("type"),
                "expected \"type\": \"Feature\"",
            );
            return None;
        }
        let mut properties = match obj.remove("properties") {
            Some(Value::Object(p)) => p,
            None | Some(Value::Null) => Map::new(),
            Some(other) => {
                self.err(
                    &at,
                    ImportErrorCode::NotAFeature,
                    Some("properties"),
                    format!("expected an object, found {}", json_kind(&other)),
                );
                return None;
            }
        };
        // The feature's id: the GeoJSON member, else an `id` property.
        let id_value = match obj.remove("id") {
            Some(v) if !v.is_null() => Some(v),
            _ => properties.get("id").filter(|v| !v.is_null()).cloned(),
        };
        let id = match id_value {
            None => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                self.err(
                    &at,
                    ImportErrorCode::BadProperty,
                    Some("id"),
                    format!(
                        "an id must be a string or a number, found {}",
                        json_kind(&other)
                    ),
                );
                return None;
            }
        };
        properties.remove("id");
        at.id = id.clone();
        let geometry = match obj.remove("geometry") {
            None | Some(Value::Null) => None,
            Some(g) => match serde_json::from_value::<geojson::Geometry>(g) {
                Ok(g) => Some(g.value),
                Err(e) => {
                    self.err(
                        &at,
                        ImportErrorCode::InvalidGeometry,
                        Some("geometry"),
                        format!("not a valid GeoJSON geometry: {e}"),
                    );
                    return None;
                }
            },
        };
        let layer = match properties.get("layer") {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                match s.trim().to_ascii_lowercase().as_str() {
                    "area" | "psu" => Layer::Area,
                    "segment" => Layer::Segment,
                    "sheet" | "map_sheet" => Layer::Sheet,
                    "building" | "structure" => Layer::Building,
                    "dwelling" => Layer::Dwelling,
                    other => {
                        self.err(&at, ImportErrorCode::UnknownLayer, Some("layer"), format!("unknown layer {other:?}: expected area, segment, sheet, building or dwelling"));
                        return None;
                    }
                }
            }
            Some(Value::String(_)) | Some(Value::Null) | None => {
                match infer_layer(input, geometry.as_ref(), &properties) {
                    Some(l) => l,
                    None => {
                        self.err(&at, ImportErrorCode::UndeterminedLayer, Some("layer"), "cannot tell whether this feature is a building or a dwelling: set the property \"layer\" to \"building\" or \"dwelling\"");
                        return None;
                    }
                }
            }
            Some(other) => {
                self.err(
                    &at,
                    ImportErrorCode::BadProperty,
                    Some("layer"),
                    format!("expected a string, found {}", json_kind(other)),
                );
                return None;
            }
        };
        properties.remove("layer");
        Some(RawFeature {
            input,
            index,
            id,
            layer,
            geometry,
            properties,
        })
    }

    /// Interprets the raw features into a listing.
    fn build(&mut self, raw: Vec<RawFeature>) -> Listing {
        let mut listing = Listing::default();
        let (mut area_codes, mut seen) = (
            HashMap::<String, usize>::new(),
            HashMap::<(Layer, String), usize>::new(),
        );
        let mut by_layer: [Vec<RawFeature>; 5] = Default::default();
        for f in raw {
            if let Some(id) = &f.id {
                let at = at_of(&f);
                if let Some(prev) = seen.insert((f.layer, id.clone()), f.index) {
                    self.err(
                        &at,
                        ImportErrorCode::DuplicateId,
                        Some("id"),
                        format!(
                            "id {id} is also used by {} feature {prev}",
                            f.layer.as_str()
                        ),
                    );
                }
            }
            let slot = match f.layer {
                Layer::Area => 0,
                Layer::Segment => 1,
                Layer::Sheet => 2,
                Layer::Building => 3,
                Layer::Dwelling => 4,
            };
            by_layer[slot].push(f);
        }
        let [areas, segments, sheets, buildings, dwellings] = by_layer;

        for f in areas {
            if let Some(area) = self.area(f, &mut area_codes, &listing) {
                listing.areas.push(area);
            }
        }
        let declared_areas = !listing.areas.is_empty();
        for f in segments {
            let Some(mut part) = self.area_part(
                f,
                "a segment",
                &mut area_codes,
                &mut listing,
                declared_areas,
            ) else {
                continue;
            };
            let mos = part.props.real(self, &part.at, &["mos", "measure_of_size"]);
            let id = part
                .source_id
                .as_deref()
                .map(SegmentId::from_source)
                .unwrap_or_else(|| {
                    SegmentId::from_source(&format!("{}/{}", part.area_code, part.code))
                });
            listing.areas[part.area].segments.push(Segment {
                id,
                code: part.code,
                boundary: part.boundary,
                measure_of_size: mos,
                extra: part.props.rest(),
            });
        }
        for f in sheets {
            let Some(mut part) = self.area_part(
                f,
                "a map sheet",
                &mut area_codes,
                &mut listing,
                declared_areas,
            ) else {
                continue;
            };
            let kind = match part.props.string(self, &part.at, &["kind"]) {
                None => SheetKind::Sub,
                Some(k) => match k.to_ascii_lowercase().as_str() {
                    "master" | "总图" => SheetKind::Master,
                    "sub" | "分图" => SheetKind::Sub,
                    _ => {
                        self.err(
                            &part.at,
                            ImportErrorCode::BadProperty,
                            Some("kind"),
                            format!("unknown sheet kind {k:?}: expected master or sub"),
                        );
                        continue;
                    }
                },
            };
            let id = part
                .source_id
                .as_deref()
                .map(SheetId::from_source)
                .unwrap_or_else(|| {
                    SheetId::from_source(&format!("{}/{}", part.area_code, part.code))
                });
            listing.areas[part.area].sheets.push(MapSheet {
                id,
                code: part.code,
                kind,
                boundary: part.boundary,
                extra: part.props.rest(),
            });
        }

        let locator = AreaLocator::new(&listing.areas);
        let mut building_ids: HashMap<String, usize> = HashMap::new();
        for f in buildings {
            let at = at_of(&f);
            if let Some(b) = self.building(
                f,
                &at,
                &mut area_codes,
                &mut listing,
                &locator,
                declared_areas,
            ) {
                if let Some(src) = &b.source_id {
                    building_ids.insert(src.clone(), listing.buildings.len());
                }
                building_ids.insert(b.id.to_string(), listing.buildings.len());
                listing.buildings.push(b);
            }
        }
        for f in dwellings {
            let at = at_of(&f);
            if let Some(d) = self.dwelling(
                f,
                &at,
                &mut area_codes,
                &mut listing,
                &locator,
                &building_ids,
                declared_areas,
            ) {
                listing.dwellings.push(d);
            }
        }
        listing
    }

    /// The common part of segments and map sheets: a code, the area they belong to, a boundary.
    fn area_part(
        &mut self,
        f: RawFeature,
        what: &str,
        codes: &mut HashMap<String, usize>,
        listing: &mut Listing,
        declared: bool,
    ) -> Option<AreaPart> {
        let at = at_of(&f);
        let mut props = Props::new(f.properties);
        let code = props.string(self, &at, &["code"]);
        let area_key = self.options.area_key.clone();
        let area = props.area_code(self, &at, &area_key);
        let boundary = self
            .polygonal(&at, f.geometry.as_ref(), what, true)
            .map(|(b, _)| b);
        let code = self.require(&at, code, "code")?;
        let area_code = self.require(&at, area, &area_key)?;
        let boundary = boundary?;
        let area = self.area_ref(&at, &area_code, codes, listing, declared)?;
        Some(AreaPart {
            at,
            props,
            code,
            area,
            area_code,
            boundary,
            source_id: f.id,
        })
    }

    fn require<T>(&mut self, at: &At, v: Option<T>, field: &str) -> Option<T> {
        if v.is_none() {
            self.err(
                at,
                ImportErrorCode::MissingProperty,
                Some(field),
                "required, but missing or empty",
            );
        }
        v
    }

    /// Resolves an area code to an index, creating an area known only by code when no areas were
    /// declared anywhere; with declared areas an unknown code is an error.
    fn area_ref(
        &mut self,
        at: &At,
        code: &str,
        codes: &mut HashMap<String, usize>,
        listing: &mut Listing,
        declared: bool,
    ) -> Option<usize> {
        if let Some(&i) = codes.get(code) {
            return Some(i);
        }
        if declared {
            self.err(
                at,
                ImportErrorCode::UnknownReference,
                Some(&self.options.area_key.clone()),
                format!("no area has code {code:?}"),
            );
            return None;
        }
        listing.areas.push(Area::named(code));
        codes.insert(code.to_string(), listing.areas.len() - 1);
        Some(listing.areas.len() - 1)
    }

    fn area(
        &mut self,
        f: RawFeature,
        codes: &mut HashMap<String, usize>,
        listing: &Listing,
    ) -> Option<Area> {
        let at = at_of(&f);
        let mut p = Props::new(f.properties);
        let uuid = p.uuid(self, &at);
        let code = p.string(
            self,
            &at,
            &["code", "area_code", self.options.area_key.as_str()],
        );
        let name = p.string(self, &at, &["name"]).unwrap_or_default();
        let stratum = p.string(self, &at, &["stratum"]);
        let mos = p.real(self, &at, &["mos", "measure_of_size"]);
        let mos_source = p.string(self, &at, &["mos_source"]);
        let prob = p.real(self, &at, &["prob", "first_stage_prob"]);
        if let Some(pr) = prob
            && !(pr > 0.0 && pr <= 1.0)
        {
            self.err(
                &at,
                ImportErrorCode::BadProperty,
                Some("prob"),
                format!("a probability must be in (0, 1], found {pr}"),
            );
        }
        if let Some(m) = mos
            && m < 0.0
        {
            self.err(
                &at,
                ImportErrorCode::BadProperty,
                Some("mos"),
                format!("a measure of size cannot be negative, found {m}"),
            );
        }
        let geometry = self.polygonal(&at, f.geometry.as_ref(), "an area", true);
        let code = self.require(&at, code, "code")?;
        let (boundary, unclosed) = geometry?;
        if codes.contains_key(&code) {
            self.err(
                &at,
                ImportErrorCode::DuplicateId,
                Some("code"),
                format!("area code {code:?} is used twice"),
            );
            return None;
        }
        codes.insert(code.clone(), listing.areas.len());
        let id = uuid.map(AreaId::from_uuid).unwrap_or_else(|| match &f.id {
            Some(src) => AreaId::from_source(src),
            None => AreaId::from_source(&code),
        });
        Some(Area {
            id,
            source_id: f.id,
            code,
            name,
            stratum,
            boundary,
            boundary_unclosed: unclosed,
            measure_of_size: mos,
            mos_source,
            first_stage_prob: prob,
            segments: Vec::new(),
            sheets: Vec::new(),
            extra: p.rest(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn building(
        &mut self,
        f: RawFeature,
        at: &At,
        codes: &mut HashMap<String, usize>,
        listing: &mut Listing,
        locator: &AreaLocator,
        declared: bool,
    ) -> Option<Building> {
        let mut p = Props::new(f.properties);
        let uuid = p.uuid(self, at);
        let area_key = self.options.area_key.clone();
        let area = p.area_code(self, at, &area_key);
        let kind_word = p.string(self, at, &["kind", "building_kind"]);
        let osm_word = p.peek_string(self, at, "building");
        let kind = match kind_word.as_deref().or(osm_word.as_deref()) {
            None => BuildingKind::Unknown,
            Some(w) => match BuildingKind::parse(w) {
                Some(k) => k,
                None if kind_word.is_none() => BuildingKind::NonResidential,
                None => {
                    self.err(at, ImportErrorCode::BadProperty, Some("kind"), format!("unknown building kind {w:?}: expected residential, mixed, non_residential, under_construction, demolished or unknown"));
                    BuildingKind::Unknown
                }
            },
        };
        let name = p.string(self, at, &["name"]);
        let number = p.string(self, at, &["number", "building_number"]);
        let floors = p.count(self, at, &["floors", "levels", "building:levels"], true);
        let entrances = p.count(self, at, &["entrances"], false);
        let per_floor = p.count(self, at, &["dwellings_per_floor"], false);
        let serpentine = p.count(self, at, &["serpentine"], false);
        let sheet = p.string(self, at, &["sheet"]);
        let segment = p.string(self, at, &["segment"]);
        let footprint = match f.geometry.as_ref() {
            Some(GeometryValue::Point { coordinates }) => self
                .point(at, coordinates, "geometry.coordinates")
                .map(Footprint::Point),
            Some(_) => self
                .polygonal(at, f.geometry.as_ref(), "a building", false)
                .and_then(|(mp, _)| mp)
                .map(Footprint::Polygon),
            None => {
                self.err(
                    at,
                    ImportErrorCode::WrongGeometryType,
                    Some("geometry"),
                    "a building needs a Polygon, MultiPolygon or Point geometry, found null",
                );
                None
            }
        }?;
        let area = match area {
            Some(code) => self.area_ref(at, &code, codes, listing, declared)?,
            None => match locator.locate(footprint.anchor(), &listing.areas) {
                Some(i) => i,
                None => {
                    self.err(at, ImportErrorCode::MissingProperty, Some(&area_key), "the building names no area and there are no area boundaries to place it by");
                    return None;
                }
            },
        };
        let id = uuid.map(BuildingId::from_uuid).unwrap_or_else(|| {
            f.id.as_deref()
                .map(BuildingId::from_source)
                .unwrap_or_default()
        });
        Some(Building {
            id,
            source_id: f.id,
            area: listing.areas[area].id,
            footprint,
            kind,
            name,
            number,
            floors: floors.map(clamp_u16),
            entrances: entrances.map(clamp_u16),
            dwellings_per_floor: per_floor.map(clamp_u16),
            serpentine,
            sheet,
            segment,
            extra: p.rest(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn dwelling(
        &mut self,
        f: RawFeature,
        at: &At,
        codes: &mut HashMap<String, usize>,
        listing: &mut Listing,
        locator: &AreaLocator,
        building_ids: &HashMap<String, usize>,
        declared: bool,
    ) -> Option<Dwelling> {
        let mut p = Props::new(f.properties);
        let uuid = p.uuid(self, at);
        let area_key = self.options.area_key.clone();
        let area = p.area_code(self, at, &area_key);
        let building_ref = p.string(self, at, &["building_id"]);
        let unit = p.string(self, at, &["unit", "entrance"]);
        let floor = p.string(self, at, &["floor"]);
        let room = p.string(self, at, &["room"]);
        let door_number = p.string(self, at, &["door_number"]);
        let door_plate = p.boolean(self, at, "door_plate");
        let occupancy = match p.string(self, at, &["occupancy"]) {
            None => Occupancy::Unknown,
            Some(w) => match Occupancy::parse(&w) {
                Some(o) => o,
                None => {
                    self.err(at, ImportErrorCode::BadProperty, Some("occupancy"), format!("unknown occupancy {w:?}: expected occupied, vacant, business, not_dwelling or unknown"));
                    Occupancy::Unknown
                }
            },
        };
        let households = p.count(self, at, &["households"], false);
        let notes = p.string(self, at, &["notes"]);
        let listing_number = p.count(self, at, &["listing_number"], false);
        let location = match f.geometry.as_ref() {
            None => None,
            Some(GeometryValue::Point { coordinates }) => {
                Some(self.point(at, coordinates, "geometry.coordinates")?)
            }
            Some(other) => {
                self.err(
                    at,
                    ImportErrorCode::WrongGeometryType,
                    Some("geometry"),
                    format!(
                        "a dwelling's geometry must be a Point or null, found {}",
                        other.type_name()
                    ),
                );
                return None;
            }
        };
        let building = match &building_ref {
            None => None,
            Some(r) => match building_ids.get(r) {
                Some(&i) => Some(i),
                None => {
                    self.err(
                        at,
                        ImportErrorCode::UnknownReference,
                        Some("building_id"),
                        format!("no building has id {r:?}"),
                    );
                    return None;
                }
            },
        };
        let area = match (area, building) {
            (Some(code), _) => self.area_ref(at, &code, codes, listing, declared)?,
            (None, Some(b)) => {
                let id = listing.buildings[b].area;
                listing.areas.iter().position(|a| a.id == id)?
            }
            (None, None) => match location.and_then(|pt| locator.locate(pt, &listing.areas)) {
                Some(i) => i,
                None => {
                    self.err(at, ImportErrorCode::MissingProperty, Some(&area_key), "the dwelling names neither an area nor a building, and cannot be placed by location");
                    return None;
                }
            },
        };
        if let (Some(b), Some(ai)) = (building, Some(area))
            && listing.buildings[b].area != listing.areas[ai].id
        {
            self.err(
                at,
                ImportErrorCode::BadProperty,
                Some(&area_key),
                format!(
                    "the dwelling names area {:?} but its building is in area {:?}",
                    listing.areas[ai].code,
                    listing
                        .areas
                        .iter()
                        .find(|a| a.id == listing.buildings[b].area)
                        .map(|a| a.code.as_str())
                        .unwrap_or("?")
                ),
            );
            return None;
        }
        let households =
            clamp_u16(households.unwrap_or(u32::from(occupancy == Occupancy::Occupied)));
        let id = uuid.map(DwellingId::from_uuid).unwrap_or_else(|| {
            f.id.as_deref()
                .map(DwellingId::from_source)
                .unwrap_or_default()
        });
        Some(Dwelling {
            id,
            source_id: f.id,
            building: building.map(|b| listing.buildings[b].id),
            area: listing.areas[area].id,
            address: Address { unit, floor, room },
            door_number,
            door_plate,
            location,
            occupancy,
            households,
            notes,
            listing_number,
            extra: p.rest(),
        })
    }

    fn coord(&mut self, at: &At, pos: &Position, field: &str) -> Option<Coord<f64>> {
        let s = pos.as_slice();
        if s.len() < 2 {
            self.err(
                at,
                ImportErrorCode::BadCoordinate,
                Some(field),
                format!(
                    "a position needs longitude and latitude, found {} number(s)",
                    s.len()
                ),
            );
            return None;
        }
        let (lon, lat) = (s[0], s[1]);
        if !lon.is_finite()
            || !lat.is_finite()
            || !(-180.0..=180.0).contains(&lon)
            || !(-90.0..=90.0).contains(&lat)
        {
            self.err(at, ImportErrorCode::BadCoordinate, Some(field), format!("[{lon}, {lat}] is not a longitude/latitude pair (longitude -180..180, latitude -90..90; projected coordinates are not accepted)"));
            return None;
        }
        let (x, y) = self.options.crs.to_wgs84(lon, lat);
        Some(Coord { x, y })
    }

    fn point(&mut self, at: &At, pos: &Position, field: &str) -> Option<Point<f64>> {
        self.coord(at, pos, field).map(Point::from)
    }

    fn ring(
        &mut self,
        at: &At,
        ring: &[Position],
        field: &str,
        unclosed: &mut bool,
    ) -> Option<LineString<f64>> {
        if ring.is_empty() {
            self.err(
                at,
                ImportErrorCode::InvalidGeometry,
                Some(field),
                "a ring has no positions",
            );
            return None;
        }
        let mut coords = Vec::with_capacity(ring.len() + 1);
        let mut ok = true;
        for (i, pos) in ring.iter().enumerate() {
            match self.coord(at, pos, &format!("{field}[{i}]")) {
                Some(c) => coords.push(c),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        if coords.first() != coords.last() || coords.len() < 2 {
            *unclosed = true;
        }
        Some(LineString::new(coords))
    }

    fn polygon(
        &mut self,
        at: &At,
        rings: &[Vec<Position>],
        field: &str,
        unclosed: &mut bool,
    ) -> Option<Polygon<f64>> {
        if rings.is_empty() {
            self.err(
                at,
                ImportErrorCode::InvalidGeometry,
                Some(field),
                "a polygon has no rings",
            );
            return None;
        }
        let mut out = Vec::with_capacity(rings.len());
        for (i, r) in rings.iter().enumerate() {
            out.push(self.ring(at, r, &format!("{field}[{i}]"), unclosed));
        }
        let mut out: Vec<LineString<f64>> = out.into_iter().collect::<Option<_>>()?;
        let exterior = out.remove(0);
        Some(Polygon::new(exterior, out))
    }

    /// A Polygon or MultiPolygon (or, when `nullable`, null), with whether any ring was unclosed.
    fn polygonal(
        &mut self,
        at: &At,
        geometry: Option<&GeometryValue>,
        what: &str,
        nullable: bool,
    ) -> Option<(Option<MultiPolygon<f64>>, bool)> {
        let mut unclosed = false;
        match geometry {
            None if nullable => Some((None, false)),
            None => {
                self.err(
                    at,
                    ImportErrorCode::WrongGeometryType,
                    Some("geometry"),
                    format!("{what} needs a Polygon or MultiPolygon geometry, found null"),
                );
                None
            }
            Some(GeometryValue::Polygon { coordinates }) => {
                let p = self.polygon(at, coordinates, "geometry.coordinates", &mut unclosed)?;
                Some((Some(MultiPolygon(vec![p])), unclosed))
            }
            Some(GeometryValue::MultiPolygon { coordinates }) => {
                if coordinates.is_empty() {
                    self.err(
                        at,
                        ImportErrorCode::InvalidGeometry,
                        Some("geometry.coordinates"),
                        "a MultiPolygon has no polygons",
                    );
                    return None;
                }
                let mut polys = Vec::with_capacity(coordinates.len());
                for (i, p) in coordinates.iter().enumerate() {
                    polys.push(self.polygon(
                        at,
                        p,
                        &format!("geometry.coordinates[{i}]"),
                        &mut unclosed,
                    ));
                }
                let polys: Vec<_> = polys.into_iter().collect::<Option<_>>()?;
                Some((Some(MultiPolygon(polys)), unclosed))
            }
            Some(other) => {
                self.err(
                    at,
                    ImportErrorCode::WrongGeometryType,
                    Some("geometry"),
                    format!(
                        "{what} needs a Polygon or MultiPolygon geometry, found {}",
                        other.type_name()
                    ),
                );
                None
            }
        }
    }
}

fn at_of(f: &RawFeature) -> At {
    At {
        input: f.input,
        feature: f.index,
        id: f.id.clone(),
    }
}

fn clamp_u16(v: u32) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn infer_layer(
    input: InputKind,
    geometry: Option<&GeometryValue>,
    props: &Map<String, Value>,
) -> Option<Layer> {
    if input == InputKind::Areas {
        return Some(Layer::Area);
    }
    let has = |k: &str| {
        props
            .get(k)
            .is_some_and(|v| !v.is_null() && v != &Value::String(String::new()))
    };
    let dwellingish = [
        "building_id",
        "unit",
        "floor",
        "room",
        "door_number",
        "occupancy",
        "households",
        "listing_number",
    ]
    .iter()
    .any(|k| has(k));
    match geometry {
        Some(GeometryValue::Polygon { .. } | GeometryValue::MultiPolygon { .. }) => {
            Some(Layer::Building)
        }
        Some(GeometryValue::Point { .. }) | None if dwellingish => Some(Layer::Dwelling),
        Some(GeometryValue::Point { .. })
            if has("building") || has("floors") || has("levels") || has("kind") =>
        {
            Some(Layer::Building)
        }
        _ => None,
    }
}

/// A segment or map sheet as read, before its own properties.
struct AreaPart {
    at: At,
    props: Props,
    code: String,
    /// Index of its area.
    area: usize,
    area_code: String,
    boundary: Option<MultiPolygon<f64>>,
    source_id: Option<String>,
}

/// Reads properties by name (with aliases), leniently typed, remembering what was interpreted.
struct Props {
    map: Map<String, Value>,
}

impl Props {
    fn new(map: Map<String, Value>) -> Self {
        Self { map }
    }

    /// The first of `keys` that is present and not null or an empty string. The first key is the
    /// canonical name and is consumed; aliases stay in `extra` so that the user gets them back.
    fn take<'k>(&mut self, keys: &[&'k str]) -> Option<(&'k str, Value)> {
        for (i, &k) in keys.iter().enumerate() {
            let present = match self.map.get(k) {
                None | Some(Value::Null) => false,
                Some(Value::String(s)) => !s.trim().is_empty(),
                Some(_) => true,
            };
            if present {
                let v = if i == 0 {
                    self.map.remove(k)
                } else {
                    self.map.get(k).cloned()
                };
                return v.map(|v| (k, v));
            }
            if i == 0 {
                self.map.remove(k);
            }
        }
        None
    }

    fn uuid(&mut self, r: &mut Reader, at: &At) -> Option<uuid::Uuid> {
        let (k, v) = self.take(&["uuid"])?;
        match v.as_str().map(|s| uuid::Uuid::parse_str(s.trim())) {
            Some(Ok(u)) => Some(u),
            _ => {
                r.err(
                    at,
                    ImportErrorCode::BadProperty,
                    Some(k),
                    format!("expected a UUID, found {v}"),
                );
                None
            }
        }
    }

    fn string(&mut self, r: &mut Reader, at: &At, keys: &[&str]) -> Option<String> {
        let (k, v) = self.take(keys)?;
        match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            other => {
                r.err(
                    at,
                    ImportErrorCode::BadProperty,
                    Some(k),
                    format!("expected text, found {}", json_kind(&other)),
                );
                None
            }
        }
    }

    /// The area code: the canonical `area` property (consumed), or a property the caller named
    /// (kept, so that a user's own `community` column comes back out).
    fn area_code(&mut self, r: &mut Reader, at: &At, key: &str) -> Option<String> {
        if key == "area" {
            self.string(r, at, &["area", "area_code"])
        } else {
            self.peek_string(r, at, key)
                .or_else(|| self.string(r, at, &["area", "area_code"]))
        }
    }

    /// Reads a string without consuming it.
    fn peek_string(&mut self, r: &mut Reader, at: &At, key: &str) -> Option<String> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(other) => {
                r.err(
                    at,
                    ImportErrorCode::BadProperty,
                    Some(key),
                    format!("expected text, found {}", json_kind(other)),
                );
                None
            }
        }
    }

    fn real(&mut self, r: &mut Reader, at: &At, keys: &[&str]) -> Option<f64> {
        let (k, v) = self.take(keys)?;
        let n = match &v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
            _ => None,
        };
        if n.is_none() {
            r.err(
                at,
                ImportErrorCode::BadProperty,
                Some(k),
                format!("expected a number, found {v}"),
            );
        }
        n
    }

    /// A non-negative whole number. With `round`, fractional values are rounded (OpenStreetMap's
    /// estimated `levels`); otherwise they are an error.
    fn count(&mut self, r: &mut Reader, at: &At, keys: &[&str], round: bool) -> Option<u32> {
        let (k, v) = self.take(keys)?;
        let n = match &v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            Some(x)
                if x.is_finite()
                    && x >= 0.0
                    && x <= f64::from(u32::MAX)
                    && (round || x.fract() == 0.0) =>
            {
                Some(x.round() as u32)
            }
            _ => {
                r.err(
                    at,
                    ImportErrorCode::BadProperty,
                    Some(k),
                    format!("expected a whole number 0 or more, found {v}"),
                );
                None
            }
        }
    }

    fn boolean(&mut self, r: &mut Reader, at: &At, key: &str) -> Option<bool> {
        let (k, v) = self.take(&[key])?;
        let b = match &v {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_f64() {
                Some(1.0) => Some(true),
                Some(0.0) => Some(false),
                _ => None,
            },
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "1" | "是" | "有" => Some(true),
                "false" | "no" | "n" | "0" | "否" | "无" | "没有" => Some(false),
                _ => None,
            },
            _ => None,
        };
        if b.is_none() {
            r.err(
                at,
                ImportErrorCode::BadProperty,
                Some(k),
                format!("expected true or false, found {v}"),
            );
        }
        b
    }

    fn rest(self) -> Extra {
        self.map
    }
}

/// Finds the area a point lies in (or, failing that, the nearest one with a boundary).
struct AreaLocator {
    tree: rstar::RTree<
        rstar::primitives::GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, usize>,
    >,
}

impl AreaLocator {
    fn new(areas: &[Area]) -> Self {
        let items = areas
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let r = a.boundary.as_ref()?.bounding_rect()?;
                Some(rstar::primitives::GeomWithData::new(
                    rstar::primitives::Rectangle::from_corners(
                        [r.min().x, r.min().y],
                        [r.max().x, r.max().y],
                    ),
                    i,
                ))
            })
            .collect();
        Self {
            tree: rstar::RTree::bulk_load(items),
        }
    }

    fn locate(&self, p: Point<f64>, areas: &[Area]) -> Option<usize> {
        if areas.len() == 1 {
            return Some(0);
        }
        let q = [p.x(), p.y()];
        for cand in self.tree.locate_all_at_point(&q) {
            if areas[cand.data]
                .boundary
                .as_ref()
                .is_some_and(|b| b.contains(&p))
            {
                return Some(cand.data);
            }
        }
        // Outside every boundary: the nearest area, so that the self-check can say how far out.
        let mut best: Option<(f64, usize)> = None;
        for cand in self.tree.nearest_neighbor_iter(&q).take(8) {
            if let Some(b) = &areas[cand.data].boundary {
                let d = Euclidean.distance(&p, b);
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, cand.data));
                }
            }
        }
        best.map(|(_, i)| i)
    }
}

/// What to write.
#[derive(Debug, Clone, Copy)]
pub struct ExportOptions {
    pub areas: bool,
    pub buildings: bool,
    pub dwellings: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            areas: true,
            buildings: true,
            dwellings: true,
        }
    }
}

/// Writes a listing as a GeoJSON FeatureCollection, one feature per line.
pub fn write_listing(listing: &Listing, options: &ExportOptions) -> String {
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
    let mut first = true;
    let mut push = |feature: Value| {
        if !first {
            out.push_str(",\n");
        }
        first = false;
        out.push_str(&feature.to_string());
    };
    let codes: HashMap<AreaId, &str> = listing
        .areas
        .iter()
        .map(|a| (a.id, a.code.as_str()))
        .collect();
    let building_refs: HashMap<BuildingId, String> = listing
        .buildings
        .iter()
        .map(|b| {
            (
                b.id,
                b.source_id.clone().unwrap_or_else(|| b.id.to_string()),
            )
        })
        .collect();
    if options.areas {
        for a in &listing.areas {
            let mut p = Map::new();
            p.insert("layer".into(), json!("area"));
            p.insert("uuid".into(), json!(a.id));
            p.insert("code".into(), json!(a.code));
            put(&mut p, "name", (!a.name.is_empty()).then_some(&a.name));
            put(&mut p, "stratum", a.stratum.as_ref());
            put(&mut p, "mos", a.measure_of_size);
            put(&mut p, "mos_source", a.mos_source.as_ref());
            put(&mut p, "prob", a.first_stage_prob);
            extend(&mut p, &a.extra);
            push(feature(
                a.source_id.as_deref(),
                p,
                a.boundary.as_ref().map(GeometryValue::from),
            ));
            for s in &a.segments {
                let mut p = Map::new();
                p.insert("layer".into(), json!("segment"));
                p.insert("uuid".into(), json!(s.id));
                p.insert("area".into(), json!(a.code));
                p.insert("code".into(), json!(s.code));
                put(&mut p, "mos", s.measure_of_size);
                extend(&mut p, &s.extra);
                push(feature(
                    None,
                    p,
                    s.boundary.as_ref().map(GeometryValue::from),
                ));
            }
            for s in &a.sheets {
                let mut p = Map::new();
                p.insert("layer".into(), json!("sheet"));
                p.insert("uuid".into(), json!(s.id));
                p.insert("area".into(), json!(a.code));
                p.insert("code".into(), json!(s.code));
                p.insert("kind".into(), json!(s.kind));
                extend(&mut p, &s.extra);
                push(feature(
                    None,
                    p,
                    s.boundary.as_ref().map(GeometryValue::from),
                ));
            }
        }
    }
    if options.buildings {
        for b in &listing.buildings {
            let mut p = Map::new();
            p.insert("layer".into(), json!("building"));
            p.insert("uuid".into(), json!(b.id));
            p.insert(
                "area".into(),
                json!(codes.get(&b.area).copied().unwrap_or_default()),
            );
            p.insert("kind".into(), json!(b.kind.as_str()));
            put(&mut p, "name", b.name.as_ref());
            put(&mut p, "number", b.number.as_ref());
            put(&mut p, "floors", b.floors);
            put(&mut p, "entrances", b.entrances);
            put(&mut p, "dwellings_per_floor", b.dwellings_per_floor);
            put(&mut p, "serpentine", b.serpentine);
            put(&mut p, "sheet", b.sheet.as_ref());
            put(&mut p, "segment", b.segment.as_ref());
            extend(&mut p, &b.extra);
            let g = match &b.footprint {
                Footprint::Point(pt) => GeometryValue::from(pt),
                Footprint::Polygon(mp) if mp.0.len() == 1 => GeometryValue::from(&mp.0[0]),
                Footprint::Polygon(mp) => GeometryValue::from(mp),
            };
            push(feature(b.source_id.as_deref(), p, Some(g)));
        }
    }
    if options.dwellings {
        for d in &listing.dwellings {
            let mut p = Map::new();
            p.insert("layer".into(), json!("dwelling"));
            p.insert("uuid".into(), json!(d.id));
            p.insert(
                "area".into(),
                json!(codes.get(&d.area).copied().unwrap_or_default()),
            );
            put(
                &mut p,
                "building_id",
                d.building.and_then(|b| building_refs.get(&b)),
            );
            put(&mut p, "unit", d.address.unit.as_ref());
            put(&mut p, "floor", d.address.floor.as_ref());
            put(&mut p, "room", d.address.room.as_ref());
            put(&mut p, "door_number", d.door_number.as_ref());
            put(&mut p, "door_plate", d.door_plate);
            p.insert("occupancy".into(), json!(d.occupancy.as_str()));
            p.insert("households".into(), json!(d.households));
            put(&mut p, "notes", d.notes.as_ref());
            put(&mut p, "listing_number", d.listing_number);
            extend(&mut p, &d.extra);
            push(feature(
                d.source_id.as_deref(),
                p,
                d.location.as_ref().map(GeometryValue::from),
            ));
        }
    }
    out.push_str("\n]}\n");
    out
}

fn put<T: Serialize>(p: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        p.insert(
            key.to_string(),
            serde_json::to_value(v).unwrap_or(Value::Null),
        );
    }
}

fn extend(p: &mut Map<String, Value>, extra: &Extra) {
    for (k, v) in extra {
        p.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

fn feature(
    source_id: Option<&str>,
    properties: Map<String, Value>,
    geometry: Option<GeometryValue>,
) -> Value {
    let mut f = Map::new();
    f.insert("type".into(), json!("Feature"));
    if let Some(id) = source_id {
        f.insert("id".into(), id_json(id));
    }
    f.insert("properties".into(), Value::Object(properties));
    f.insert(
        "geometry".into(),
        geometry
            .map(|g| serde_json::to_value(geojson::Geometry::new(g)).unwrap_or(Value::Null))
            .unwrap_or(Value::Null),
    );
    Value::Object(f)
}

/// A feature id as JSON: whole numbers (OpenStreetMap way ids, row numbers) as JSON numbers, as
/// such inputs write them; everything else as a string.
pub fn id_json(id: &str) -> Value {
    let numeric = !id.is_empty()
        && (id == "0" || !id.starts_with('0'))
        && id.len() < 16
        && id.bytes().all(|b| b.is_ascii_digit());
    match id.parse::<u64>() {
        Ok(n) if numeric => json!(n),
        _ => json!(id),
    }
}
